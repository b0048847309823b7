"""The cost of one small MCP tool call on hookd's side: a sessionless (2026-07-28)
`get_event_by_id` over one kept-alive plain HTTP connection, CALLS times (the first 500 are a
warm-up), printing p50 and p90. To compare two builds, run it alternately on stores each build
filled (bench/queries.sh with BENCH_DATA), e.g.

    for i in 1 2 3; do for b in old new; do
      target/pyenv/bin/python bench/tool_call.py /tmp/$b-hookd /tmp/bd-$b; done; done

Usage: python bench/tool_call.py HOOKD_BINARY DATA_DIR [CALLS]
"""

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time

binary, data = sys.argv[1], sys.argv[2]
calls = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
hookd = subprocess.Popen([binary, "serve", "--data-dir", data, "--webhook-addr", "127.0.0.1:0",
                          "--mcp-addr", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
for line in hookd.stderr:
    found = re.search(r"mcp_addr=(\S+)", line)
    if found:
        host, port = found.group(1).rsplit(":", 1)
        break
connection = http.client.HTTPConnection(host, int(port))
meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}}
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "get_event_by_id", "arguments": {"event_id": 5}, "_meta": meta}})
headers = {"content-type": "application/json", "accept": "application/json, text/event-stream",
           "mcp-method": "tools/call", "mcp-name": "get_event_by_id",
           "mcp-protocol-version": "2026-07-28"}
samples = []
for _ in range(calls):
    started = time.perf_counter()
    connection.request("POST", "/mcp", body, headers)
    connection.getresponse().read()
    samples.append((time.perf_counter() - started) * 1000)
samples = sorted(samples[500:])
print(f"{os.path.basename(binary)}: p50 {statistics.median(samples):.3f} ms, "
      f"p90 {samples[int(len(samples) * 0.9)]:.3f} ms")
hookd.terminate()
hookd.wait()
