"""The alternative the load benchmark compares against: the official Python SDK
(`mcp` from PyPI) serving the same `echo` tool under uvicorn, with its own
DNS-rebinding protection and, with --jwks-url, its bearer auth (a TokenVerifier
checking ES256 JWTs from the example server's development issuer).

The same app serves both workloads of scripts/load.sh: the legacy session
(initialize, then `tools/call` with `Mcp-Session-Id`) and self-contained
2026-07-28 requests (`_meta` with the protocol version, no session), which
mcp 2.3.0's session manager hands to its single-exchange entry.

usage: bench_server.py PORT [--issuer URL --jwks-url URL --audience URI]
Prints "MCP endpoint: <url>" when ready (like examples/mcp_server/).
"""

import argparse

import jwt
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings


class JwksVerifier:
    """Verifies ES256 JWTs against a JWKS (keys cached by PyJWT)."""

    def __init__(self, issuer: str, jwks_url: str, audience: str):
        self.issuer, self.audience = issuer, audience
        self.keys = jwt.PyJWKClient(jwks_url, cache_keys=True)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=self.audience, issuer=self.issuer)
        except jwt.PyJWTError:
            return None
        return AccessToken(
            token=token,
            client_id=claims.get("client_id", ""),
            scopes=claims.get("scope", "").split(),
            expires_at=claims.get("exp"),
            resource=self.audience,
            subject=claims.get("sub"),
            claims={"iss": claims.get("iss")},
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--issuer")
    parser.add_argument("--jwks-url")
    parser.add_argument("--audience")
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/mcp"
    auth = {}
    if args.jwks_url:
        auth = {
            "token_verifier": JwksVerifier(args.issuer, args.jwks_url, args.audience),
            "auth": AuthSettings(issuer_url=args.issuer, resource_server_url=args.audience, required_scopes=["mcp"]),
        }
    server = MCPServer("python-bench", log_level="WARNING", **auth)

    @server.tool(description="Returns the text it is given.")
    def echo(text: str) -> str:
        return text

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=["127.0.0.1:*", "localhost:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*"],
    )
    app = server.streamable_http_app(transport_security=security)
    print(f"MCP endpoint: {url}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
