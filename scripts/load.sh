#!/usr/bin/env bash
# Load benchmark, loopback only, bounded: the example server with --preset bare,
# rmcp-checks (rmcp's own Host/Origin checks), local and remote; a minimal
# hyper `service_fn` answering the same result without rmcp
# (examples/hyper_reference.rs: how far rmcp itself is from the machine's
# limit); and the official Python SDK under uvicorn (DNS-rebinding
# protection; then also bearer auth). Each is driven by wrk for DURATION
# seconds (default 10) with CONNECTIONS connections (default 32) in two
# workloads, one after the other against the same server process:
#
# - legacy: `tools/call echo` inside a 2025-11-25 session (initialize +
#   notifications/initialized first, where the target mints a session id);
# - stateless: a self-contained 2026-07-28 `tools/call echo`, `params._meta`
#   carrying the protocol version and client capabilities, headers
#   `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name`; no initialize, no
#   session. The Python SDK (mcp 2.3.0) serves this era too (its
#   single-exchange entry), so its rows are in both tables.
#
#   scripts/load.sh [DURATION]
#
# LOAD_TARGETS="bare local remote" runs only those targets (bare must be one:
# the ratios are to it); LOAD_SERVER_BIN=path runs another build of the
# example server (e.g. an earlier commit's, for a before/after pair run
# alternately on the same machine).
#
# Before each wrk run, one request of that workload must answer 2xx with the
# echo's JSON-RPC result in its body; wrk's run then fails on any response
# with a status of 400 or more, or on any socket error. Prints one Markdown
# table per workload (requests/s, p50, p99, ratio to bare in that workload)
# and writes target/load/results.md and target/load/throughput.png.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${CONNECTIONS:-32}
out=target/load
mkdir -p "$out"

# The workloads' requests, session opening, `need` and `free_port` (shared
# with server-instructions.sh).
. scripts/mcp-workloads.sh

need wrk wrk
need curl curl
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt matplotlib
# Same flags as smoke-main-job.sh: the mcp_server binary it built is reused as
# is; the hyper reference shares the build (it uses none of the features).
cargo build --release --locked --features remote --example mcp_server --example hyper_reference
server_bin="${LOAD_SERVER_BIN:-${CARGO_TARGET_DIR:-target}/release/examples/mcp_server}"
hyper_bin="${CARGO_TARGET_DIR:-target}/release/examples/hyper_reference"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a server command in the background, waits for its "MCP endpoint:"
# line and sets $url to it (not a $(...) subshell: the pid must be ours).
# The log is emptied here, not by the child's redirection: the child may not
# have run yet when the loop first reads it, and a previous run's line would
# send this run to a dead port.
start() {
    local name=$1 log="$out/$1.log"; shift
    : >"$log"
    "$@" >>"$log" 2>&1 &
    pids+=($!)
    url=""
    for _ in $(seq 1 100); do
        url=$(sed -n 's/^MCP endpoint: //p' "$log" | head -1)
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    echo "load.sh: $name did not start:" >&2
    cat "$log" >&2
    exit 1
}

# Stops the server started last.
stop() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; }

# Sends the workload's request once: a 2xx status alone is not enough, the
# body must hold the echo's JSON-RPC result for id 7.
check() {
    local label=$1 url=$2 curl_headers=() header status
    for header in "${headers[@]}"; do curl_headers+=(-H "$header"); done
    : >"$out/$label.check"
    status=$(curl -s -m 10 -o "$out/$label.check" -w '%{http_code}' "$url" "${curl_headers[@]}" -d "$body") || status=000
    if [[ $status != 2?? ]] || ! grep -q '"id":7,"result":{' "$out/$label.check" \
        || ! grep -q '"text":"hello"' "$out/$label.check" || grep -q '"isError":true' "$out/$label.check"; then
        echo "load.sh: $label answered $status, not the echo's result:" >&2
        cat "$out/$label.check" >&2
        exit 1
    fi
}

