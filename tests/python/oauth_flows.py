"""The official Python MCP SDK's OWN OAuth providers, with no pre-issued token, through
the whole flow against the example server's remote preset and its development
authorization server. Run by tests/python_sdk_completes_the_oauth_flow.rs; prints one
JSON report on stdout for the Rust test to check.

usage: oauth_flows.py FLOW URL MODE OTHER_URL [TIMEOUT_SECONDS]
       FLOW: client_credentials | authorization_code
       MODE: legacy | 2026-07-28
       OTHER_URL: a second MCP endpoint that trusts the same issuer but is another
                  resource (the example started with --issuer URL-of-the-first)

- client_credentials: `ClientCredentialsOAuthProvider`. The set-up registers a
  confidential client first (RFC 7591 at the discovered registration_endpoint,
  grant_types ["client_credentials"], client_secret_basic), with plain httpx2, as an
  operator would; the SDK gets the id and secret and does everything else itself.
- authorization_code: `OAuthClientProvider` (dynamic registration, code + PKCE S256).
  Its redirect handler plays the browser headlessly: it GETs the authorization URL
  without following redirects and reads code, state and iss from the Location; the
  callback handler hands them back.

Then, with the SDK's client: tools/list, whoami, admin_echo (the first token lacks
mcp:admin, so the SDK gets a 403 insufficient_scope and steps up by itself), echo
with the stepped-up token, whoami again. After the SDK's part, the checks (plain
httpx2): a token for another resource asked of the authorization server directly,
and the SDK's token presented to OTHER_URL (another resource) next to a control
request with the same token at URL.

Every HTTP request (the SDK's, the headless browser's, the set-up's, the checks')
goes through one recording transport: method, URL, status, WWW-Authenticate, a short
hash of the bearer token sent, the JSON-RPC method, the OAuth endpoint it hit, and the
decoded claims of each token issued. Secrets (client secrets, whole tokens, codes)
never reach the report.
"""

import asyncio
import base64
import hashlib
import json
import secrets
import sys
import traceback
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlparse

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from sdk_oauth import MemoryStorage, leaves

MAX_RECORDED_BODY = 16 * 1024
# Where the authorization server sends the browser back; nothing listens there: the
# headless browser reads the Location instead of following it.
REDIRECT_URI = "http://127.0.0.1:9/callback"
LEGACY_VERSION = "2025-11-25"


def fingerprint(secret: str | None) -> str | None:
    """A short, stable name for a token, so the report can say which token a request used."""
    return None if secret is None else hashlib.sha256(secret.encode()).hexdigest()[:12]


def jwt_parts(token: str) -> dict:
    """The (unverified) header and claims of a JWT access token, for the report."""
    try:
        header, payload = token.split(".")[:2]
        decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
        return {"header": decode(header), "claims": decode(payload)}
    except Exception as error:  # noqa: BLE001 - an opaque token is reported as such
        return {"not_a_jwt": f"{type(error).__name__}: {error}"}


def without_query(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}"


