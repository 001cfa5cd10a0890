#!/usr/bin/env bash
# replay-selftest.sh: checks ps-replay by hand-made requests with curl: every
# recording is served back with its status and body when asked with its
# recorded request line (under a --prefix), harvesters' paging gets slices
# of the recorded collections, unknown requests get a 404 that says why, the
# request log, the port file, each fault kind, 414 for long URLs, keep-alive,
# and a clean exit 0 on SIGTERM (with an ASan build this also checks that
# nothing leaked). Then the exchange mode: hand-made exchanges served with
# their headers and exact bytes, order-insensitive query matching, POST
# bodies, several --dir, the new faults, and the sequence rule and
# --retry-after-max on the recorded arXiv 503 -> 200 (nock format) of the
# shared corpus. Needs bash, curl, grep and cmp; uses jq for an extra
# semantic body comparison when it is installed.
# usage: replay-selftest.sh PATH/TO/ps-replay RECORDINGS_DIR [CORPUS_DIR]
# CORPUS_DIR (or $PS_CORPUS_DIR) is the shared corpus (../shared/corpus
# beside the checkout); without it the checks on its nock recordings are
# skipped, with a note.
# SPDX-License-Identifier: GPL-2.0-or-later

set -u
export LC_ALL=C

if [ $# -lt 2 ] || [ $# -gt 3 ] || [ ! -x "$1" ] || [ ! -d "$2" ] ||
    { [ $# -eq 3 ] && [ ! -d "$3" ]; }; then
    echo "usage: $0 PATH/TO/ps-replay RECORDINGS_DIR [CORPUS_DIR]" >&2
    exit 2
fi
BIN=$1
DIR=$2
CORPUS=${3:-${PS_CORPUS_DIR:-}}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ps-replay-selftest.XXXXXX")
PIDS=()
FAILURES=0
CHECKS=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

ok() { CHECKS=$((CHECKS + 1)); }
fail() {
    CHECKS=$((CHECKS + 1))
    FAILURES=$((FAILURES + 1))
    echo "FAIL: $*" >&2
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok; else fail "$what"; fi
}

# start NAME ARGS...: starts a server on the directories in DIRS (default
# --dir $DIR), waits for its port file; sets PORT and SERVER_PID. Its
# stdout, stderr and log are $WORK/NAME.{out,err,log}.
DIRS=(--dir "$DIR")
start() {
    local name=$1
    shift
    rm -f "$WORK/$name.port"
    "$BIN" "${DIRS[@]}" --port-file "$WORK/$name.port" \
        --log "$WORK/$name.log" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 200); do
        [ -s "$WORK/$name.port" ] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.05
    done
    PORT=$(cat "$WORK/$name.port" 2>/dev/null)
    if ! [[ "$PORT" =~ ^[0-9]+$ ]]; then
        echo "FAIL: server $name did not start:" >&2
        cat "$WORK/$name.err" >&2
        exit 1
    fi
}

# stop: SIGTERM to SERVER_PID; it must exit 0 within 10 s.
stop() {
    local name=$1 rc
    kill -TERM "$SERVER_PID"
    for _ in $(seq 200); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        fail "$name: still running 10 s after SIGTERM"
        kill -KILL "$SERVER_PID"
    fi
    wait "$SERVER_PID"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok; else
        fail "$name: exit status $rc after SIGTERM"
        cat "$WORK/$name.err" >&2
    fi
}

# get URL [curl args...]: body in $WORK/body, headers in $WORK/head; sets
# CODE (000 when there was no answer) and CURL_RC.
get() {
    local url=$1
    shift
    CODE=$(curl -g -s --max-time 20 -D "$WORK/head" -o "$WORK/body" \
        -w '%{http_code}' "$@" "$url")
    CURL_RC=$?
}

body_is() { printf '%s' "$1" >"$WORK/expected" && cmp -s "$WORK/expected" "$WORK/body"; }
body_has() { grep -qF -- "$1" "$WORK/body"; }
head_has() { grep -qi -- "$1" "$WORK/head"; }

# ---- loading errors ---------------------------------------------------------
mkdir -p "$WORK/empty" "$WORK/bad"
"$BIN" --dir "$WORK/empty" >/dev/null 2>"$WORK/err"
rc=$?
check "empty dir: exit 2 (got $rc)" test "$rc" -eq 2
check "empty dir: one line on stderr" test "$(wc -l <"$WORK/err")" -eq 1
printf '{"request": "GET /Datasets", "status": 200, "body": [' >"$WORK/bad/x.json"
"$BIN" --dir "$WORK/bad" >/dev/null 2>"$WORK/err"
rc=$?
check "malformed recording: exit 2 (got $rc)" test "$rc" -eq 2
check "malformed recording: names the file" grep -q 'x.json' "$WORK/err"
"$BIN" --dir "$DIR" --fault 'x:boom' >/dev/null 2>&1
check "bad --fault: exit 2" test $? -eq 2

# ---- every recording, under a prefix -------------------------------------------
PREFIX=/api
start main --prefix "$PREFIX"
MAIN_PID=$SERVER_PID
BASE="http://127.0.0.1:$PORT"
check "stdout names the port" grep -qx "listening on http://127.0.0.1:$PORT" "$WORK/main.out"
check "port file is one decimal line" grep -qx '[0-9]*' "$WORK/main.port"
check "no port.tmp left behind" test ! -e "$WORK/main.port.tmp"

"$BIN" --dir "$DIR" --dump >"$WORK/dump" 2>"$WORK/dump.err"
files=("$DIR"/*.json)
check "--dump lists every recording" \
    test "$(wc -l <"$WORK/dump")" -eq "${#files[@]}"
have_jq=0
command -v jq >/dev/null 2>&1 && have_jq=1
served=0
while IFS=$'\t' read -r file status request body; do
    target=${request#GET }
    get "$BASE$PREFIX$target"
    check "$file: status $CODE, want $status" test "$CODE" = "$status"
    want=$(grep -Eo '"status": ?[0-9]{3}' "$DIR/$file" | head -n 1 | grep -Eo '[0-9]{3}$')
    check "$file: status $CODE, file says $want" test "$CODE" = "$want"
    check "$file: body equals the recording's compact body" body_is "$body"
    check "$file: Content-Type" head_has '^Content-Type: application/json'
    # independent of ps-replay's serialiser: every pid of the file is there
    while read -r pid; do
        check "$file: body has $pid" body_has "\"pid\":\"$pid\""
    done < <(grep -Eo '"pid": ?"[^"]*"' "$DIR/$file" | sed -E 's/.*"([^"]*)"$/\1/')
    if [ "$have_jq" = 1 ]; then
        a=$(jq -c .body "$DIR/$file")
        b=$(jq -c . "$WORK/body")
        check "$file: jq says the bodies are equal" test "$a" = "$b"
    fi
    served=$((served + 1))
done <"$WORK/dump"
echo "recordings served back: $served"

# without the prefix nothing matches
get "$BASE/Instruments"
check "no prefix: 404 (got $CODE)" test "$CODE" = 404
check "no prefix: says no recording" body_has 'no recording for GET /Instruments'

# the model segment is case-insensitive, the pid is decoded either way
get "$BASE$PREFIX/instruments"
check "lower-case model: 200 (got $CODE)" test "$CODE" = 200
get "$BASE$PREFIX/Datasets/20.500.12269/panosc-dataset1"
check "pid with a literal slash: 200 (got $CODE)" test "$CODE" = 200
get "$BASE$PREFIX/datasets/count?where=%7B%7D"
check "count with where={}: 200 (got $CODE)" test "$CODE" = 200
check "count body" body_is '{"count":4}'

# ---- paging through recorded collections ----------------------------------------
full=$(grep -F $'\tGET /Instruments\t' "$WORK/dump" | cut -f 4)
mapfile -t ipids < <(printf '%s' "$full" | grep -Eo '"pid":"[^"]*"')
n=${#ipids[@]}
check "harvest-instruments has items" test "$n" -gt 3
get "$BASE$PREFIX/Instruments" -G --data-urlencode 'filter={"limit":2,"skip":1}'
mapfile -t got < <(grep -Eo '"pid":"[^"]*"' "$WORK/body")
check "limit 2 skip 1: two items (got ${#got[@]})" test "${#got[@]}" -eq 2
check "limit 2 skip 1: items 1 and 2" test "${got[0]:-}|${got[1]:-}" = "${ipids[1]}|${ipids[2]}"
get "$BASE$PREFIX/Instruments" -G --data-urlencode "filter={\"skip\":$((n - 1))}"
check "skip only: to the end" test "$(grep -Eo '"pid":"[^"]*"' "$WORK/body")" = "${ipids[n - 1]}"
get "$BASE$PREFIX/Instruments" -G --data-urlencode "filter={\"skip\":$n,\"limit\":5}"
check "skip past the end: []" body_is '[]'
get "$BASE$PREFIX/Instruments" -G --data-urlencode 'filter={"limit":0}'
check "limit 0: everything" body_is "$full"

# a harvester paging one by one through /Datasets with includes rebuilds the
# recorded collection exactly
line=$(grep '^harvest-datasets.json' "$WORK/dump")
request=$(printf '%s' "$line" | cut -f 3)
full=$(printf '%s' "$line" | cut -f 4)
target=${request#GET }
target=${target%\%7D}
joined=
for k in 0 1 2 3 4 5 6 7 8 9; do
    get "$BASE$PREFIX$target%2C%20%22limit%22%3A%201%2C%20%22skip%22%3A%20$k%7D"
    if [ "$CODE" != 200 ]; then
        fail "harvest page $k: $CODE"
        break
    fi
    page=$(cat "$WORK/body")
    [ "$page" = "[]" ] && break
    page=${page#[}
    page=${page%]}
    joined=${joined:+$joined,}$page
done
check "harvest pages rebuild the collection" test "[$joined]" = "$full"
check "the log shows the pages" grep -q "%22skip%22%3A%203%7D -> 200" "$WORK/main.log"

# a recorded page serves the ranges it covers and nothing else
get "$BASE$PREFIX/Instruments" -G --data-urlencode 'filter={"where":{"facility":"ESS"},"skip":1,"limit":2}'
check "inside a recorded page: 200 (got $CODE)" test "$CODE" = 200
check "inside a recorded page: 2 items" test "$(grep -Eo '"pid"' "$WORK/body" | wc -l)" -eq 2
get "$BASE$PREFIX/Instruments" -G --data-urlencode 'filter={"where":{"facility":"ESS"},"skip":3,"limit":3}'
check "outside a recorded page: 404 (got $CODE)" test "$CODE" = 404
get "$BASE$PREFIX/Datasets" -G --data-urlencode 'filter={"skip":2,"limit":1}'
check "page of datasets-page: dataset3" body_has '"pid":"20.500.12269/panosc-dataset3"'
get "$BASE$PREFIX/Datasets" -G --data-urlencode 'filter={"limit":5}'
check "limit 5 on /Datasets is not the bad-limit recording: 404 (got $CODE)" test "$CODE" = 404

# ---- misses, methods, limits, keep-alive ------------------------------------
get "$BASE$PREFIX/Datasets" -G --data-urlencode 'filter={"where":{"text":"nothing"}}'
check "unknown filter: 404 (got $CODE)" test "$CODE" = 404
check "unknown filter: LoopBack-style error" body_has '{"error":{"statusCode":404,"name":"Error","message":"no recording for GET /api/Datasets filter={\"where\":{\"text\":\"nothing\"}}"}}'
check "unknown filter: logged on stderr" grep -q 'no recording for GET /api/Datasets filter={"where":{"text":"nothing"}}' "$WORK/main.err"
get "$BASE$PREFIX/Instruments" -I
check "HEAD: 200 (got $CODE)" test "$CODE" = 200
# with -I curl writes the headers where the body would go
check "HEAD: no body" test "$(grep -c '"pid"' "$WORK/body")" -eq 0
check "HEAD: Content-Length of the body" grep -qi '^Content-Length: [1-9]' "$WORK/body"
get "$BASE$PREFIX/Instruments" -X POST -d '{}'
check "POST: 405 (got $CODE)" test "$CODE" = 405
long=$(printf '%070000d' 0)
get "$BASE$PREFIX/Instruments?filter=$long"
check "70000-byte URL: 414 (got $CODE)" test "$CODE" = 414
verbose=$(curl -g -s -v --max-time 10 -o /dev/null -o /dev/null \
    "$BASE$PREFIX/Instruments" "$BASE$PREFIX/Datasets/count" 2>&1)
check "keep-alive: second request reuses the connection" \
    grep -Eq 'Re-using existing connection|Reusing existing' <<<"$verbose"
check "log: one line per request" \
    test "$(grep -c ' -> [0-9][0-9][0-9]$' "$WORK/main.log")" -ge "$((served + 20))"
check "log: METHOD URL -> STATUS" grep -qx 'GET /api/instruments -> 200' "$WORK/main.log"
SERVER_PID=$MAIN_PID
stop main

# ---- faults -------------------------------------------------------------------
start faults --fault 1:503 --fault 2:500 --fault 3:429 --fault 4:garbage \
    --fault 5:truncate --fault 6:close --fault 7:stall --fault 9-10:503 \
    --stall-ms 1500
U="http://127.0.0.1:$PORT/Instruments"
get "$U"
check "fault 503: status (got $CODE)" test "$CODE" = 503
check "fault 503: Retry-After" head_has '^Retry-After: 1'
check "fault 503: HTML body" body_has '<html>'
get "$U"
check "fault 500: status (got $CODE)" test "$CODE" = 500
check "fault 500: JSON error" body_has '"statusCode":500'
get "$U"
check "fault 429: status (got $CODE)" test "$CODE" = 429
check "fault 429: Retry-After" head_has '^Retry-After: 1'
get "$U"
check "fault garbage: status (got $CODE)" test "$CODE" = 200
check "fault garbage: body" body_is '<html>this is not JSON'
check "fault garbage: Content-Type" head_has '^Content-Type: application/json'
get "$U"
check "fault truncate: status (got $CODE)" test "$CODE" = 200
check "fault truncate: curl reports a partial body (rc $CURL_RC)" test "$CURL_RC" = 18
check "fault truncate: some bytes came" test -s "$WORK/body"
get "$U"
check "fault close: no answer (rc $CURL_RC, code $CODE)" test "$CURL_RC" = 52 -a "$CODE" = 000
t0=$(date +%s%N)
curl -g -s --max-time 20 -o "$WORK/stalled" -w '%{http_code}' "$U" >"$WORK/stalled.code" &
stalled=$!
sleep 0.3
get "$U" --max-time 1
t1=$(date +%s%N)
check "a stall does not block other connections (got $CODE)" test "$CODE" = 200
wait "$stalled"
t2=$(date +%s%N)
check "fault stall: answered normally after the stall" test "$(cat "$WORK/stalled.code")" = 200
check "fault stall: it took the stall time" test $(((t2 - t0) / 1000000)) -ge 1400
check "fault stall: the other request did not wait" test $(((t1 - t0) / 1000000)) -lt 1300
get "$U"
check "fault range 9-10: 503 (got $CODE)" test "$CODE" = 503
get "$U"
check "fault range 9-10: 503 (got $CODE)" test "$CODE" = 503
get "$U"
check "after the faults: 200 (got $CODE)" test "$CODE" = 200
check "fault log: 503 then 200" grep -qx 'GET /Instruments -> 200' "$WORK/faults.log"
check "fault log: 11 lines" test "$(wc -l <"$WORK/faults.log")" -eq 11
check "fault log: close" grep -q ' -> 000 (fault close)' "$WORK/faults.log"
stop faults

start all --fault all:garbage
get "http://127.0.0.1:$PORT/Instruments"
check "all:garbage 1" body_is '<html>this is not JSON'
get "http://127.0.0.1:$PORT/Nothing"
check "all:garbage 2" body_is '<html>this is not JSON'
stop all

# SIGTERM during a 30 s stall: exits promptly
start stall --fault 1:stall
curl -g -s --max-time 40 -o /dev/null "http://127.0.0.1:$PORT/Instruments" &
client=$!
sleep 0.3
t0=$(date +%s%N)
stop stall
t1=$(date +%s%N)
check "SIGTERM during a stall: stopped within 3 s" test $(((t1 - t0) / 1000000)) -lt 3000
wait "$client"

# ---- exchanges ---------------------------------------------------------------
# one directory with both kinds: a PaN recording, one exchange, an array
mkdir -p "$WORK/ex"
cat >"$WORK/ex/pan-things.json" <<'EOF'
{"request": "GET /Things", "filter": null, "status": 200,
 "body": [{"pid": "t1"}, {"pid": "t2"}]}
EOF
cat >"$WORK/ex/oai-one.json" <<'EOF'
{"method": "GET",
 "path": "/oai2?verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb&note=two+words",
 "status": 200,
 "headers": {"Content-Type": "text/xml", "Retry-After": "10",
             "X-Recorded": "yes", "Content-Length": "999",
             "Transfer-Encoding": "chunked"},
 "body": "<?xml version=\"1.0\"?>\n<OAI-PMH>\t\u00e9 &amp;</OAI-PMH>\r\n"}
EOF
printf '<?xml version="1.0"?>\n<OAI-PMH>\t\303\251 &amp;</OAI-PMH>\r\n' >"$WORK/oai-one.bytes"
cat >"$WORK/ex/api.json" <<'EOF'
[{"method": "POST", "path": "/token", "request_body": "grant_type=client&scope=read+write",
  "status": 201, "headers": [["X-Pair", "1"], ["X-Pair", "2"]],
  "body": {"token": "abc", "n": [1, 2]}},
 {"method": "GET", "path": "/records?q=*", "headers": [["Content-Type", "application/vnd.x+json"]],
  "body": {"hits": {"total": 0}}},
 {"method": "GET", "path": "/seq", "status": 500, "body": "first"},
 {"method": "GET", "path": "/seq", "status": 202, "body": "second"},
 {"method": "GET", "path": "/seq", "status": 200, "body": "third"}]
EOF
"$BIN" --dir "$WORK/ex" --dump >"$WORK/exdump" 2>/dev/null
check "--dump: the PaN recording and 6 exchanges" test "$(wc -l <"$WORK/exdump")" -eq 7
check "--dump: array entries are FILE[i]" grep -q $'^api.json\\[4\\]\t200\tGET /seq\t(5 bytes)$' "$WORK/exdump"

mkdir -p "$WORK/badex"
printf '{"method": "PUT", "path": "/x", "body": ""}' >"$WORK/badex/put.json"
"$BIN" --dir "$WORK/badex" >/dev/null 2>"$WORK/err"
rc=$?
check "exchange with PUT: exit 2 (got $rc)" test "$rc" -eq 2
check "exchange with PUT: names the file" grep -q 'put.json: method "PUT"' "$WORK/err"
printf '[{"scope": "http://x", "method": "GET", "path": "/x", "rawHeaders": ["A"]}]' >"$WORK/badex/put.json"
"$BIN" --dir "$WORK/badex" >/dev/null 2>"$WORK/err"
rc=$?
check "odd rawHeaders: exit 2 (got $rc)" test "$rc" -eq 2
check "odd rawHeaders: names the entry" grep -q 'put.json: exchange 0: "rawHeaders" has an odd length' "$WORK/err"

DIRS=(--dir "$WORK/ex" --dir "$DIR")
start ex --prefix /svc
B="http://127.0.0.1:$PORT/svc"
get "$B/oai2?verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb&note=two+words"
check "exchange: status (got $CODE)" test "$CODE" = 200
check "exchange: the exact body bytes" cmp -s "$WORK/oai-one.bytes" "$WORK/body"
check "exchange: Content-Type" head_has $'^Content-Type: text/xml\r$'
check "exchange: recorded header" head_has '^X-Recorded: yes'
check "exchange: recorded Retry-After" head_has $'^Retry-After: 10\r$'
check "exchange: own Content-Length, not the recorded one" \
    head_has "^Content-Length: $(wc -c <"$WORK/oai-one.bytes")"
check "exchange: no recorded Transfer-Encoding" test "$(grep -ci '^Transfer-Encoding' "$WORK/head")" -eq 0
check "exchange: X-PS-Replay-Recording" head_has '^X-PS-Replay-Recording: oai-one.json'
get "$B/oai2?note=two%20words&set=a/b&metadataPrefix=oai_dc&verb=ListRecords"
check "query order and encoding do not matter (got $CODE)" test "$CODE" = 200
check "query in another order: same bytes" cmp -s "$WORK/oai-one.bytes" "$WORK/body"
get "$B/oai2?verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb"
check "a missing query pair: 404 (got $CODE)" test "$CODE" = 404
get "$B/oai2?verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb&note=two+words&x=1"
check "an extra query pair: 404 (got $CODE)" test "$CODE" = 404
check "exchange miss: plain text" head_has '^Content-Type: text/plain'
check "exchange miss: names method, path and query" \
    body_has 'no recording for GET /svc/oai2 query=verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb&note=two+words&x=1'
check "exchange miss: on stderr" grep -q 'no recording for GET /svc/oai2 query=.*&x=1' "$WORK/ex.err"
get "$B/oai2?verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb&note=two+words" -I
check "exchange HEAD: 200 (got $CODE)" test "$CODE" = 200
check "exchange HEAD: no body" test "$(grep -c 'OAI-PMH' "$WORK/body")" -eq 0
get "$B/records?q=%2A"
check "JSON body: compact" body_is '{"hits":{"total":0}}'
check "JSON body: the recorded Content-Type wins" head_has '^Content-Type: application/vnd.x+json'
get "$B/Things"
check "PaN recording beside exchanges: served" body_is '[{"pid":"t1"},{"pid":"t2"}]'
get "$B/Things" -G --data-urlencode 'filter={"skip":1}'
check "PaN recording beside exchanges: sliced" body_is '[{"pid":"t2"}]'
get "$B/Instruments"
check "second --dir loaded (got $CODE)" test "$CODE" = 200
get "$B/Nothing"
check "PaN miss keeps the LoopBack 404" body_has '{"error":{"statusCode":404'

# POST with a recorded request_body
get "$B/token" -d 'scope=read%20write&grant_type=client'
check "POST: body matched as a multiset (got $CODE)" test "$CODE" = 201
check "POST: JSON body" body_is '{"token":"abc","n":[1,2]}'
check "POST: JSON Content-Type" head_has '^Content-Type: application/json'
check "POST: repeated headers from [name, value] pairs" \
    test "$(grep -c '^X-Pair: [12]' "$WORK/head")" -eq 2
get "$B/token" -d 'scope=read&grant_type=client'
check "POST: another body: 404 (got $CODE)" test "$CODE" = 404
check "POST miss: names the body" body_has 'no recording for POST /svc/token query= body=scope=read&grant_type=client'
get "$B/token"
check "GET of a POST exchange: 404 (got $CODE)" test "$CODE" = 404
get "$B/records?q=%2A" -d 'a=1'
check "POST to a GET-only path: 405 (got $CODE)" test "$CODE" = 405
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$WORK/big"
get "$B/token" --data-binary "@$WORK/big"
check "POST body over 1 MiB: 413 (got $CODE)" test "$CODE" = 413

# sequence: 1st, 2nd, 3rd, then the last repeats
codes=
for _ in 1 2 3 4 5; do
    get "$B/seq"
    codes="$codes $CODE:$(cat "$WORK/body")"
done
check "sequence: in file order, then the last repeats (got$codes)" \
    test "$codes" = " 500:first 202:second 200:third 200:third 200:third"
check "sequence: log" test "$(grep -c '^GET /svc/seq -> ' "$WORK/ex.log")" -eq 5
stop ex

# faults on exchanges: a fault that replaces the answer does not use up a
# step of a sequence, the others do
DIRS=(--dir "$WORK/ex")
start exf --fault 1:422 --fault 2:badxml --fault 3:partial --fault 5:reset \
    --fault 6:truncate --fault 7:503 --stall-ms 3000
B="http://127.0.0.1:$PORT"
get "$B/seq"
check "fault 422: status (got $CODE)" test "$CODE" = 422
check "fault 422: Zenodo-like body" body_is '{"status":422,"message":"The resumption token is invalid or expired"}'
check "fault 422: JSON" head_has '^Content-Type: application/json'
get "$B/seq"
check "fault badxml: status (got $CODE)" test "$CODE" = 200
check "fault badxml: truncated XML" body_is '<?xml version="1.0"?><OAI-PMH><ListRecords><record>'
check "fault badxml: text/xml" head_has '^Content-Type: text/xml'
t0=$(date +%s%N)
curl -g -s --max-time 1.5 -o "$WORK/partial" -D "$WORK/partial.head" \
    "$B/oai2?verb=ListRecords&metadataPrefix=oai_dc&set=a%2Fb&note=two+words" &
partial=$!
sleep 0.3
get "$B/seq" --max-time 1
t1=$(date +%s%N)
check "partial: other connections go on (got $CODE:$(cat "$WORK/body"))" \
    test "$CODE:$(cat "$WORK/body")" = 500:first
wait "$partial"
prc=$?
t2=$(date +%s%N)
check "fault partial: the client gave up (rc $prc, want 28)" test "$prc" = 28
check "fault partial: half the body came" \
    test "$(wc -c <"$WORK/partial")" -eq $(($(wc -c <"$WORK/oai-one.bytes") / 2))
check "fault partial: with its recorded headers" grep -qi '^X-Recorded: yes' "$WORK/partial.head"
check "fault partial: it stalled until the client's timeout" \
    test $(((t2 - t0) / 1000000)) -ge 1400
check "fault partial: the other request did not wait" test $(((t1 - t0) / 1000000)) -lt 1300
get "$B/seq"
check "fault reset: connection reset (rc $CURL_RC, want 56)" test "$CURL_RC" = 56
get "$B/seq"
check "fault truncate on an exchange: partial body (rc $CURL_RC)" test "$CURL_RC" = 18
get "$B/seq"
check "fault 503 on an exchange (got $CODE)" test "$CODE" = 503
get "$B/seq"
check "reset and truncate used up steps 2 and 3: the last repeats" \
    test "$CODE:$(cat "$WORK/body")" = 200:third
check "faults log: partial" grep -q ' -> 200 (fault partial)' "$WORK/exf.log"
check "faults log: reset" grep -q ' -> 200 (fault reset)' "$WORK/exf.log"
stop exf

# the recorded arXiv traffic (nock format), unchanged from the shared corpus
if [ -n "$CORPUS" ] && [ -d "$CORPUS/oai-pmh/recorded" ]; then
    NOCK=$CORPUS/oai-pmh/recorded
    LR='/oai2?verb=ListRecords&metadataPrefix=arXiv&from=2015-01-01&until=2015-01-03'
    DIRS=(--dir "$NOCK")
    start nock
    B="http://127.0.0.1:$PORT"
    get "$B$LR"
    check "arXiv 1st: the recorded 503 (got $CODE)" test "$CODE" = 503
    check "arXiv 1st: Retry-After: 10" head_has $'^Retry-After: 10\r$'
    check "arXiv 1st: its HTML body" body_has 'Retry after 10 seconds'
    get "$B$LR"
    check "arXiv 2nd: 200 (got $CODE)" test "$CODE" = 200
    check "arXiv 2nd: text/xml" head_has '^Content-Type: text/xml'
    check "arXiv 2nd: the records" body_has '<ListRecords>'
    check "arXiv 2nd: no Retry-After" test "$(grep -ci '^Retry-After' "$WORK/head")" -eq 0
    if [ "$have_jq" = 1 ]; then
        jq -j '.[1].response' "$NOCK/oaipmh-listrecords---should-list-identifiers-from-arxiv.json" >"$WORK/arxiv.bytes"
        check "arXiv 2nd: the exact recorded bytes" cmp -s "$WORK/arxiv.bytes" "$WORK/body"
    fi
    get "$B$LR"
    check "arXiv 3rd: the last repeats (got $CODE)" test "$CODE" = 200
    get "$B/oaiextended/request?resumptionToken=oai_dc%2F2016-01-01T00%3A00%3A00Z%2F2017-01-01T00%3A00%3A00Z%2F%2F100&verb=ListIdentifiers"
    check "Gulbenkian resumption page, pairs in another order (got $CODE)" test "$CODE" = 200
    stop nock

    start nockcap --retry-after-max 1 --fault 1:503
    B="http://127.0.0.1:$PORT"
    get "$B$LR"
    check "injected 503 first (got $CODE)" test "$CODE" = 503
    check "injected 503: not the recording" test "$(grep -ci '^X-PS-Replay-Recording' "$WORK/head")" -eq 0
    get "$B$LR"
    check "the injected 503 left the recorded 503 in place" \
        head_has '^X-PS-Replay-Recording: oaipmh-listrecords---should-list-identifiers-from-arxiv.json\[0\]'
    check "--retry-after-max 1: Retry-After: 1" head_has $'^Retry-After: 1\r$'
    get "$B$LR"
    check "then the 200 (got $CODE)" test "$CODE" = 200
    stop nockcap
else
    echo "note: no corpus (third argument or PS_CORPUS_DIR): nock checks skipped"
fi

echo "$CHECKS checks, $FAILURES failed"
[ "$FAILURES" -eq 0 ]
