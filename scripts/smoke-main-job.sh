#!/usr/bin/env bash
# Starts the README's main job (examples/mcp_server/, local preset) on a free
# loopback port and checks, with curl, that it mints a session on initialize and answers a ping in it (not without it), refuses a DNS-rebinding one and a stateless-era
# request whose Mcp-Method disagrees with its body, and grants a local browser's
# CORS preflight.
set -euo pipefail
cd "$(dirname "$0")/.."

# The README's command: the example serves both presets, so it needs `remote`.
# Same flags in conformance.sh and load.sh, so one release binary serves all.
cargo build --release --locked --features remote --example mcp_server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"${CARGO_TARGET_DIR:-target}/release/examples/mcp_server" --addr "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT

fail() { echo "smoke test failed: $*" >&2; cat "$log" >&2; exit 1; }
up=""
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then up=yes; break; fi
    kill -0 $server 2>/dev/null || fail "the server exited"
    sleep 0.1
done
[ -n "$up" ] || fail "the server did not listen on 127.0.0.1:$port within 10 s"

ping='{"jsonrpc":"2.0","id":1,"method":"ping"}'
accept='Accept: application/json, text/event-stream'
initialize='{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"smoke","version":"1"}}}'
session=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/mcp" \
    -H 'Content-Type: application/json' -H "$accept" -d "$initialize" | tr -d '\r' \
    | sed -n 's/^mcp-session-id: //Ip' || true)
local_status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/mcp" \
    -H 'Content-Type: application/json' -H "$accept" -H "Mcp-Session-Id: $session" -d "$ping" || true)
curl -s -o /dev/null "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' -H "$accept" \
    -H "Mcp-Session-Id: $session" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' || true
echo_reply=$(curl -s "http://127.0.0.1:$port/mcp" -H 'Content-Type: application/json' -H "$accept" \
    -H "Mcp-Session-Id: $session" -H 'MCP-Protocol-Version: 2025-06-18' \
    -d '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"smoke says hi"}}}' || true)
sessionless_status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/mcp" \
    -H 'Content-Type: application/json' -H "$accept" -d "$ping" || true)
mismatch=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$port/mcp" \
    -H 'Content-Type: application/json' -H "$accept" -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: prompts/list' \
    -d '{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}' || true)
mismatch_status=${mismatch##*$'\n'}
rebinding=$(curl -s -w '\n%{http_code}' "http://127.0.0.1:$port/mcp" \
    -H "Host: attacker.example:$port" -H 'Content-Type: application/json' -H "$accept" -d "$ping" || true)
rebinding_status=${rebinding##*$'\n'}

preflight=$(curl -s -D - -o /dev/null -X OPTIONS "http://127.0.0.1:$port/mcp" \
    -H 'Origin: http://localhost:5173' -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: content-type,mcp-protocol-version' | tr -d '\r' || true)

[ -n "$session" ] || fail "initialize returned no Mcp-Session-Id"
[ "$local_status" = 200 ] || fail "a local ping in the session got $local_status, not 200"
case "$echo_reply" in
    *'"text":"smoke says hi"'*) ;;
    *) fail "tools/call echo in the session did not return the text: $echo_reply" ;;
esac
[ "$sessionless_status" = 400 ] || fail "a ping without Mcp-Session-Id got $sessionless_status, not 400"
[ "$rebinding_status" = 403 ] || fail "a rebinding ping got $rebinding_status, not 403"
[ "$mismatch_status" = 400 ] || fail "a tools/list whose Mcp-Method says prompts/list got $mismatch_status, not 400"
case "$mismatch" in
    *'"code":-32020'*'Mcp-Method'*) ;;
    *) fail "the mirror rejection is not a -32020 error naming Mcp-Method: $mismatch" ;;
esac
case "$rebinding" in
    *'"code":-32000'*'attacker.example'*) ;;
    *) fail "the rebinding rejection is not a JSON-RPC error naming the host: $rebinding" ;;
esac
grep -q "origin guard rejected a request" "$log" || fail "the rejection was not logged"
grep -qi '^access-control-allow-origin: http://localhost:5173$' <<<"$preflight" \
    || fail "a browser preflight from http://localhost:5173 was not granted: $preflight"
grep -qi '^access-control-allow-headers: content-type,mcp-protocol-version$' <<<"$preflight" \
    || fail "the preflight did not grant the MCP request headers: $preflight"
echo "main job: initialize minted a session, ping and tools/call echo in it answered, ping without it 400, rebinding ping 403 with a JSON-RPC error, rejection logged, header-body mismatch 400 (-32020), browser preflight granted"
