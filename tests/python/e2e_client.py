"""A real MCP client (the official Python SDK, `mcp` from PyPI) against the
example server. Run by tests/example_server_with_real_clients.rs; prints one
JSON report on stdout for the Rust test to check.

usage: e2e_client.py URL MODE [TOKEN]   (MODE: legacy | 2026-07-28)
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "".join(block.text for block in result.content if getattr(block, "text", None) is not None)


async def main(url: str, mode: str, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    report: dict = {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, raise_exceptions=True) as client:
            report["protocol_version"] = client.protocol_version
            tools = await client.list_tools()
            report["tools"] = sorted(tool.name for tool in tools.tools)
            report["echo"] = text_of(await client.call_tool("echo", {"text": "hello from python"}))
            report["add"] = text_of(await client.call_tool("add", {"a": 2, "b": 40}))

            progress: list[float] = []

            async def on_progress(value, total, message):
                progress.append(value)

            counted = await client.call_tool(
                "slow_count", {"n": 5, "interval_ms": 20}, progress_callback=on_progress
            )
            report["slow_count"] = text_of(counted)
            report["progress"] = progress
            report["whoami"] = text_of(await client.call_tool("whoami", {}))
            try:
                report["admin_echo"] = text_of(await client.call_tool("admin_echo", {"text": "root"}))
            except Exception as error:  # the step-up refusal, reported for the test to check
                report["admin_echo_error"] = f"{type(error).__name__}: {error}"
    return report


if __name__ == "__main__":
    url, mode = sys.argv[1], sys.argv[2]
    token = sys.argv[3] if len(sys.argv) > 3 else None
    print(json.dumps(asyncio.run(main(url, mode, token))))
