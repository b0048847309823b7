"""Read tools at scale: fills a fresh hookd with N events through HTTP (a realistic mix), then
times each read tool through the official Python MCP SDK and prints p50/p99 per tool.

Usage (bench/queries.sh runs it with the project's venv and a release build):
    python bench/queries.py HOOKD_BINARY N [REPEATS]

The mix: 10 sources, 20 types, bodies of about 1 KB; 2 % are signed GitHub pushes over 50
repositories (so repository activity and commits have rows). Unsigned sources are accepted as
on loopback. Rate limits are off for the fill.
"""

import asyncio
import hashlib
import hmac
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

import http.client
from concurrent.futures import ThreadPoolExecutor

from mcp import Client

HOOKD, N = sys.argv[1], int(sys.argv[2])
REPEATS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
SECRET = "bench-secret"
SOURCES = [f"svc{i}" for i in range(9)]
TYPES = [f"thing.{verb}" for verb in ("created", "updated", "deleted", "paid", "failed",
                                      "opened", "closed", "merged", "queued", "started",
                                      "finished", "retried", "expired", "renewed", "moved",
                                      "tagged", "archived", "restored", "flagged", "muted")]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
CONCURRENCY = 32


def body(i, rng):
    if rng.random() < 0.02:
        repo = f"octo/repo{rng.randrange(50)}"
        sha = hashlib.sha1(str(i).encode()).hexdigest()
        return "github", "push", {
            "ref": "refs/heads/main", "after": sha,
            "repository": {"full_name": repo}, "sender": {"login": "octocat"},
            "pusher": {"name": "octocat"},
            "commits": [{"id": sha, "message": f"change {i} " + " ".join(rng.sample(WORDS, 6)),
                         "author": {"name": "octocat"}, "timestamp": "2026-12-01T00:00:00Z"}],
        }
    source = rng.choice(SOURCES)
    kind = rng.choice(TYPES)
    # "common" is in 93 % of events (the worst case for search); two random words more.
    words = rng.sample(WORDS, 12) + (["common"] if rng.random() < 0.93 else [])
    return source, kind, {"type": kind, "id": f"evt_{i}", "n": i,
                          "note": " ".join(words), "filler": "x" * 700}


def fill(webhook):
    """POSTs the N events over CONCURRENCY keep-alive connections (one per thread)."""
    rng = random.Random(7)
    bodies = [body(i, rng) for i in range(N)]
    host, port = webhook.rsplit(":", 1)
    started = time.monotonic()

    def send(part):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for i in range(part, N, CONCURRENCY):
            source, kind, payload = bodies[i]
            raw = json.dumps(payload).encode()
            headers = {"content-type": "application/json"}
            if source == "github":
                sig = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
                headers.update({"x-github-event": kind, "x-github-delivery": f"d-{i}",
                                "x-hub-signature-256": f"sha256={sig}"})
            conn.request("POST", f"/webhook/{source}", body=raw, headers=headers)
            r = conn.getresponse()
            answer = r.read()
            if r.status != 200:
                raise SystemExit(f"fill: {r.status} {answer[:200]!r}")
        conn.close()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(send, range(CONCURRENCY)))
    took = time.monotonic() - started
    print(f"filled {N} events in {took:.1f} s ({N / took:.0f}/s)", flush=True)


META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench-raw", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}}


