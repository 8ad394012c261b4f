#!/usr/bin/env bash
# Drives one example server the way scripts/load.sh does, loopback only and
# bounded: opens a session (initialize + notifications/initialized with curl),
# then wrk POSTs `tools/call echo` in it (1 thread, CONNECTIONS connections,
# DURATION seconds after a 1 s warm-up). Prints "PRESET requests/s p50_us p99_us".
#
#   docs/perf/sse-drive.sh BINARY PRESET [DURATION] [PERF_OUT]
#
# With PERF_OUT, the measured run is recorded with
# `perf record --call-graph dwarf` into PERF_OUT (the server only): CPU
# samples, or with EVENTS=... those events (e.g. the system calls that wake
# another thread: EVENTS=syscalls:sys_enter_write,syscalls:sys_enter_futex). With
# STAT=1, `perf stat` counts the server's CPU time, context switches and
# write/futex system calls during the measured run, printed per request.
set -euo pipefail
bin=$1 preset=$2 duration=${3:-5} perf_out=${4:-}
connections=${CONNECTIONS:-32}
work=$(mktemp -d /tmp/sse-drive.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --addr "127.0.0.1:$port" --preset "$preset" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$work/server.log" "$KEEP"; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 100); do
    url=$(sed -n 's/^MCP endpoint: //p' "$work/server.log" | head -1)
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log" >&2; exit 1; }

accept='Accept: application/json, text/event-stream'
session=""
if [ "$preset" != bare ]; then
    session=$(curl -s -D - -o /dev/null "$url" -H 'Content-Type: application/json' -H "$accept" \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' \
        | tr -d '\r' | sed -n 's/^mcp-session-id: //Ip')
    curl -s -o /dev/null "$url" -H 'Content-Type: application/json' -H "$accept" \
        -H "Mcp-Session-Id: $session" -H 'MCP-Protocol-Version: 2025-11-25' \
        -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
fi
{
    echo 'wrk.method = "POST"'
    echo "wrk.body = '{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"hello\"}}}'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    echo 'wrk.headers["Accept"] = "application/json, text/event-stream"'
    echo 'wrk.headers["MCP-Protocol-Version"] = "2025-11-25"'
    [ -n "$session" ] && echo "wrk.headers[\"Mcp-Session-Id\"] = \"$session\""
    cat <<'LUA'
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.0f %.0f %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
} >"$work/call.lua"
wrk -t1 -c"$connections" -d1s -s "$work/call.lua" "$url" >/dev/null
recorder=""
if [ -n "$perf_out" ]; then
    events=(-F "${FREQ:-999}")
    [ -n "${EVENTS:-}" ] && events=(-e "$EVENTS")
    perf record -q --call-graph dwarf,16384 "${events[@]}" -p "$server" -o "$perf_out" >/dev/null 2>&1 &
    recorder=$!
    sleep 0.5
elif [ "${STAT:-}" = 1 ]; then
    perf stat -x, -o "$work/stat" -e task-clock,context-switches,syscalls:sys_enter_write,syscalls:sys_enter_futex,syscalls:sys_enter_writev -p "$server" >/dev/null 2>&1 &
    recorder=$!
    sleep 0.2
fi
result=$(wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$work/call.lua" "$url" | sed -n 's/^RESULT //p')
if [ -n "$recorder" ]; then
    kill -INT "$recorder"
    wait "$recorder" 2>/dev/null || true
fi
read -r requests micros p50 p99 bad_status socket_errors <<<"$result"
if [ "$bad_status" != 0 ] || [ "$socket_errors" != 0 ]; then
    echo "sse-drive: $preset: $bad_status non-2xx, $socket_errors socket errors" >&2
    exit 1
fi
stat=""
if [ -f "$work/stat" ]; then
    # Per request: CPU ms, context switches, write, futex, writev calls.
    stat=$(awk -F, -v n="$requests" '$1 ~ /^[0-9.]+$/ { printf " %s=%.3f", $3, $1 / n }' "$work/stat")
fi
python3 -c "print(f'$preset {($requests/($micros/1e6)):.0f} $p50 $p99$stat')"
