# Sourced by run-one.sh and run-batch.sh: the example server each run starts, and
# the clean-up that stops it and the suite. Not run on its own.
#
# start_server BIN PRESET DIR: starts BIN on a kernel-chosen loopback port
# (--addr 127.0.0.1:0; the server prints the real URL on stdout, logs on stderr
# into DIR/server.log) and sets $server (its pid) and $url (empty when it did not
# start, or did not listen on 127.0.0.1: only loopback is ever a target).

server=""
suite=""
cleanup() {
    [ -n "$suite" ] && kill "$suite" 2>/dev/null
    [ -n "$server" ] && kill "$server" 2>/dev/null
    [ -n "$server" ] && wait "$server" 2>/dev/null
    return 0
}
trap cleanup EXIT
trap 'exit 143' TERM INT

start_server() {
    local bin=$1 preset=$2 dir=$3
    "$bin" --addr 127.0.0.1:0 --preset "$preset" >"$dir/url" 2>"$dir/server.log" &
    server=$!
    url=""
    for _ in $(seq 1 200); do
        url=$(sed -n 's/^MCP endpoint: //p' "$dir/url" 2>/dev/null | head -n 1)
        [ -n "$url" ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.05
    done
    case "$url" in
        http://127.0.0.1:*) ;;
        *) url="" ;;
    esac
}