class Recorder:
    """The one log of every request, and which part of the test is running."""

    def __init__(self) -> None:
        self.log: list[dict] = []
        self.phase = "setup"
        self.step = "setup"
        # The SDK's own successful tools/list POST (body and MCP headers), replayed by the checks.
        self.sdk_tools_list: tuple[bytes, dict[str, str]] | None = None

    @contextmanager
    def at(self, phase: str, step: str):
        self.phase, self.step = phase, step
        yield

    def transport(self) -> "RecordingTransport":
        return RecordingTransport(httpx2.AsyncHTTPTransport(), self)


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Sends each request with the real transport and records it and its answer."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, recorder: Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        authorization = request.headers.get("authorization")
        entry: dict = {
            "index": len(self.recorder.log),
            "phase": self.recorder.phase,
            "step": self.recorder.step,
            "method": request.method,
            "url": str(request.url),
            "mcp_protocol_version": request.headers.get("mcp-protocol-version"),
            "authorization": None
            if authorization is None
            else ("basic" if authorization.lower().startswith("basic ") else "bearer"),
        }
        if authorization and authorization.lower().startswith("bearer "):
            entry["token"] = fingerprint(authorization[7:].strip())
        body = None
        try:
            body = request.content
        except Exception:  # noqa: BLE001 - a streamed body is not recorded
            pass
        rpc = None
        if body and "json" in (request.headers.get("content-type") or ""):
            try:
                rpc = json.loads(body)
            except ValueError:
                rpc = None
        if isinstance(rpc, dict) and "method" in rpc:
            entry["rpc"] = rpc["method"]
            name = (rpc.get("params") or {}).get("name")
            if name:
                entry["rpc"] += f":{name}"
        elif isinstance(rpc, dict) and request.method == "POST":
            # A registration request: what the client asked for.
            entry["registration_request"] = {
                key: rpc.get(key)
                for key in ("grant_types", "token_endpoint_auth_method", "scope", "redirect_uris", "response_types")
                if key in rpc
            }
        elif body and "x-www-form-urlencoded" in (request.headers.get("content-type") or ""):
            form = parse_qs(body.decode("utf-8", errors="replace"))
            entry["form"] = {
                key: (values[0] if key in ("grant_type", "scope", "resource", "redirect_uri", "client_id") else "<redacted>")
                for key, values in form.items()
            }
        if request.method == "GET" and request.url.params.get("response_type"):
            entry["authorize_params"] = {
                key: value
                for key, value in request.url.params.items()
                if key in ("response_type", "client_id", "redirect_uri", "scope", "resource", "code_challenge_method")
            }
        self.recorder.log.append(entry)
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as error:
            entry["transport_error"] = f"{type(error).__name__}: {error}"
            raise
        entry["status"] = response.status_code
        entry["content_type"] = response.headers.get("content-type")
        if "www-authenticate" in response.headers:
            entry["www_authenticate"] = response.headers.get("www-authenticate")
        if "location" in response.headers:
            location = response.headers["location"]
            params = parse_qs(urlparse(location).query)
            entry["location"] = {
                "target": without_query(location),
                "params": sorted(params),
                "state": "state" in params,
                "iss": params.get("iss", [None])[0],
                "error": params.get("error", [None])[0],
            }
        content_type = (entry["content_type"] or "").lower()
        if "json" in content_type and "event-stream" not in content_type:
            # Small, complete JSON: safe to read here; the SDK reads the same cached bytes.
            raw = await response.aread()
            text = raw[:MAX_RECORDED_BODY].decode("utf-8", errors="replace")
            try:
                document = json.loads(text)
            except ValueError:
                entry["body"] = text
            else:
                entry["json"] = redacted(document)
                if isinstance(document, dict) and isinstance(document.get("access_token"), str):
                    entry["issued"] = {
                        "token": fingerprint(document["access_token"]),
                        "scope": document.get("scope"),
                        "token_type": document.get("token_type"),
                        "expires_in": document.get("expires_in"),
                        "refresh_token": "refresh_token" in document,
                        **jwt_parts(document["access_token"]),
                    }
        if (
            self.recorder.phase == "sdk"
            and self.recorder.sdk_tools_list is None
            and entry.get("rpc") == "tools/list"
            and response.status_code == 200
            and body
        ):
            keep = {
                key: value
                for key, value in request.headers.items()
                if key.lower().startswith("mcp-") and key.lower() != "mcp-session-id"
            }
            self.recorder.sdk_tools_list = (body, keep)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def redacted(document):
    """A JSON answer without its secrets: tokens and client secrets become fingerprints."""
    if not isinstance(document, dict):
        return document
    out = {}
    for key, value in document.items():
        if key in ("access_token", "refresh_token", "client_secret", "registration_access_token", "id_token"):
            out[key] = f"<{fingerprint(value) if isinstance(value, str) else 'redacted'}>"
        else:
            out[key] = value
    return out


def text_of(result) -> str:
    return "".join(block.text for block in result.content if getattr(block, "text", None) is not None)


def as_json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def describe(error: BaseException) -> list[str]:
    return [f"{type(leaf).__name__}: {leaf}" for leaf in leaves(error)]


def rfc8414_url(issuer: str) -> str:
    parsed = urlparse(issuer)
    path = parsed.path.rstrip("/")
    return f"{parsed.scheme}://{parsed.netloc}/.well-known/oauth-authorization-server{path}"


