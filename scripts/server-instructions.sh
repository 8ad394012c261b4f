#!/usr/bin/env bash
# The load script's two workloads counted in instructions instead of seconds:
# the example server (--preset bare, local, remote) runs under valgrind's
# callgrind, a client sends one workload's request over one keep-alive
# connection, and the server's instructions per request are read from
# callgrind's counters, zeroed after a warm-up and dumped after COUNT
# requests. Exact and repeatable within ~1 % whatever else the machine does,
# where wrk's requests/s on this VM swing 25 % between runs of one binary;
# the ratio bare/guarded of these counts is the throughput ratio of a
# CPU-bound server whose guarded and bare code run at the same speed per
# instruction (it counts the whole server: hyper, rmcp, tokio, the guards).
#
#   scripts/server-instructions.sh [COUNT]        (default 1000)
#
# SERVER_INSTRUCTIONS_TARGETS="bare local" picks targets (default: bare local
# remote local-without-sse-resume): a preset, or a preset followed by
# -without-sse-resume (the same stack without resumable SSE, so the difference
# is what storing events before sending them costs). LOAD_SERVER_BIN=path
# measures another build of the example server.
# Writes target/server-instructions/<workload>-<target>.callgrind (the dumps,
# for callgrind_annotate) and prints one Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
warmup=200
out=target/server-instructions
mkdir -p "$out"

. scripts/mcp-workloads.sh
need callgrind_control valgrind
need curl curl
# Same flags as load.sh and smoke-main-job.sh: one build serves all three.
cargo build --release --locked --features remote --example mcp_server
server_bin="${LOAD_SERVER_BIN:-${CARGO_TARGET_DIR:-target}/release/examples/mcp_server}"

client=scripts/server_instructions_client.py

server=""
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; }
trap cleanup EXIT

# Sends the workload's request $3 times to $2 (headers and body from
# `request`), checking every answer.
send() {
    python3 "$client" "$2" "$3" "${headers[@]}" -- "$body" \
        || { echo "server-instructions.sh: $1 did not answer the echo's result" >&2; exit 1; }
}

# Instructions per request of target $1 in workload $2.
measure() {
    local target=$1 workload=$2 log="$out/$2-$1.log" dump="$out/$2-$1.callgrind"
    local preset=${target%-without-sse-resume}
    local args=(--addr "127.0.0.1:$(free_port)" --preset "$preset") token="" session="" url=""
    [ "$preset" != "$target" ] && args+=(--without-sse-resume)
    # The example's own connection-closing layer (stream_close.rs, for the
    # conformance suite's reconnection test) wraps only guarded presets:
    # left out, so bare and guarded differ by the guards alone.
    [ "$preset" != bare ] && args+=(--without-stream-close)
    [ "$preset" = remote ] && args+=(--token-out "$out/token" --rate-limit 100000000)
    : >"$log"
    # Counters start at the warm-up's end (callgrind_control -z), so the
    # server's start-up is never in them.
    valgrind --tool=callgrind --callgrind-out-file="$dump.%p" "$server_bin" "${args[@]}" >>"$log" 2>&1 &
    server=$!
    for _ in $(seq 1 600); do
        url=$(sed -n 's/^MCP endpoint: //p' "$log" | head -1)
        [ -n "$url" ] && break
        sleep 0.2
    done
    [ -n "$url" ] || { echo "server-instructions.sh: $preset did not start:" >&2; cat "$log" >&2; exit 1; }
    [ "$preset" = remote ] && token=$(cat "$out/token")
    [ "$workload" = legacy ] && [ "$preset" != bare ] && session=$(open_session "$url" "$token")
    request "$workload" "$session" "$token"
    send "$preset" "$url" "$warmup"
    callgrind_control -z "$server" >/dev/null 2>&1
    send "$preset" "$url" "$count"
    callgrind_control -d "$server" >/dev/null 2>&1
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
    # The dump callgrind_control asked for is the file with a part number;
    # its "totals:" line is every thread's instructions since the zeroing.
    local part
    part=$(ls -t "$dump".*.1 | head -1)
    mv "$part" "$dump"
    rm -f "$dump".*
    local total
    total=$(sed -n 's/^totals: *//p' "$dump" | awk '{print $1}')
    echo $((total / count))
}

targets=${SERVER_INSTRUCTIONS_TARGETS:-bare local remote local-without-sse-resume}
printf '| workload | target | instructions per request | over bare | bare / target |\n|---|---|---:|---:|---:|\n'
for workload in legacy stateless; do
    bare=""
    for target in $targets; do
        per=$(measure "$target" "$workload")
        [ "$target" = bare ] && bare=$per
        if [ -n "$bare" ]; then
            python3 -c "import sys; w, p, n, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]); print(f'| {w} | {p} | {n:,} | {n-b:+,} | {b/n:.2f} |')" "$workload" "$target" "$per" "$bare"
        else
            printf '| %s | %s | %s | | |\n' "$workload" "$target" "$per"
        fi
    done
done
