#!/usr/bin/env bash
# Instructions per request each guard scenario of benches/guard_overhead.rs
# adds over its bare handler, counted by valgrind's callgrind: exact and
# repeatable whatever else the machine is doing, unlike times.
#
#   scripts/guard-instructions.sh ["scenario name part" ...]
#
# For each scenario, runs the bench binary twice under callgrind with
# GUARD_OVERHEAD_PROFILE (2 200 requests: 200 warm-up and 2 000 counted),
# once guarded and once with the bare handler (`bare:<name>`); the
# difference of the two totals divided by 2 200 is what the guard costs per
# request (everything else the process does is the same in both runs).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q valgrind >/dev/null
fi

bin=$(cargo bench --locked --features remote --bench guard_overhead --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*guard_overhead[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "guard-instructions.sh: the bench binary was not built" >&2; exit 1; }

if [ "$#" -eq 0 ]; then
    set -- "origin guard" "cors (simple request)" "cors (preflight)" \
        "protocol guard (2025-11-25)" "protocol guard (2026-07-28)" \
        "bearer auth (cached token)" "session lookup" "sse-resume" \
        "McpGuard::local() stack" "McpGuard::remote() stack (cached token)" \
        "local() stack, 2026-07-28" "remote() stack, 2026-07-28"
fi

# Total instructions of one profiled run (the last "I refs" line is the
# bench process itself).
instructions() {
    GUARD_OVERHEAD_PROFILE="$1" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --bench 2>&1 \
        | sed -n 's/.*I *refs: *//p' | tail -1 | tr -d ,
}

printf '| scenario | guarded | bare handler | over bare |\n|---|---:|---:|---:|\n'
for name in "$@"; do
    guarded=$(instructions "$name")
    bare=$(instructions "bare:$name")
    python3 -c "import sys; g, b = int(sys.argv[2]), int(sys.argv[3]); print(f'| {sys.argv[1]} | {g/2200:,.0f} | {b/2200:,.0f} | {(g-b)/2200:,.0f} |')" \
        "$name" "$guarded" "$bare"
done
