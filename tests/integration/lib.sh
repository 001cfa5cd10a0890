# lib.sh: what the integration tests share. Each test runs the real
# `pansift` binary on a fresh data directory under a temporary directory,
# starts servers (pansift serve, the ps-replay loopback server) on
# 127.0.0.1 port 0 and reads back the chosen port, and checks answers with
# curl and jq. Every process a test starts is stopped when it exits.
# Environment (set by CTest): PS_BUILD_DIR, PS_SOURCE_DIR, PS_TEST_DATA.
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

: "${PS_BUILD_DIR:?run through ctest (PS_BUILD_DIR is not set)}"
: "${PS_SOURCE_DIR:?run through ctest}"
: "${PS_TEST_DATA:?run through ctest}"
PANSIFT="$PS_BUILD_DIR/pansift"
GENCAT="$PS_BUILD_DIR/pansift-gencat"
REPLAY="$PS_BUILD_DIR/tests/ps-replay"
RECORDED="$PS_TEST_DATA/pan-reference/recorded"

T=$(mktemp -d "${TMPDIR:-/tmp}/pansift-it-XXXXXX")
PIDS=()
FAILS=0
CHECKS=0

cleanup() {
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null
    done
    if [ "$FAILS" -eq 0 ]; then rm -rf "$T"; else echo "kept $T for inspection" >&2; fi
}
trap cleanup EXIT

fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }
ok() { CHECKS=$((CHECKS + 1)); }
check() { # check COMMAND [ARGS...] -- MESSAGE: the command must succeed
    local args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
    shift
    if "${args[@]}"; then ok; else fail "$*"; fi
}
check_eq() { # check_eq ACTUAL EXPECTED MESSAGE
    CHECKS=$((CHECKS + 1))
    if [ "$1" != "$2" ]; then fail "$3: got '$1', expected '$2'"; fi
}
check_contains() { # check_contains HAYSTACK NEEDLE MESSAGE
    CHECKS=$((CHECKS + 1))
    case "$1" in *"$2"*) ;; *) fail "$3: '$2' not in: $1" ;; esac
}
finish() {
    if [ "$FAILS" -gt 0 ]; then
        echo "$FAILS of $CHECKS checks failed" >&2
        exit 1
    fi
    echo "$CHECKS checks passed"
    exit 0
}

# Wait until FILE exists (up to 10 s).
wait_file() {
    for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
    return 1
}

# start_replay DIR [ARGS...]: sets REPLAY_URL (with the /api prefix).
start_replay() {
    local dir=$1; shift
    rm -f "$T/replay.port"
    "$REPLAY" --dir "$dir" --prefix /api --port-file "$T/replay.port" \
        --log "$T/replay.log" "$@" >"$T/replay.out" 2>"$T/replay.err" &
    PIDS+=($!)
    REPLAY_PID=$!
    wait_file "$T/replay.port" || { fail "ps-replay did not start"; cat "$T/replay.err" >&2; finish; }
    REPLAY_URL="http://127.0.0.1:$(cat "$T/replay.port")/api"
}

# write_config FILE DATA_DIR [EXTRA INI TEXT]: a config for a test.
write_config() {
    { echo "[pansift]"; echo "data_dir = $2"; echo "log_level = warn";
      echo "[server]"; echo "listen = 127.0.0.1:0"; echo "threads = 2";
      echo "index_refresh_ms = 100"; printf '%s\n' "${3:-}"; } > "$1"
}

# start_serve CONFIG [ARGS...]: sets SERVE_URL and SERVE_PID; waits for /health.
start_serve() {
    local cfg=$1; shift
    rm -f "$T/serve.port"
    "$PANSIFT" --config "$cfg" serve --port-file "$T/serve.port" "$@" \
        >"$T/serve.out" 2>"$T/serve.err" &
    SERVE_PID=$!
    PIDS+=($SERVE_PID)
    wait_file "$T/serve.port" || { fail "pansift serve did not start"; cat "$T/serve.err" >&2; finish; }
    SERVE_URL="http://127.0.0.1:$(cat "$T/serve.port")"
    for _ in $(seq 50); do
        curl -sf "$SERVE_URL/health" >/dev/null && return 0
        sleep 0.1
    done
    fail "pansift serve is not healthy"
}

# stop_serve: SIGTERM and require a clean exit.
stop_serve() {
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID"
    local rc=$?
    check_eq "$rc" 0 "pansift serve exits 0 on SIGTERM"
}

# get URL: body in $T/body, status in STATUS.
get() {
    STATUS=$(curl -s -g -o "$T/body" -w '%{http_code}' "$@")
}