class Raw:
    """A plain keep-alive HTTP client speaking MCP by hand, with TCP_NODELAY on its side: what
    hookd itself takes per call, without an SDK's own work. `legacy` opens a 2025-11-25 session
    (initialize) instead of sending sessionless 2026-07-28 requests."""

    def __init__(self, mcp_url, legacy=False):
        hostport = mcp_url.split("/")[2]
        host, port = hostport.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.headers = {"content-type": "application/json",
                        "accept": "application/json, text/event-stream"}
        self.legacy = legacy
        self.next_id = 0
        if legacy:
            self.headers["mcp-protocol-version"] = "2025-11-25"
            init = {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "bench-raw", "version": "0"}}
            self.headers["mcp-session-id"] = self.post("initialize", init)[1]
            self.notify("notifications/initialized")
        else:
            self.headers["mcp-protocol-version"] = "2026-07-28"

    def post(self, method, params, extra=None):
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                           "params": params})
        self.conn.request("POST", "/mcp", body=body, headers={**self.headers, **(extra or {})})
        r = self.conn.getresponse()
        text = r.read().decode()
        if r.status != 200:
            raise SystemExit(f"raw {method}: {r.status} {text[:200]}")
        data = [line[5:] for line in text.splitlines() if line.startswith("data:")]
        message = json.loads(data[-1] if data else text)
        return message, r.getheader("mcp-session-id")

    def notify(self, method):
        self.conn.request("POST", "/mcp", body=json.dumps({"jsonrpc": "2.0", "method": method}),
                          headers=self.headers)
        self.conn.getresponse().read()

    def call(self, tool, args):
        """Calls `tool`; returns the milliseconds it took."""
        t = time.perf_counter()
        self.call_result(tool, args)
        return (time.perf_counter() - t) * 1000

    def call_result(self, tool, args):
        params = {"name": tool, "arguments": args}
        extra = None
        if not self.legacy:
            params["_meta"] = META
            extra = {"mcp-method": "tools/call", "mcp-name": tool}
        message, _ = self.post("tools/call", params, extra)
        if "error" in message or message["result"].get("isError"):
            raise SystemExit(f"raw {tool} {args}: {str(message)[:300]}")
        return message["result"]["structuredContent"]


async def timed(client, tool, args):
    t = time.perf_counter()
    r = await client.call_tool(tool, args)
    ms = (time.perf_counter() - t) * 1000
    if r.is_error:
        raise SystemExit(f"{tool} {args}: {r.content[0].text}")
    return ms


def p50_p99(samples):
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"{statistics.median(samples):.1f} | {p99:.1f}"


def line(name, *columns):
    print(f"| `{name}` | " + " | ".join(p50_p99(c) for c in columns) + " |", flush=True)


