#!/usr/bin/env bash
# Clippy on the root crate (mcp-guard) under no features, each feature alone,
# the default features, `remote` and `full`, with every warning an error: code
# that is dead, or only compiles, in one combination fails here, not in a
# user's build. The features are read from Cargo.toml (`cargo metadata`), so a
# new feature is checked without editing this script.
#
#   scripts/feature-matrix.sh            # the whole matrix
#   scripts/feature-matrix.sh cors jwks  # only these feature sets
#
# Runs one clippy at a time with at most CARGO_BUILD_JOBS (default 2) jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null 2>&1 || {
    echo "feature-matrix: python3 is missing; install it (Debian: apt-get install python3)" >&2
    exit 2
}
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
locked=()
[[ -n "${CI:-}" ]] && locked=(--locked)

if (($# > 0)); then
    sets=("$@")
else
    mapfile -t features < <(
        cargo metadata --no-deps --format-version 1 "${locked[@]}" |
            python3 -c '
import json, sys
meta = json.load(sys.stdin)
root = next(p for p in meta["packages"] if p["name"] == "mcp-guard")
for name in sorted(root["features"]):
    if name not in ("default", "remote", "full"):
        print(name)
'
    )
    # "" is no feature at all.
    sets=("" "${features[@]}" default remote full)
fi

failed=()
for set in "${sets[@]}"; do
    echo "== feature-matrix: mcp-guard with features [${set}]"
    if ! cargo clippy -p mcp-guard --no-default-features --features "$set" --all-targets \
        "${locked[@]}" -- -D warnings; then
        failed+=("[${set}]")
    fi
done
if ((${#failed[@]} > 0)); then
    echo "feature-matrix: clippy failed for ${failed[*]}" >&2
    exit 1
fi
echo "feature-matrix: ${#sets[@]} feature sets clean"
