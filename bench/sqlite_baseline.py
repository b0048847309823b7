"""The machine's SQLite baseline for hookd's ingest figures: one thread inserting the benchmark
payload into a table shaped like hookd's (same indexes), WAL + synchronous=FULL, committing every
BATCH rows. No HTTP, no hookd: what the disk and SQLite allow.

Usage: python3 bench/sqlite_baseline.py [BATCH ...]     (default: 1 100)
The payload is tests/fixtures/github/push.json, or the file named by HOOKD_BENCH_BODY
(bench/run.sh passes its own, so both figures are for the same payload).
"""
import os
import sqlite3
import sys
import tempfile
import time

BODY = open(os.environ.get("HOOKD_BENCH_BODY") or os.path.join(
    os.path.dirname(__file__), "..", "tests/fixtures/github/push.json")).read()
ROWS = 20000

for batch in [int(b) for b in sys.argv[1:]] or [1, 100]:
    with tempfile.TemporaryDirectory(dir=os.path.join(os.path.dirname(__file__), "..", "target")) as d:
        c = sqlite3.connect(os.path.join(d, "baseline.db"), isolation_level=None)
        c.execute("pragma journal_mode=wal")
        c.execute("pragma synchronous=full")
        c.executescript("""
            create table events(id integer primary key autoincrement, source text, type text,
                delivery_id text, received_at text, headers text, payload text);
            create unique index e_delivery on events(source, delivery_id);
            create index e_source on events(source, id);
            create index e_type on events(type, id);
            create index e_received on events(received_at);
        """)
        rows = ROWS if batch > 1 else ROWS // 4
        start = time.time()
        for b in range(rows // batch):
            c.execute("begin")
            for i in range(batch):
                n = b * batch + i
                c.execute("insert into events(source, type, delivery_id, received_at, headers, payload)"
                          " values (?,?,?,?,?,?)",
                          ("github", "push", f"d-{n}", f"2026-11-25T00:00:00.{n:06d}Z", '{"a":"b"}', BODY))
            c.execute("commit")
        rate = rows / (time.time() - start)
        print(f"sqlite baseline: {len(BODY)}-byte rows, {batch} per commit: {rate:,.0f} rows/s")
        if os.environ.get("HOOKD_BENCH_RATE_FILE"):
            with open(os.environ["HOOKD_BENCH_RATE_FILE"], "w") as f:
                f.write(f"{rate:.0f}\n")