def prm_url(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}/.well-known/oauth-protected-resource{parsed.path}"


async def register_confidential_client(http: httpx2.AsyncClient, url: str, report: dict) -> dict:
    """The set-up of the client-credentials flow: discover the authorization server the way a
    client would, and register a confidential client there (RFC 7591)."""
    prm = (await http.get(prm_url(url))).raise_for_status().json()
    issuer = prm["authorization_servers"][0]
    metadata = (await http.get(rfc8414_url(issuer))).raise_for_status().json()
    endpoint = metadata.get("registration_endpoint")
    if not endpoint:
        raise RuntimeError(f"the authorization server metadata names no registration_endpoint: {metadata}")
    response = await http.post(
        endpoint,
        json={
            "client_name": "mcp-guard client-credentials acceptance test",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": " ".join(prm.get("scopes_supported") or metadata.get("scopes_supported") or []) or None,
        },
    )
    if response.status_code not in (200, 201):
        raise RuntimeError(f"registration refused: {response.status_code} {response.text}")
    client = response.json()
    report["setup"] = {
        "issuer": issuer,
        "client_id": client.get("client_id"),
        "token_endpoint_auth_method": client.get("token_endpoint_auth_method"),
        "has_client_secret": bool(client.get("client_secret")),
    }
    return {"issuer": issuer, "metadata": metadata, "client": client}


def mcp_request(mode: str, recorder: Recorder) -> tuple[bytes, dict[str, str]]:
    """An MCP POST of the run's era, for the checks: legacy, an `initialize`; 2026-07-28, the
    SDK's own tools/list exactly as it sent it (body and MCP headers, no session id)."""
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    if mode == "legacy" or recorder.sdk_tools_list is None:
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": LEGACY_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "mcp-guard oauth check", "version": "1"},
                },
            }
        ).encode()
        return body, headers
    body, mcp_headers = recorder.sdk_tools_list
    return body, {**headers, **mcp_headers}


async def present(http: httpx2.AsyncClient, url: str, token: str, mode: str, recorder: Recorder) -> dict:
    body, headers = mcp_request(mode, recorder)
    response = await http.post(url, content=body, headers={**headers, "authorization": f"Bearer {token}"})
    await response.aread()
    return {
        "url": url,
        "status": response.status_code,
        "www_authenticate": response.headers.get("www-authenticate"),
        "token": fingerprint(token),
    }


async def other_resource_token(
    http: httpx2.AsyncClient, flow: str, url: str, mode: str, recorder: Recorder, context, setup: dict | None
) -> dict:
    """Ask the authorization server for a token for another resource on its own origin. If it
    refuses (invalid_target, RFC 8707) that refusal is the result; if it issues one, the token
    is presented at `url` and must be refused there."""
    parsed = urlparse(url)
    other = f"{parsed.scheme}://{parsed.netloc}/other"
    metadata = context.oauth_metadata
    token_endpoint = str(metadata.token_endpoint)
    result: dict = {"resource": other}
    if flow == "client_credentials":
        client = setup["client"]
        response = await http.post(
            token_endpoint,
            data={"grant_type": "client_credentials", "scope": "mcp", "resource": other},
            auth=(client["client_id"], client["client_secret"]),
        )
    else:
        client_id = context.client_info.client_id
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        state = secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "scope": "mcp",
                "resource": other,
            }
        )
        answer = await http.get(f"{metadata.authorization_endpoint}?{query}")
        location = answer.headers.get("location")
        params = parse_qs(urlparse(location).query) if location else {}
        result["authorize"] = {"status": answer.status_code, "error": params.get("error", [None])[0]}
        refresh = context.current_tokens.refresh_token if context.current_tokens else None
        if refresh is not None:
            # The token endpoint too, with the SDK's valid refresh token (RFC 8707 §2.2).
            answer = await http.post(
                token_endpoint,
                data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id, "resource": other},
            )
            try:
                refused = answer.json()
            except ValueError:
                refused = {}
            result["refresh"] = {
                "status": answer.status_code,
                "error": refused.get("error"),
                "issued": "access_token" in refused,
            }
        if "code" not in params:
            result["refused_at"] = "authorize"
            result["error"] = params.get("error", [None])[0]
            if answer.status_code == 400:
                try:
                    result["error"] = answer.json().get("error")
                except ValueError:
                    pass
            return result
        response = await http.post(
            token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                "code_verifier": verifier,
                "resource": other,
            },
        )
    result["token_status"] = response.status_code
    try:
        answer = response.json()
    except ValueError:
        answer = {"body": response.text[:500]}
    if response.status_code != 200 or "access_token" not in answer:
        result["refused_at"] = "token"
        result["error"] = answer.get("error")
        result["error_description"] = answer.get("error_description")
        return result
    result["issued"] = {"scope": answer.get("scope"), **jwt_parts(answer["access_token"])}
    result["presented"] = await present(http, url, answer["access_token"], mode, recorder)
    return result


