"""What a waiting request costs hookd, and whether a client that hangs up frees it at once.

Starts HOOKD_BINARY on a fresh data dir, opens WAITERS plain HTTP connections that each send one
sessionless (2026-07-28) request that waits (`events/poll` with a cursor and `timeoutMs` 300000,
or `tools/call wait_for_event` with `timeout_seconds` 300), waits until hookd reports them all
waiting (`hookd_waiters` on /metrics), and prints hookd's memory (RSS) and open descriptors
before, while they wait (and per waiter), and after the clients close their connections (how
long until hookd held no waiter any more).

Usage: python bench/waiters.py HOOKD_BINARY [WAITERS] [poll|tool] [extra hookd args...]
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

binary = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
kind = sys.argv[3] if len(sys.argv) > 3 else "poll"
extra = sys.argv[4:]

data = tempfile.mkdtemp(prefix="hookd-waiters-")
hookd = subprocess.Popen([binary, "serve", "--data-dir", data, "--webhook-addr", "127.0.0.1:0",
                          "--mcp-addr", "127.0.0.1:0", *extra],
                         stderr=subprocess.PIPE, text=True)
for line in hookd.stderr:
    found = re.search(r"mcp_addr=(\S+)", line)
    if found:
        host, port = found.group(1).rsplit(":", 1)
        port = int(port)
        break
# Its log is read on (and counted), so that a full pipe never stalls it.
log_lines = []
threading.Thread(target=lambda: log_lines.extend(hookd.stderr), daemon=True).start()


def rss_mib():
    with open(f"/proc/{hookd.pid}/status") as f:
        kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return kb / 1024


def fds():
    return len(os.listdir(f"/proc/{hookd.pid}/fd"))


def waiting():
    page = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5).read().decode()
    found = re.search(r"^hookd_waiters (\d+)", page, re.M)
    return int(found.group(1)) if found else 0


meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}}
if kind == "poll":
    method, name = "events/poll", None
    params = {"name": "any", "cursor": "0", "timeoutMs": 300000, "_meta": meta}
else:
    method, name = "tools/call", "wait_for_event"
    params = {"name": name, "arguments": {"timeout_seconds": 300}, "_meta": meta}
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
head = (f"POST /mcp HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        "accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\n"
        f"mcp-method: {method}\r\n" + (f"mcp-name: {name}\r\n" if name else "")
        + f"content-length: {len(body)}\r\n\r\n").encode()


async def main():
    time.sleep(0.5)
    before = (rss_mib(), fds(), waiting())
    writers = []
    for _ in range(count):
        _, w = await asyncio.open_connection(host, port)
        w.write(head + body)
        writers.append(w)
    await asyncio.gather(*(w.drain() for w in writers))
    start = time.monotonic()
    while waiting() < count + before[2]:
        if time.monotonic() - start > 60:
            sys.exit(f"only {waiting()} of {count} waiting after 60 s")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    during = (rss_mib(), fds())
    for w in writers:
        w.close()
    closed = time.monotonic()
    while waiting() > before[2]:
        if time.monotonic() - closed > 60:
            break
        await asyncio.sleep(0.05)
    freed = time.monotonic() - closed
    await asyncio.sleep(1)
    after = (rss_mib(), fds(), waiting())
    print(f"{count} {kind} waiters: RSS {before[0]:.1f} -> {during[0]:.1f} MiB "
          f"({(during[0] - before[0]) * 1024 / count:.1f} KiB each), descriptors {before[1]} -> "
          f"{during[1]}; the clients hung up: no waiter left after {freed:.2f} s, then RSS "
          f"{after[0]:.1f} MiB, descriptors {after[1]}, waiters {after[2]}; {len(log_lines)} log "
          "lines")
    for line in log_lines[-3:]:
        print("  log:", line.rstrip()[:300])


try:
    asyncio.run(main())
finally:
    hookd.terminate()
    hookd.wait()
