"""Pushed events with the official Python MCP SDK (`mcp` 2.x) against `hookd serve`:
`Client.listen` (subscriptions/listen, 2026-07-28) and `subscribe_resource` (legacy
resources/subscribe with notifications/resources/updated).

Usage: python push_client.py <path to the hookd binary>
Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.
"""

import asyncio
import sys
import tempfile
import time
import warnings

from mcp import Client
from mcp.client.subscriptions import ResourceUpdated

from sdk_client import check, post, results, start_serve

HOOKD = sys.argv[1]


async def listen(mcp, webhook):
    async with Client(f"http://{mcp}/mcp") as client:
        check("listen: negotiates 2026-07-28", client.protocol_version == "2026-07-28", client.protocol_version)
        async with client.listen(resource_subscriptions=["hookd://sources/github", "hookd://nowhere"]) as sub:
            honored = sub.honored.resource_subscriptions or []
            check("listen: both URIs are honored", set(honored) == {"hookd://sources/github", "hookd://nowhere"}, honored)
            post(webhook, "stripe", {"not": "followed"}, "py-listen-1")
            started = time.monotonic()
            post(webhook, "github", {"followed": True}, "py-listen-2")
            event = await asyncio.wait_for(anext(sub), 10)
            elapsed = (time.monotonic() - started) * 1000
            check("listen: resources/updated for the followed source only",
                  isinstance(event, ResourceUpdated) and event.uri == "hookd://sources/github", event)
            print(f"     listen: update {elapsed:.1f} ms after the webhook was sent")
            read = await client.read_resource("hookd://sources/github")
            check("listen: the resource then holds the event", '"followed":true' in read.contents[0].text, read)


async def legacy(mcp, webhook):
    updates = asyncio.Queue()

    async def on_message(message):
        root = getattr(message, "root", message)
        if getattr(root, "method", None) == "notifications/resources/updated":
            await updates.put(root.params.uri)

    async with Client(f"http://{mcp}/mcp", mode="legacy", message_handler=on_message) as client:
        check("legacy: negotiates 2025-11-25", client.protocol_version == "2025-11-25", client.protocol_version)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.subscribe_resource("hookd://sources/stripe")
            await client.subscribe_resource("hookd://not/served")
        post(webhook, "github", {"x": 1}, "py-legacy-1")
        post(webhook, "stripe", {"x": 2}, "py-legacy-2")
        uri = await asyncio.wait_for(updates.get(), 10)
        check("legacy: resources/updated for the subscribed source", uri == "hookd://sources/stripe", uri)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await client.unsubscribe_resource("hookd://sources/stripe")
            await client.subscribe_resource("hookd://events")
        post(webhook, "stripe", {"x": 3}, "py-legacy-3")
        uri = await asyncio.wait_for(updates.get(), 10)
        check("legacy: after unsubscribe only hookd://events fires", uri == "hookd://events", uri)


async def main():
    with tempfile.TemporaryDirectory() as d:
        proc, webhook, mcp = start_serve(d)
        try:
            await listen(mcp, webhook)
            await legacy(mcp, webhook)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    asyncio.run(main())
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
