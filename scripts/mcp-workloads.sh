# Sourced by load.sh and server-instructions.sh: the two workloads' requests
# (legacy session `tools/call`, stateless 2026-07-28 `tools/call`) and how a
# session is opened, so both scripts send exactly the same bytes.
# shellcheck shell=bash

accept='Accept: application/json, text/event-stream'
initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
legacy_call='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
stateless_call='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'

# Opens a session (initialize + initialized) at $1 with optional token $2;
# prints its id (empty where the target mints none).
open_session() {
    local auth=()
    [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
    local session
    session=$(curl -s -m 10 -D - -o /dev/null "$1" "${auth[@]}" -H 'Content-Type: application/json' -H "$accept" \
        -d "$initialize" | tr -d '\r' | sed -n 's/^mcp-session-id: //Ip')
    curl -s -m 10 -o /dev/null "$1" "${auth[@]}" -H 'Content-Type: application/json' -H "$accept" \
        -H "Mcp-Session-Id: $session" -H 'MCP-Protocol-Version: 2025-11-25' \
        -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
    echo "$session"
}

# Sets $body and $headers (an array of "Name: value") for workload $1 with
# session $2 and token $3 (both may be empty): what curl checks and wrk sends.
request() {
    local workload=$1 session=$2 token=$3
    headers=('Content-Type: application/json' "$accept")
    case "$workload" in
        legacy)
            body=$legacy_call
            headers+=('MCP-Protocol-Version: 2025-11-25')
            [ -n "$session" ] && headers+=("Mcp-Session-Id: $session")
            ;;
        stateless)
            body=$stateless_call
            headers+=('MCP-Protocol-Version: 2026-07-28' 'Mcp-Method: tools/call' 'Mcp-Name: echo')
            ;;
    esac
    [ -n "$token" ] && headers+=("Authorization: Bearer $token")
    return 0
}