async def run(flow: str, url: str, mode: str, other_url: str, timeout: float) -> dict:
    recorder = Recorder()
    report: dict = {"flow": flow, "url": url, "mode": mode, "other_url": other_url, "requests": recorder.log}
    errors: list[str] = []
    steps: dict = {}
    report["steps"] = steps
    report["errors"] = errors
    authorizations: list[dict] = []
    report["authorizations"] = authorizations
    provider = None
    setup = None
    try:
        with anyio.fail_after(timeout):
            async with httpx2.AsyncClient(transport=recorder.transport(), timeout=10, follow_redirects=False) as plain:
                if flow == "client_credentials":
                    with recorder.at("setup", "register"):
                        setup = await register_confidential_client(plain, url, report)
                    client = setup["client"]
                    provider = ClientCredentialsOAuthProvider(
                        server_url=url,
                        storage=MemoryStorage(),
                        client_id=client["client_id"],
                        client_secret=client["client_secret"],
                        token_endpoint_auth_method="client_secret_basic",
                        issuer=setup["issuer"],
                    )
                else:
                    pending: list[AuthorizationCodeResult] = []

                    async def redirect_handler(authorization_url: str) -> None:
                        # The browser: GET the authorization URL, do not follow the redirect,
                        # read what the authorization server sends back to the redirect URI.
                        answer = await plain.get(authorization_url)
                        location = answer.headers.get("location")
                        record: dict = {"status": answer.status_code}
                        authorizations.append(record)
                        if answer.status_code not in (302, 303) or not location:
                            raise RuntimeError(
                                f"the authorization endpoint answered {answer.status_code} without a redirect: "
                                f"{answer.text[:500]}"
                            )
                        if without_query(location) != REDIRECT_URI:
                            raise RuntimeError(f"redirected to {without_query(location)}, not {REDIRECT_URI}")
                        params = {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}
                        if "error" in params:
                            raise RuntimeError(f"the authorization endpoint refused: {params}")
                        record["iss"] = params.get("iss")
                        pending.append(
                            AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))
                        )

                    async def callback_handler() -> AuthorizationCodeResult:
                        if not pending:
                            raise RuntimeError("callback reached without an authorization redirect")
                        return pending.pop(0)

                    provider = OAuthClientProvider(
                        server_url=url,
                        client_metadata=OAuthClientMetadata(
                            client_name="mcp-guard authorization-code acceptance test",
                            redirect_uris=[REDIRECT_URI],
                            grant_types=["authorization_code", "refresh_token"],
                            response_types=["code"],
                            token_endpoint_auth_method="none",
                        ),
                        storage=MemoryStorage(),
                        redirect_handler=redirect_handler,
                        callback_handler=callback_handler,
                    )

                # The SDK's part: nothing but its own client and provider from here.
                with recorder.at("sdk", "connect"):
                    async with httpx2.AsyncClient(auth=provider, transport=recorder.transport(), timeout=10) as http:
                        async with Client(
                            streamable_http_client(url, http_client=http), mode=mode, raise_exceptions=True
                        ) as client:
                            report["protocol_version"] = client.protocol_version
                            with recorder.at("sdk", "list_tools"):
                                tools = await client.list_tools()
                                steps["list_tools"] = sorted(tool.name for tool in tools.tools)
                            with recorder.at("sdk", "whoami"):
                                steps["whoami"] = as_json(text_of(await client.call_tool("whoami", {})))
                            with recorder.at("sdk", "admin_echo"):
                                result = await client.call_tool("admin_echo", {"text": "root"})
                                steps["admin_echo"] = {"is_error": bool(result.is_error), "text": text_of(result)}
                            with recorder.at("sdk", "echo"):
                                result = await client.call_tool("echo", {"text": "still here"})
                                steps["echo"] = {"is_error": bool(result.is_error), "text": text_of(result)}
                            with recorder.at("sdk", "whoami_after"):
                                steps["whoami_after"] = as_json(text_of(await client.call_tool("whoami", {})))
                            with recorder.at("sdk", "list_tools_after"):
                                tools = await client.list_tools()
                                steps["list_tools_after"] = sorted(tool.name for tool in tools.tools)
                            recorder.step = "close"

                # The checks: plain HTTP, outside the SDK.
                context = provider.context
                token = context.current_tokens.access_token if context.current_tokens else None
                checks: dict = {}
                report["checks"] = checks
                with recorder.at("check", "other_resource_token"):
                    checks["other_resource_token"] = await other_resource_token(
                        plain, flow, url, mode, recorder, context, setup
                    )
                if token is not None:
                    with recorder.at("check", "same_token_here"):
                        checks["same_token_here"] = await present(plain, url, token, mode, recorder)
                    with recorder.at("check", "same_token_at_other_resource"):
                        checks["same_token_at_other_resource"] = await present(plain, other_url, token, mode, recorder)
    except BaseException as error:  # noqa: BLE001 - every failure goes into the report
        if not isinstance(error, (Exception, BaseExceptionGroup)):
            raise
        errors.extend(describe(error))
        report["traceback"] = "".join(traceback.format_exception(error))[-8000:]
    if provider is not None:
        context = provider.context
        report["sdk"] = {
            "auth_server_url": context.auth_server_url,
            "issuer": None if context.oauth_metadata is None else str(context.oauth_metadata.issuer),
            "client_id": None if context.client_info is None else context.client_info.client_id,
            "requested_scope": context.client_metadata.scope,
            "token": None if context.current_tokens is None else fingerprint(context.current_tokens.access_token),
            "token_scope": None if context.current_tokens is None else context.current_tokens.scope,
        }
    classify(report)
    return report


