"""A trigger's program that calls back into hookd with the official Python MCP SDK (the README's
Python recipe, run by tests/it/triggers.rs): for each event of the run (HOOKD_EVENT_IDS) it asks
hookd over HOOKD_MCP_URL for the whole event with `get_event_by_id`, then prints one line each.
The event itself also arrives on stdin.
"""

import asyncio
import json
import os
import sys

from mcp import Client


async def main():
    given = json.load(sys.stdin)
    async with Client(os.environ["HOOKD_MCP_URL"]) as hookd:
        for event_id in os.environ["HOOKD_EVENT_IDS"].split(","):
            result = await hookd.call_tool("get_event_by_id", {"event_id": int(event_id)})
            event = result.structured_content
            print(f"event {event['id']} ({event['source']} {event['type']}): "
                  f"{json.dumps(event['payload'], sort_keys=True)}; stdin had id {given['id']}")


asyncio.run(main())
