"""Two users of the example's notes tools through the official Python SDK
(`mcp` from PyPI): each signs in with their own token; the second must not
read or delete the first one's note. Run by
tests/each_user_acts_only_on_their_own_notes.rs; prints one JSON report.

usage: notes_client.py URL MODE OWNER_TOKEN OTHER_TOKEN   (MODE: legacy | 2026-07-28)
"""

import asyncio
import contextlib
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "".join(block.text for block in result.content if getattr(block, "text", None) is not None)


async def attempt(client, tool: str, arguments: dict) -> dict:
    """The tool's text, or the error it raised (a JSON-RPC error answer)."""
    try:
        result = await client.call_tool(tool, arguments)
        return {"text": text_of(result), "is_error": bool(result.is_error)}
    except Exception as error:  # noqa: BLE001 - the refusal is what the test checks
        return {"error": f"{type(error).__name__}: {error}"}


@contextlib.asynccontextmanager
async def signed_in(url: str, mode: str, token: str):
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, raise_exceptions=True) as client:
            yield client


async def main(url: str, mode: str, owner_token: str, other_token: str) -> dict:
    report: dict = {}
    async with signed_in(url, mode, owner_token) as owner, signed_in(url, mode, other_token) as other:
        created = await attempt(owner, "note_create", {"text": "the owner's secret"})
        report["created"] = created
        note = int(created["text"])
        report["owner_reads"] = await attempt(owner, "note_read", {"id": note})
        report["other_reads"] = await attempt(other, "note_read", {"id": note})
        report["other_deletes"] = await attempt(other, "note_delete", {"id": note})
        report["owner_reads_again"] = await attempt(owner, "note_read", {"id": note})
        report["owner_deletes"] = await attempt(owner, "note_delete", {"id": note})
        report["owner_reads_deleted"] = await attempt(owner, "note_read", {"id": note})
    return report


if __name__ == "__main__":
    url, mode, owner_token, other_token = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(url, mode, owner_token, other_token))))
