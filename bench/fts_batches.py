#!/usr/bin/env python3
"""How much FTS5 indexing costs per row against the rows per transaction, with SQLite alone.

    python3 bench/fts_batches.py [ROWS]     # default 60000

Indexes the benchmark payload's search words (what hookd's indexer copies for each event: the
distinct string and number values of tests/fixtures/github/push.json, URLs left out) into an FTS5
table like search.db's, in transactions of 30, 120, 500 and 2000 rows, each with the progress
row update the indexer makes, and prints rows/s for each. The file is on the project's disk.
"""
import json
import os
import sys
import sqlite3
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def search_words(payload):
    seen, out = set(), []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            if v and not v.startswith(("http://", "https://")) and v not in seen:
                seen.add(v)
                out.append(v)
        elif not isinstance(v, bool) and v is not None:
            out.append(str(v))

    walk(payload)
    return "\n".join(out)[:16384]


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    with open(os.path.join(ROOT, "tests/fixtures/github/push.json")) as f:
        text = search_words(json.load(f))
    print(f"SQLite {sqlite3.sqlite_version}, {rows} rows of {len(text)} characters of words")
    os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
    for batch in (30, 120, 500, 2000):
        with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "target")) as d:
            c = sqlite3.connect(os.path.join(d, "search.db"), isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("CREATE VIRTUAL TABLE fts USING fts5(type, summary, search_text)")
            c.execute("CREATE TABLE progress (id INTEGER PRIMARY KEY, indexed INTEGER NOT NULL)")
            c.execute("INSERT INTO progress VALUES (1, 0)")
            start = time.perf_counter()
            for first in range(0, rows, batch):
                c.execute("BEGIN IMMEDIATE")
                c.executemany(
                    "INSERT INTO fts (rowid, type, summary, search_text) VALUES (?, ?, ?, ?)",
                    [
                        (i + 1, "push", "pushed 3 commits to main", f"{text} delivery-{i}")
                        for i in range(first, min(first + batch, rows))
                    ],
                )
                c.execute("UPDATE progress SET indexed = ?", (min(first + batch, rows),))
                c.execute("COMMIT")
            elapsed = time.perf_counter() - start
            c.close()
        print(f"{batch:5d} rows per transaction: {rows / elapsed:9,.0f} rows/s")


if __name__ == "__main__":
    main()
