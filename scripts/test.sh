#!/usr/bin/env bash
# The whole test suite: what README.md tells a newcomer to run, and what CI runs.
# Installs what the tests need first: curl (smoke test), Chromium (the CORS
# preset's real-browser test), redis-server (the Redis stores' tests start their
# own on a free loopback port) and the official Python MCP SDK (in .venv, for the
# end-to-end tests with a real Python client).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    echo "test.sh: installing the Debian package $1" >&2
    command -v apt-get >/dev/null 2>&1 || return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$1" >/dev/null \
        || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$1" >/dev/null; }
}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "$2"
    command -v "$1" >/dev/null 2>&1 || { echo "test.sh: $1 is missing; install the Debian package $2" >&2; exit 1; }
}
need curl curl
need chromium chromium
need redis-server redis-server
need python3 python3

echo "== Python MCP SDK client in .venv (tests/python/requirements.txt)"
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_install python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
export MCP_GUARD_PYTHON="$PWD/.venv/bin/python"

echo "== cargo test (workspace, all features)"
cargo test --workspace --all-features --locked

echo "== main job smoke test (README's first command)"
scripts/smoke-main-job.sh
