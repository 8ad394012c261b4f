"""What a newcomer runs first against examples/axum_rmcp.rs: the official
Python SDK (`mcp` from PyPI) with its defaults, no headers of its own. Run by
tests/the_axum_rmcp_example_serves_real_clients.rs; prints one JSON report.

usage: first_run_client.py URL MODE   (MODE: legacy | 2026-07-28)
"""

import asyncio
import json
import sys

from mcp import Client


async def main(url: str, mode: str) -> dict:
    async with Client(url, mode=mode, raise_exceptions=True) as client:
        tools = await client.list_tools()
        result = await client.call_tool("add", {"a": 2, "b": 40})
        return {
            "protocol_version": client.protocol_version,
            "tools": sorted(tool.name for tool in tools.tools),
            "add": "".join(block.text for block in result.content if getattr(block, "text", None)),
        }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
