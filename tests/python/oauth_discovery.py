"""The official Python MCP SDK's OWN OAuth client (`mcp.client.auth.OAuthClientProvider`),
with no token, against the example server's remote preset: does its discovery get
through? Run by tests/python_sdk_oauth_client_discovers_the_authorization_server.rs;
prints one JSON report on stdout for the Rust test to check.

usage: oauth_discovery.py URL MODE [TIMEOUT_SECONDS]
       (MODE: legacy | auto | 2026-07-28; `auto` is the SDK's default, which probes
       `server/discover` at 2026-07-28 before falling back to `initialize`)

The SDK's flow is: the MCP request -> 401 with `WWW-Authenticate: Bearer
resource_metadata="..."` -> GET that RFC 9728 protected resource metadata -> GET the
RFC 8414 metadata of the authorization server it names -> register the client
(RFC 7591) -> send the user to the authorization endpoint -> exchange the code for a
token. The discovery steps are under test here (the development issuer's registration,
authorization and token endpoints have their own test). So the flow is left to run on
its own, with nothing stubbed, and stopped where it needs a person: the redirect handler
(the browser step) raises, so no authorization code is ever sent anywhere. Whatever the
SDK does before that (its registration, say) is recorded as it happened.

Every HTTP request the client sends, the auth flow's own included, goes through a
recording transport under httpx2's client, so the report shows what was on the wire:
method, URL, status, the request's MCP-Protocol-Version and Accept headers, and the
JSON body of each JSON answer to a GET (the metadata documents).
"""

import asyncio
import json
import sys
import traceback

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata, OAuthMetadata
from pydantic import ValidationError
from sdk_oauth import MemoryStorage, leaves

MAX_RECORDED_BODY = 64 * 1024


class StoppedAtTheBrowserStep(Exception):
    """Raised by the redirect handler: the flow got as far as sending a person to log in."""


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Sends each request with the real transport and records it and its answer."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, log: list[dict]) -> None:
        self.inner = inner
        self.log = log

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        entry: dict = {
            "method": request.method,
            "url": str(request.url),
            "mcp_protocol_version": request.headers.get("mcp-protocol-version"),
            "accept": request.headers.get("accept"),
            "authorization": "authorization" in request.headers,
        }
        self.log.append(entry)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as error:
            entry["transport_error"] = f"{type(error).__name__}: {error}"
            raise
        entry["status"] = response.status_code
        entry["content_type"] = response.headers.get("content-type")
        if "www-authenticate" in response.headers:
            entry["www_authenticate"] = response.headers.get("www-authenticate")
        content_type = (entry["content_type"] or "").lower()
        if request.method == "GET" and "json" in content_type:
            # A metadata document (or a JSON error): small, complete, safe to read here; the
            # SDK reads the same cached bytes afterwards.
            body = await response.aread()
            text = body[:MAX_RECORDED_BODY].decode("utf-8", errors="replace")
            try:
                entry["json"] = json.loads(text)
            except ValueError:
                entry["body"] = text
            model_errors = as_metadata_errors(request.url.path, body) if response.status_code == 200 else None
            if model_errors is not None:
                entry["sdk_model_errors"] = model_errors
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def as_metadata_errors(path: str, body: bytes) -> list[str] | None:
    """For authorization server metadata, why the SDK's `OAuthMetadata` model would refuse it
    (the SDK then skips the document silently and tries the next discovery URL)."""
    if "oauth-authorization-server" not in path and "openid-configuration" not in path:
        return None
    try:
        OAuthMetadata.model_validate_json(body)
        return []
    except ValidationError as error:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]


def dump(model) -> dict | None:
    return None if model is None else json.loads(model.model_dump_json(exclude_none=True))


async def run(url: str, mode: str, timeout: float) -> dict:
    log: list[dict] = []
    report: dict = {"url": url, "mode": mode, "requests": log}
    authorization_urls: list[str] = []

    async def redirect_handler(authorization_url: str) -> None:
        authorization_urls.append(authorization_url)
        raise StoppedAtTheBrowserStep(authorization_url)

    async def callback_handler():
        raise StoppedAtTheBrowserStep("callback reached without a redirect")

    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="mcp-guard discovery acceptance test",
            redirect_uris=["http://127.0.0.1:9/callback"],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=MemoryStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    transport = RecordingTransport(httpx2.AsyncHTTPTransport(), log)
    errors: list[str] = []
    try:
        with anyio.fail_after(timeout):
            async with httpx2.AsyncClient(auth=provider, transport=transport, timeout=10) as http:
                async with Client(streamable_http_client(url, http_client=http), mode=mode, raise_exceptions=True) as client:
                    report["protocol_version"] = client.protocol_version
                    tools = await client.list_tools()
                    report["tools"] = sorted(tool.name for tool in tools.tools)
    except BaseException as error:  # noqa: BLE001 - the flow is expected to stop; report how
        if not isinstance(error, Exception) and not isinstance(error, BaseExceptionGroup):
            raise
        for leaf in leaves(error):
            errors.append(f"{type(leaf).__name__}: {leaf}")
        report["traceback"] = "".join(traceback.format_exception(error))[-8000:]
    report["errors"] = errors
    report["stopped_at_browser_step"] = bool(authorization_urls)
    report["authorization_urls"] = authorization_urls
    context = provider.context
    report["sdk"] = {
        # What the SDK's flow itself made of the documents it fetched.
        "protected_resource_metadata": dump(context.protected_resource_metadata),
        "auth_server_url": context.auth_server_url,
        "oauth_metadata": dump(context.oauth_metadata),
        "client_info": dump(context.client_info),
        "has_tokens": context.current_tokens is not None,
    }
    return report


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[2] not in ("legacy", "auto", "2026-07-28"):
        sys.exit(__doc__)
    url, mode = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) == 4 else 30.0
    print(json.dumps(asyncio.run(run(url, mode, timeout)), indent=1))
