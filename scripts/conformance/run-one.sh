#!/usr/bin/env bash
# One conformance run, called by scripts/conformance.sh (not meant to be run by hand,
# but it works: see the usage line). Starts a FRESH example server for this one
# scenario on a kernel-chosen loopback port (--addr 127.0.0.1:0; the server prints
# the real URL), runs the scenario against it with a timeout, stops the server, and
# leaves in OUT: checks.json (the suite's own file, when it wrote one), suite.log
# (the suite's console output), server.log, and status (exit code or "timeout",
# "no-server").
#
# A fresh server per scenario keeps scenarios independent: no session cap (the
# local preset caps anonymous sessions per principal) or leftover stream state from
# one scenario can change another's result, and the cost is a few milliseconds of
# server start-up.
#
# usage: run-one.sh NODE SUITE_DIR SERVER_BIN PRESET SCENARIO OUT TIMEOUT_SECS [TAG]
# (TAG prefixes the one progress line it prints on stderr.)
set -uo pipefail

node=$1 suite_dir=$2 server_bin=$3 preset=$4 scenario=$5 out=$6 timeout_secs=$7 tag=${8:-}
t0=$(date +%s%N)
mkdir -p "$out"
rm -f "$out/checks.json" "$out/status" "$out/suite.log" "$out/server.log" "$out/url"

. "$(dirname "$0")/server.sh"
progress() {
    local t1 summary
    t1=$(date +%s%N)
    summary=$(grep -ho 'Passed: [0-9]*/[0-9]*, [0-9]* failed, [0-9]* warnings' "$out/suite.log" 2>/dev/null | tail -n 1)
    printf '%s %-5s %-45s %6.1fs  %s\n' "$tag" "$preset" "$scenario" "$(((t1 - t0) / 1000000))e-3" \
        "${summary:-status $(cat "$out/status" 2>/dev/null || echo killed)}" >&2
}

start_server "$server_bin" "$preset" "$out"
if [ -z "$url" ]; then
    echo "no-server (did not start on 127.0.0.1)" >"$out/status"
    progress
    exit 0
fi

raw="$out/raw"
rm -rf "$raw"
(cd "$suite_dir" && exec timeout -k 5 "$timeout_secs" "$node" dist/index.js server \
    --url "$url" --scenario "$scenario" -o "$raw") >"$out/suite.log" 2>&1 &
suite=$!
wait "$suite"
rc=$?
suite=""
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo timeout >"$out/status"
else
    echo "$rc" >"$out/status"
fi
# The suite writes DIR/server-<scenario>-<timestamp>/checks.json.
found=$(find "$raw" -name checks.json -print 2>/dev/null | head -n 1)
[ -n "$found" ] && cp "$found" "$out/checks.json"
rm -rf "$raw"
progress
exit 0
