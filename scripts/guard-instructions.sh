#!/usr/bin/env bash
# Instructions per request each guard scenario of benches/guard_overhead.rs
# adds over its bare handler, counted by valgrind's callgrind: exact and
# repeatable whatever else the machine is doing, unlike times.
#
#   scripts/guard-instructions.sh ["scenario name" ...]
#   GUARD_OVERHEAD_BIN=<bench binary> scripts/guard-instructions.sh ...
#   GUARD_INSTRUCTIONS_DUMPS=<dir> scripts/guard-instructions.sh ...
#
# With GUARD_INSTRUCTIONS_DUMPS, the callgrind dumps are kept there
# (<scenario>.guarded.callgrind and <scenario>.bare.callgrind) for
# callgrind_annotate or scripts/guard-breakdown.py, which splits a guard's
# instructions into its checks' and the composition's.
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

# GUARD_OVERHEAD_BIN: a bench binary built elsewhere (another commit's
# worktree, for a before/after pair); by default this tree's, built here.
bin=${GUARD_OVERHEAD_BIN:-$(cargo bench --locked --features remote --bench guard_overhead --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*guard_overhead[^"]*\)".*/\1/p' | tail -1)}
[ -x "$bin" ] || { echo "guard-instructions.sh: the bench binary was not built" >&2; exit 1; }

if [ "$#" -eq 0 ]; then
    set -- "origin guard" "cors (simple request)" "cors (preflight)" \
        "protocol guard (2025-11-25)" "protocol guard (2026-07-28)" \
        "bearer auth (cached token)" "session lookup" "sse-resume" \
        "McpGuard::local() stack" "McpGuard::remote() stack (cached token)" \
        "local() stack, 2026-07-28" "remote() stack, 2026-07-28"
fi

# One profiled run: its total instructions (the last "I refs" line is the
# bench process itself) and the allocations per request the bench printed
# (the counting allocator, exact), space-separated.
profile() {
    local out dump=/dev/null
    if [ -n "${GUARD_INSTRUCTIONS_DUMPS:-}" ]; then
        mkdir -p "$GUARD_INSTRUCTIONS_DUMPS"
        # "bare:<name>" -> <name>.bare, "<name>" -> <name>.guarded; the name
        # reduced to a file name.
        local side=guarded name=$1
        case $name in bare:*) side=bare name=${name#bare:} ;; esac
        dump="$GUARD_INSTRUCTIONS_DUMPS/$(tr -c 'A-Za-z0-9\n' '-' <<<"$name" | tr -s '-' | sed 's/-$//').$side.callgrind"
    fi
    out=$(GUARD_OVERHEAD_PROFILE="$1" valgrind --tool=callgrind --callgrind-out-file="$dump" "$bin" --bench 2>&1)
    printf '%s %s\n' "$(sed -n 's/.*I *refs: *//p' <<<"$out" | tail -1 | tr -d ,)" \
        "$(sed -n 's/.*: \([0-9.]*\) allocations per request/\1/p' <<<"$out" | tail -1)"
}

printf '| scenario | guarded | bare handler | instructions over bare | allocations over bare |\n|---|---:|---:|---:|---:|\n'
for name in "$@"; do
    read -r guarded guarded_allocations <<<"$(profile "$name")"
    read -r bare bare_allocations <<<"$(profile "bare:$name")"
    python3 -c "import sys; g, b, ga, ba = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]); print(f'| {sys.argv[1]} | {g/2200:,.0f} | {b/2200:,.0f} | {(g-b)/2200:,.0f} | {ga-ba:+.1f} |')" \
        "$name" "$guarded" "$bare" "$guarded_allocations" "$bare_allocations"
done
