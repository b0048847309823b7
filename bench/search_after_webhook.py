#!/usr/bin/env python3
"""How long a search takes right after a webhook: the search waits for the index to hold every
event committed before it, so this is the indexer's wake-up as a client sees it.

    target/pyenv/bin/python bench/search_after_webhook.py WEBHOOK_ADDR MCP_URL

Against a running `hookd serve` (any store; the source `demo` must accept unsigned deliveries,
as it does unless signatures are required): 30 rounds of one webhook, then `search_events` for a
word only that webhook carries, through the official Python MCP SDK (installed into target/pyenv
by scripts/test). Fails if a search misses its event.
"""
import asyncio
import json
import sys
import time
import urllib.request

from mcp import Client

ROUNDS = 30


def post(webhook, i):
    """Sends one delivery carrying the word `word{i}x`; returns hookd's receipt."""
    body = json.dumps({"type": "demo.push", "repository": {"full_name": f"octo/word{i}x"}}).encode()
    req = urllib.request.Request(
        f"http://{webhook}/webhook/demo",
        data=body,
        headers={"content-type": "application/json", "x-request-id": f"d-{i}-{time.time()}"},
    )
    with urllib.request.urlopen(req) as answer:
        return json.load(answer)


async def main(webhook, mcp_url):
    async with Client(mcp_url) as client:
        times = []
        for i in range(ROUNDS):
            await asyncio.sleep(0.2)
            receipt = post(webhook, i)
            started = time.perf_counter()
            found = await client.call_tool("search_events", {"query": f"word{i}x"})
            times.append((time.perf_counter() - started) * 1e3)
            text = found.content[0].text
            if str(receipt["event_id"]) not in text:
                sys.exit(f"the search for word{i}x missed event {receipt['event_id']}: {text[:300]}")
        times.sort()
        print(
            f"search_events right after the webhook, {ROUNDS} rounds: p50 {times[ROUNDS // 2]:.1f} ms, "
            f"max {times[-1]:.1f} ms; every search found its event"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
