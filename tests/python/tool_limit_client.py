"""The example's per-tool rate limit through the official Python SDK (`mcp`
from PyPI): `add` CALLS times, then once more, then `echo`. Run by
tests/a_per_tool_limit_refuses_that_tool_and_no_other.rs; prints one JSON report.

usage: tool_limit_client.py URL MODE TOKEN CALLS   (MODE: legacy | 2026-07-28)
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "".join(block.text for block in result.content if getattr(block, "text", None) is not None)


async def attempt(client, tool: str, arguments: dict) -> dict:
    try:
        return {"text": text_of(await client.call_tool(tool, arguments))}
    except Exception as error:  # noqa: BLE001 - the refusal is what the test checks
        return {"error": f"{type(error).__name__}: {error}"}


async def main(url: str, mode: str, token: str, calls: int) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, raise_exceptions=True) as client:
            allowed = [await attempt(client, "add", {"a": 1, "b": n}) for n in range(calls)]
            over = await attempt(client, "add", {"a": 1, "b": 1})
            echo = await attempt(client, "echo", {"text": "still served"})
    return {"allowed": allowed, "over": over, "echo": echo}


if __name__ == "__main__":
    url, mode, token, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    print(json.dumps(asyncio.run(main(url, mode, token, calls))))
