#!/usr/bin/env bash
# Fails when a library crate's dependency tree (normal and build dependencies,
# all features, from Cargo.lock) needs a newer Rust than the crate's declared
# `rust-version`; tests' and examples' needs are reported, not enforced. Reads
# `cargo metadata` only: no build, no toolchain download. See msrv-check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null 2>&1 || {
    echo "msrv-check: python3 is missing; install it (Debian: apt-get install python3)" >&2
    exit 2
}
exec python3 scripts/msrv-check.py "$@"
