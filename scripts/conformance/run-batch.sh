#!/usr/bin/env bash
# One batch run, called by scripts/conformance.sh: ONE fresh example server on a
# kernel-chosen loopback port (--addr 127.0.0.1:0; the server prints the real URL)
# and ONE suite process running every server scenario (`server --suite all`) against
# it, with a timeout for the whole batch. Then each scenario's checks.json is
# copied to OUT/<scenario>/checks.json (with status "0"); scenarios the batch did
# not finish get no checks.json, and conformance.sh runs them again on their own.
# OUT/batch/ keeps the suite's console output (suite.log) and the server's log.
#
# Why a batch: one Node start-up per suite version and preset instead of one per
# scenario (~0.6 s of CPU each, ~200 runs: minutes on a 2-core machine), and the
# results were measured identical to one fresh server per scenario. Scenarios share
# the server, so any check that does not pass in the batch is re-run alone on a
# fresh server by conformance.sh (run-one.sh), and that result is the one reported:
# state left by an earlier scenario (e.g. sessions counted against a cap) can then
# never make a check fail, nor hide a regression behind a failure on bare.
#
# usage: run-batch.sh NODE SUITE_DIR SERVER_BIN PRESET OUT TIMEOUT_SECS SCENARIOS_FILE [TAG]
set -uo pipefail

node=$1 suite_dir=$2 server_bin=$3 preset=$4 out=$5 timeout_secs=$6 scenarios_file=$7 tag=${8:-}
t0=$(date +%s%N)
batch=$out/batch
rm -rf "$batch"
mkdir -p "$batch"

. "$(dirname "$0")/server.sh"
start_server "$server_bin" "$preset" "$batch"
if [ -z "$url" ]; then
    echo "no-server (did not start on 127.0.0.1)" >"$batch/status"
    echo "$tag $preset batch: the example server did not start (see $batch/server.log)" >&2
    exit 0
fi

(cd "$suite_dir" && exec timeout -k 5 "$timeout_secs" "$node" dist/index.js server \
    --url "$url" --suite all -o "$batch/raw") >"$batch/suite.log" 2>&1 &
suite=$!
wait "$suite"
rc=$?
suite=""
case "$rc" in 124|137) echo timeout >"$batch/status" ;; *) echo "$rc" >"$batch/status" ;; esac

# The suite writes RAW/server-<scenario>-<ISO timestamp>/checks.json per scenario.
found=0
missing=0
while read -r scenario; do
    [ -n "$scenario" ] || continue
    dir=$out/$scenario
    mkdir -p "$dir"
    rm -f "$dir/checks.json" "$dir/status" "$dir/suite.log" "$dir/server.log"
    match=""
    for candidate in "$batch/raw"/server-"$scenario"-*; do
        [[ "$(basename "$candidate")" =~ ^server-${scenario}-[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || continue
        [ -f "$candidate/checks.json" ] && match=$candidate/checks.json
    done
    if [ -n "$match" ]; then
        cp "$match" "$dir/checks.json"
        echo 0 >"$dir/status"
        echo "batch: see ${batch}/suite.log and server.log" >"$dir/suite.log"
        found=$((found + 1))
    else
        missing=$((missing + 1))
    fi
done <"$scenarios_file"
t1=$(date +%s%N)
printf '%s %-5s batch of %d scenarios: %d with results, %d without, suite exit %s, %.1fs\n' \
    "$tag" "$preset" "$((found + missing))" "$found" "$missing" "$(cat "$batch/status")" \
    "$(((t1 - t0) / 1000000))e-3" >&2
exit 0
