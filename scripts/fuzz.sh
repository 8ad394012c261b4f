#!/usr/bin/env bash
# Runs every fuzz target under fuzz/ for a bounded time on stable Rust.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 600); all targets unless some are named.
# Installs cargo-fuzz if it is missing. Exits non-zero if any target finds a
# crash (the input is left under fuzz/artifacts/<target>/) or fails to run.
#
# Stable Rust: cargo-fuzz's default AddressSanitizer build passes
# -Zsanitizer=address, which only nightly accepts; `--sanitizer none` leaves
# only stable -C flags (sancov coverage, --cfg fuzzing, debug assertions).
# Every crate here denies unsafe code, so ASan has little left to catch; see
# fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install --locked "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

cd fuzz
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} fuzz targets (stable, --sanitizer none)"
cargo fuzz build --sanitizer none

mkdir -p artifacts
failed=()
summary=()
for target in "${targets[@]}"; do
    echo "== fuzzing $target for ${seconds}s"
    mkdir -p "corpus/$target" "seeds/$target"
    log="artifacts/$target.log"
    # The working corpus (gitignored) comes first: new inputs are written
    # there; the committed seeds are read only.
    if cargo fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
        grep -E "^(==[0-9]+==|SUMMARY|thread .* panicked|artifact_prefix|Test unit written)" "$log" | head -20 >&2 || true
        tail -n 40 "$log" >&2
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    summary+=("$(printf '%-22s %-6s %12s execs in %ss' "$target" "$status" "${execs:-?}" "$seconds")")
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz targets that failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