async def measure(mcp_url):
    async with Client(mcp_url) as client:
        # A consumer that acknowledged only the first event: its backlog is the whole store.
        await client.call_tool("ack_events", {"consumer": "behind", "up_to_id": 1})
        recent = await client.call_tool("get_recent_events", {"limit": 1})
        newest = recent.structured_content["events"][-1]
        end = datetime.fromisoformat(newest["received_at"].replace("Z", "+00:00"))
        since = (end - timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
        cases = [
            ("get_recent_events(limit=10)", "get_recent_events", {"limit": 10}),
            ("get_recent_events(limit=100, source=svc3)", "get_recent_events",
             {"limit": 100, "source": "svc3"}),
            ("get_recent_events(where= matching nothing)", "get_recent_events",
             {"limit": 10, "where": {"payload.n": -1}}),
            ("get_events_since(60 s before the end, limit=100)", "get_events_since",
             {"timestamp": since, "limit": 100}),
            ("search_events(a word in 93 % of events)", "search_events", {"query": "common"}),
            ("search_events(two words)", "search_events", {"query": "alpha zulu"}),
            ("search_events(common word, source=github)", "search_events",
             {"query": "common", "source": "github"}),
            ("search_events(since 60 s before the end)", "search_events",
             {"query": "alpha", "since": since}),
            ("next_events(max=100)", "next_events", {"consumer": "bench", "max": 100}),
            ("next_events(where= matching nothing)", "next_events",
             {"consumer": "bench", "where": {"payload.n": -1}}),
            ("get_event_by_id", "get_event_by_id", {"event_id": newest["id"]}),
            ("get_event_sources", "get_event_sources", {}),
            ("get_repo_activity(hours=24)", "get_repo_activity", {"repo": "octo/repo7"}),
            ("list_consumers", "list_consumers", {}),
        ]
        print(f"\n{N} events, {REPEATS} calls each (ms): through the Python SDK, and through a")
        print("plain HTTP client (hookd's own time, without the SDK's work)\n")
        print("| query | SDK p50 | SDK p99 | plain p50 | plain p99 |\n|---|---:|---:|---:|---:|")
        raw = Raw(mcp_url)
        for name, tool, args in cases:
            await timed(client, tool, args)  # warm
            sdk = [await timed(client, tool, args) for _ in range(REPEATS)]
            line(name, sdk, [raw.call(tool, args) for _ in range(REPEATS)])

    async def one_client(results):
        async with Client(mcp_url) as c:
            await timed(c, "get_recent_events", {"limit": 10})
            for _ in range(REPEATS):
                results.append(await timed(c, "get_recent_events", {"limit": 10}))

    results = []
    await asyncio.gather(*(one_client(results) for _ in range(8)))

    def one_raw(_):
        client = Raw(mcp_url)
        client.call("get_recent_events", {"limit": 10})
        return [client.call("get_recent_events", {"limit": 10}) for _ in range(REPEATS)]

    with ThreadPoolExecutor(8) as pool:
        plain = [ms for part in pool.map(one_raw, range(8)) for ms in part]
    line("get_recent_events(limit=10), 8 clients at once", results, plain)
    stalls(mcp_url)


def stalls(mcp_url):
    """Small answers in both eras through a plain client: any delayed-ACK stall (about 40 ms)
    shows as a p99 or a maximum far above the p50."""
    print("\nsmall answers through a plain HTTP client, 200 calls each (ms):\n")
    print("| era | p50 | p99 | max | calls over 30 ms |\n|---|---:|---:|---:|---:|")
    for era, legacy in (("2026-07-28 (sessionless)", False), ("2025-11-25 (session)", True)):
        client = Raw(mcp_url, legacy)
        for tool, args in (("get_event_by_id", {"event_id": 1}),
                           ("get_recent_events", {"limit": 10})):
            samples = [client.call(tool, args) for _ in range(200)]
            slow = sum(1 for ms in samples if ms > 30)
            print(f"| {era}, `{tool}` | {p50_p99(samples)} | {max(samples):.1f} | {slow} |",
                  flush=True)


def main():
    # BENCH_DATA=dir keeps the filled store there and reuses it (the fill is skipped when the
    # store already holds events): for measuring query changes at a million events without
    # filling again. BENCH_DATABASE_URL=postgres://… measures PostgreSQL instead (the database is
    # likewise filled only when empty).
    kept = os.environ.get("BENCH_DATA")
    if kept:
        os.makedirs(kept, exist_ok=True)
        run(kept)
        return
    with tempfile.TemporaryDirectory(dir=os.path.join(os.getcwd(), "target")) as d:
        run(d)


def run(d):
    """Starts hookd on data dir `d` (or the PostgreSQL database), fills it when empty, then
    measures."""
    config = os.path.join(d, "hookd.toml")
    with open(config, "w") as f:
        f.write(f'[sources.github]\nprovider = "github"\nsecret = "{SECRET}"\n')
    store = ["--data-dir", os.path.join(d, "data")]
    if os.environ.get("BENCH_DATABASE_URL"):
        store += ["--database-url", os.environ["BENCH_DATABASE_URL"]]
    proc = subprocess.Popen(
        [HOOKD, "serve", *store, "--config", config,
         "--webhook-addr", "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0",
         "--rate-limit", "off", "--max-events-per-source", str(max(N, 100_000))],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        webhook = mcp = None
        for out in proc.stderr:
            if "hookd listening" in out:
                webhook = re.search(r"webhook_addr=(\S+)", out).group(1)
                mcp = re.search(r"mcp_addr=(\S+)", out).group(1)
                break
        # One log line per webhook: keep reading so hookd never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        sources = Raw(f"http://{mcp}/mcp").call_result("get_event_sources", {})["sources"]
        if not sources:
            fill(webhook)
        else:
            print(f"reusing a store of {sum(s['count'] for s in sources)} events", flush=True)
        asyncio.run(measure(f"http://{mcp}/mcp"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


main()
