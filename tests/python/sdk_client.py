"""hookd against the official Python MCP SDK (`mcp` 2.x), over Streamable HTTP and stdio, in the
SDK's default mode ("auto": 2026-07-28 discovery) and in "legacy" mode (initialize handshake).

Usage: python sdk_client.py <path to the hookd binary>
Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.
"""

import asyncio
import json
import re
import socket
import subprocess
import sys
import tempfile
import urllib.request

from mcp import Client, StdioServerParameters

HOOKD = sys.argv[1] if len(sys.argv) > 1 else "hookd"
TOOLS = {
    "get_recent_events", "get_event_by_id", "get_events_since",
    "get_event_sources", "wait_for_event", "subscribe_to_events",
}
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


def post(addr, source, body, delivery):
    req = urllib.request.Request(
        f"http://{addr}/webhook/{source}", data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "idempotency-key": delivery},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def exercise(label, client, webhook_addr):
    names = {t.name for t in (await client.list_tools()).tools}
    check(f"{label}: lists the six tools", TOOLS <= names, names)

    receipt = post(webhook_addr, "github", {"hello": label}, f"py-{label}")
    recent = await client.call_tool("get_recent_events", {"limit": 5, "source": "github"})
    events = (recent.structured_content or {}).get("events", [])
    check(f"{label}: get_recent_events returns the webhook",
          any(e["id"] == receipt["event_id"] and e["payload"] == {"hello": label} for e in events), recent)
    text = json.loads(recent.content[0].text)
    check(f"{label}: text content mirrors structured content", text == recent.structured_content)

    missing = await client.call_tool("get_event_by_id", {"event_id": 987654321})
    check(f"{label}: unknown id is a tool error", missing.is_error is True, missing)

    async def later():
        await asyncio.sleep(0.2)
        return post(webhook_addr, "github", {"second": label}, f"py2-{label}")

    waited, second = await asyncio.gather(
        client.call_tool("wait_for_event", {"source": "github", "after_id": receipt["event_id"], "timeout_seconds": 20}),
        later(),
    )
    got = (waited.structured_content or {}).get("event") or {}
    check(f"{label}: wait_for_event returns the next webhook", got.get("id") == second["event_id"], waited)


def start_serve(data_dir):
    proc = subprocess.Popen(
        [HOOKD, "serve", "--data-dir", data_dir, "--webhook-addr", "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stderr:
        if "hookd listening" in line:
            webhook = re.search(r"webhook_addr=(\S+)", line).group(1)
            mcp = re.search(r"mcp_addr=(\S+)", line).group(1)
            return proc, webhook, mcp
    raise RuntimeError("hookd serve did not start")


async def main():
    for mode in ("auto", "legacy"):
        with tempfile.TemporaryDirectory() as d:
            proc, webhook, mcp = start_serve(d)
            try:
                async with Client(f"http://{mcp}/mcp", mode=mode) as client:
                    expect = "2026-07-28" if mode == "auto" else "2025-11-25"
                    check(f"http/{mode}: negotiates {expect}", client.protocol_version == expect, client.protocol_version)
                    await exercise(f"http/{mode}", client, webhook)
            finally:
                proc.terminate()
                proc.wait(timeout=20)

        with tempfile.TemporaryDirectory() as d:
            webhook = f"127.0.0.1:{free_port()}"
            params = StdioServerParameters(command=HOOKD, args=["stdio", "--data-dir", d, "--webhook-addr", webhook])
            async with Client(params, mode=mode) as client:
                await exercise(f"stdio/{mode}", client, webhook)


if __name__ == "__main__":
    asyncio.run(main())
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
