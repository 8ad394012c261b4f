#!/usr/bin/env bash
# Load benchmark, loopback only, bounded: the example server with --preset bare,
# rmcp-checks (rmcp's own Host/Origin checks), local and remote, and the
# official Python SDK under uvicorn (DNS-rebinding protection; then also bearer
# auth), each driven by wrk for DURATION seconds (default 10) with CONNECTIONS
# connections (default 32) sending `tools/call echo` inside a session.
#
#   scripts/load.sh [DURATION]
#
# Prints a Markdown table (requests/s, p50, p99, ratio to bare) and writes
# target/load/results.md and target/load/throughput.png.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${CONNECTIONS:-32}
out=target/load
mkdir -p "$out"

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "load.sh: installing the Debian package $2 (for $1)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$2" >/dev/null \
        || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$2" >/dev/null; }
    command -v "$1" >/dev/null 2>&1 || { echo "load.sh: $1 is missing; install the Debian package $2" >&2; exit 1; }
}
need wrk wrk
need curl curl
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt matplotlib
# Same flags as smoke-main-job.sh: the binary it built is reused as is.
cargo build --release --locked --features remote --example mcp_server
server_bin="${CARGO_TARGET_DIR:-target}/release/examples/mcp_server"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a server command in the background, waits for its "MCP endpoint:"
# line and sets $url to it (not a $(...) subshell: the pid must be ours).
start() {
    local log="$out/$1.log"; shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
    url=""
    for _ in $(seq 1 100); do
        url=$(sed -n 's/^MCP endpoint: //p' "$log" | head -1)
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    echo "load.sh: $1 did not start:" >&2
    cat "$log" >&2
    exit 1
}

accept='Accept: application/json, text/event-stream'
initialize='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}'
call='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'

# Opens a session (initialize + initialized) at $1 with optional token $2; prints its id.
open_session() {
    local auth=()
    [ -n "${2:-}" ] && auth=(-H "Authorization: Bearer $2")
    local session
    session=$(curl -s -D - -o /dev/null "$1" "${auth[@]}" -H 'Content-Type: application/json' -H "$accept" \
        -d "$initialize" | tr -d '\r' | sed -n 's/^mcp-session-id: //Ip')
    curl -s -o /dev/null "$1" "${auth[@]}" -H 'Content-Type: application/json' -H "$accept" \
        -H "Mcp-Session-Id: $session" -H 'MCP-Protocol-Version: 2025-11-25' \
        -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
    echo "$session"
}

# Drives $2 (URL) for the target named $1 with wrk; session $3 and token $4 optional.
drive() {
    local name=$1 url=$2 session=${3:-} token=${4:-}
    local script="$out/$name.lua"
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = '$call'"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        echo 'wrk.headers["Accept"] = "application/json, text/event-stream"'
        echo 'wrk.headers["MCP-Protocol-Version"] = "2025-11-25"'
        [ -n "$session" ] && echo "wrk.headers[\"Mcp-Session-Id\"] = \"$session\""
        [ -n "$token" ] && echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
        cat <<'LUA'
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.0f %.0f %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
    } >"$script"
    # A short warm-up, then the measured run.
    wrk -t1 -c"$connections" -d2s -s "$script" "$url" >/dev/null
    local result
    result=$(wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$script" "$url" | sed -n 's/^RESULT //p')
    read -r requests micros p50 p99 bad_status socket_errors <<<"$result"
    if [ "$bad_status" != 0 ] || [ "$socket_errors" != 0 ]; then
        echo "load.sh: $name answered $bad_status non-2xx responses and had $socket_errors socket errors" >&2
        exit 1
    fi
    python3 -c "print(f'$name {($requests/($micros/1e6)):.0f} $p50 $p99')" >>"$out/raw.txt"
}

: >"$out/raw.txt"
for preset in bare rmcp-checks local remote; do
    token_file="$out/token"
    args=(--addr "127.0.0.1:$(free_port)" --preset "$preset")
    [ "$preset" = remote ] && args+=(--token-out "$token_file" --rate-limit 100000000)
    start "$preset" "$server_bin" "${args[@]}"
    token=""
    [ "$preset" = remote ] && token=$(cat "$token_file")
    session=""
    case "$preset" in local|remote) session=$(open_session "$url" "$token") ;; esac
    drive "$preset" "$url" "$session" "$token"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
done

# The Python SDK: first with its DNS-rebinding protection, then with its bearer
# auth verifying the example's development-issuer tokens as well.
start issuer "$server_bin" --addr "127.0.0.1:$(free_port)" --preset remote --token-out "$out/token"
issuer_url=$url
issuer_origin=${issuer_url%/mcp}
start python .venv/bin/python tests/python/bench_server.py "$(free_port)"
py_url=$url
drive "python-sdk" "$py_url" "$(open_session "$py_url")"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
start python-auth .venv/bin/python tests/python/bench_server.py "$(free_port)" \
    --issuer "$issuer_origin/dev-issuer" --jwks-url "$issuer_origin/dev-issuer/jwks.json" --audience "$issuer_url"
py_url=$url
token=$(cat "$out/token")
drive "python-sdk+auth" "$py_url" "$(open_session "$py_url" "$token")" "$token"

.venv/bin/python - "$out" "$duration" "$connections" <<'PY'
import sys
out, duration, connections = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [line.split() for line in open(f"{out}/raw.txt")]
bare = float(rows[0][1])
lines = [f"wrk, {connections} connections, {duration} s per target after a 2 s warm-up, `tools/call echo` in a session:", "",
         "| target | requests/s | p50 | p99 | ratio to bare |", "|---|---:|---:|---:|---:|"]
for name, rps, p50, p99 in rows:
    lines.append(f"| {name} | {float(rps):,.0f} | {float(p50)/1000:.2f} ms | {float(p99)/1000:.2f} ms | {float(rps)/bare:.2f} |")
table = "\n".join(lines)
print(table)
open(f"{out}/results.md", "w").write(table + "\n")
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
names = [row[0] for row in rows]
values = [float(row[1]) for row in rows]
fig, ax = plt.subplots(figsize=(8, 4))
colors = {"bare": "#888", "rmcp-checks": "#b84", "local": "#4a7", "remote": "#4a7"}
bars = ax.bar(names, values, color=[colors.get(name, "#47a") for name in names])
ax.bar_label(bars, labels=[f"{v:,.0f}\n({v / bare:.2f}x)" for v in values], fontsize=8)
ax.set_ylabel("requests/s")
ax.set_title(f"tools/call echo, loopback, {connections} connections, {duration} s")
ax.margins(y=0.2)
plt.xticks(rotation=15)
plt.tight_layout()
plt.savefig(f"{out}/throughput.png", dpi=110)
print(f"plot: {out}/throughput.png")
PY