def classify(report: dict) -> None:
    """Names each request by what it reached: mcp, prm, as_metadata, register, authorize,
    token, or other, from the authorization server metadata the run fetched."""
    endpoints: dict[str, str] = {}
    for entry in report["requests"]:
        document = entry.get("json")
        if entry.get("status") == 200 and isinstance(document, dict) and "token_endpoint" in document:
            for kind, key in (
                ("authorize", "authorization_endpoint"),
                ("token", "token_endpoint"),
                ("register", "registration_endpoint"),
                ("jwks", "jwks_uri"),
            ):
                if isinstance(document.get(key), str):
                    endpoints[document[key]] = kind
    report["endpoints"] = {kind: url for url, kind in endpoints.items()}
    mcp_urls = {report["url"], report["other_url"]}
    for entry in report["requests"]:
        url = without_query(entry["url"])
        path = urlparse(url).path
        if url in mcp_urls:
            kind = "mcp"
        elif path.startswith("/.well-known/oauth-protected-resource"):
            kind = "prm"
        elif "/.well-known/oauth-authorization-server" in path or "/.well-known/openid-configuration" in path:
            kind = "as_metadata"
        else:
            kind = endpoints.get(url, "other")
        entry["kind"] = kind


if __name__ == "__main__":
    if (
        len(sys.argv) not in (5, 6)
        or sys.argv[1] not in ("client_credentials", "authorization_code")
        or sys.argv[3] not in ("legacy", "2026-07-28")
    ):
        sys.exit(__doc__)
    flow, url, mode, other_url = sys.argv[1:5]
    timeout = float(sys.argv[5]) if len(sys.argv) == 6 else 60.0
    print(json.dumps(asyncio.run(run(flow, url, mode, other_url, timeout)), indent=1))
