#!/usr/bin/env bash
# The whole test suite: what README.md tells a newcomer to run, and what CI runs.
# Installs what the tests need first: curl (smoke test) and Chromium (the CORS
# preset's real-browser test); later guards add redis-server and the Python/Node
# MCP clients here.
set -euo pipefail
cd "$(dirname "$0")/.."

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "test.sh: installing $2 (for $1)" >&2
    if command -v apt-get >/dev/null 2>&1; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$2" >/dev/null \
            || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$2" >/dev/null; }
    fi
    command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is missing; install the Debian package $2" >&2; exit 1; }
}
need curl curl
need chromium chromium

echo "== cargo test (workspace, all features)"
cargo test --workspace --all-features --locked

echo "== main job smoke test (README's first command)"
scripts/smoke-main-job.sh