# Drives $3 (URL) for target $1 in workload $2 with wrk; session $4 and token
# $5 optional. Appends "workload target requests/s p50 p99" to raw.txt.
drive() {
    local name=$1 workload=$2 url=$3 session=${4:-} token=${5:-}
    local label="$workload-$name" header
    request "$workload" "$session" "$token"
    check "$label" "$url"
    local script="$out/$label.lua"
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = '$body'"
        for header in "${headers[@]}"; do
            echo "wrk.headers[\"${header%%: *}\"] = \"${header#*: }\""
        done
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
    local result requests micros p50 p99 bad_status socket_errors
    result=$(wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$script" "$url" | sed -n 's/^RESULT //p')
    read -r requests micros p50 p99 bad_status socket_errors <<<"$result"
    if [ "$bad_status" != 0 ] || [ "$socket_errors" != 0 ]; then
        echo "load.sh: $name ($workload) answered $bad_status non-2xx responses and had $socket_errors socket errors" >&2
        exit 1
    fi
    python3 -c "print(f'$workload $name {($requests/($micros/1e6)):.0f} $p50 $p99')" >>"$out/raw.txt"
}

targets=" ${LOAD_TARGETS:-bare rmcp-checks local remote hyper-service_fn python-sdk python-sdk+auth} "
wants() { [[ "$targets" == *" $1 "* ]]; }
wants bare || { echo "load.sh: LOAD_TARGETS must include bare (the ratios are to it)" >&2; exit 2; }

: >"$out/raw.txt"
for preset in bare rmcp-checks local remote; do
    wants "$preset" || continue
    token_file="$out/token"
    args=(--addr "127.0.0.1:$(free_port)" --preset "$preset")
    [ "$preset" = remote ] && args+=(--token-out "$token_file" --rate-limit 100000000)
    # Guarded presets without the example's own connection-closing layer
    # (stream_close.rs), which bare lacks: the difference is the guards.
    case "$preset" in local|remote) args+=(--without-stream-close) ;; esac
    start "$preset" "$server_bin" "${args[@]}"
    token=""
    [ "$preset" = remote ] && token=$(cat "$token_file")
    session=""
    case "$preset" in local|remote) session=$(open_session "$url" "$token") ;; esac
    drive "$preset" legacy "$url" "$session" "$token"
    drive "$preset" stateless "$url" "" "$token"
    stop
done

# No sessions, no guard, no rmcp: the same answers from plain hyper.
if wants hyper-service_fn; then
    start hyper-service_fn "$hyper_bin" --addr "127.0.0.1:$(free_port)"
    drive hyper-service_fn legacy "$url"
    drive hyper-service_fn stateless "$url"
    stop
fi

# The Python SDK: first with its DNS-rebinding protection, then with its bearer
# auth verifying the example's development-issuer tokens as well.
if wants python-sdk; then
    start python .venv/bin/python tests/python/bench_server.py "$(free_port)"
    py_url=$url
    drive python-sdk legacy "$py_url" "$(open_session "$py_url")"
    drive python-sdk stateless "$py_url"
    stop
fi
if wants python-sdk+auth; then
    start issuer "$server_bin" --addr "127.0.0.1:$(free_port)" --preset remote --token-out "$out/token"
    issuer_url=$url
    issuer_origin=${issuer_url%/mcp}
    start python-auth .venv/bin/python tests/python/bench_server.py "$(free_port)" \
        --issuer "$issuer_origin/dev-issuer" --jwks-url "$issuer_origin/dev-issuer/jwks.json" --audience "$issuer_url"
    py_url=$url
    token=$(cat "$out/token")
    drive python-sdk+auth legacy "$py_url" "$(open_session "$py_url" "$token")" "$token"
    drive python-sdk+auth stateless "$py_url" "" "$token"
fi

.venv/bin/python - "$out" "$duration" "$connections" <<'PY'
import sys
out, duration, connections = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [line.split() for line in open(f"{out}/raw.txt")]
workloads = {
    "legacy": "`tools/call echo` in a 2025-11-25 session",
    "stateless": "2026-07-28 `tools/call echo`, `_meta` and `Mcp-Method`/`Mcp-Name`, no session",
}
# Ratios are within a workload: each against bare in the same workload.
bare = {workload: float(rps) for workload, name, rps, *_ in rows if name == "bare"}
tables = []
for workload, title in workloads.items():
    lines = [f"{workload}: wrk, {connections} connections, {duration} s per target after a 2 s warm-up, {title}:", "",
             "| target | requests/s | p50 | p99 | ratio to bare |", "|---|---:|---:|---:|---:|"]
    for row_workload, name, rps, p50, p99 in rows:
        if row_workload == workload:
            lines.append(f"| {name} | {float(rps):,.0f} | {float(p50)/1000:.2f} ms | {float(p99)/1000:.2f} ms "
                         f"| {float(rps)/bare[workload]:.2f} |")
    tables.append("\n".join(lines))
text = "\n\n".join(tables)
print(text)
open(f"{out}/results.md", "w").write(text + "\n")
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
names = list(dict.fromkeys(name for _, name, *_ in rows))
rps = {(workload, name): float(value) for workload, name, value, *_ in rows}
fig, ax = plt.subplots(figsize=(10, 4.5))
width = 0.4
for offset, (workload, color) in zip((-width / 2, width / 2), (("legacy", "#4a7"), ("stateless", "#47a"))):
    xs = [i + offset for i, name in enumerate(names) if (workload, name) in rps]
    values = [rps[(workload, name)] for name in names if (workload, name) in rps]
    bars = ax.bar(xs, values, width, label=workload, color=color)
    ax.bar_label(bars, labels=[f"{v:,.0f}\n({v / bare[workload]:.2f}x)" for v in values], fontsize=7)
ax.set_xticks(range(len(names)), names, rotation=15)
ax.set_ylabel("requests/s")
ax.set_title(f"tools/call echo, loopback, {connections} connections, {duration} s (ratio to bare per workload)")
ax.legend()
ax.margins(y=0.2)
plt.tight_layout()
plt.savefig(f"{out}/throughput.png", dpi=110)
print(f"plot: {out}/throughput.png")
PY
