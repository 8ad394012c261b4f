# Sourced by load.sh and server-instructions.sh: the two workloads' requests
# (legacy session `tools/call`, stateless 2026-07-28 `tools/call`) and how a
# session is opened, so both scripts send exactly the same bytes; and what
# both need to set up (a Debian package, a free loopback port).
# shellcheck shell=bash

# Installs Debian package $2 when command $1 is missing.
need() {
    local script
    script=$(basename "$0")
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "$script: installing the Debian package $2 (for $1)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$2" >/dev/null \
        || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$2" >/dev/null; }
    command -v "$1" >/dev/null 2>&1 || { echo "$script: $1 is missing; install the Debian package $2" >&2; exit 1; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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

