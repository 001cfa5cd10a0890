#!/usr/bin/env bash
# run.sh: pansift's benchmark pipeline for one catalogue size N. It
# generates a catalogue of N datasets with pansift-gencat (kept and reused),
# measures the store alone (store-bench), then drives the real `pansift`
# program the way an operator would: init, harvest (records/s, store rows/s,
# store size), index from empty and index --rebuild (docs/s, index size),
# re-harvest with nothing changed (the idempotent path), serve, freshness
# (time from a stored record to a searchable one), query latency per request
# type (query-bench, one keep-alive connection) and throughput under wrk.
# Every step is timed; the end prints a markdown summary with the machine
# and the exact commands, and DIR/results-N.json holds every figure.
# All data goes under DIR (default /tmp/pansift-bench), never into the repo.
#
#   bench/run.sh [--datasets N] [--out DIR] [--workers W] [--skip-gen]
#                [--wrk-seconds S] [--queries Q] [--server-threads T]
#                [--build DIR] [--no-store-bench]
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=100000
OUT=/tmp/pansift-bench
WORKERS=$(nproc)
SKIP_GEN=0
WRK_S=10
QUERIES=200
BUILD=$ROOT/build/release
STORE_BENCH=1
SEED=42
THREADS=2

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    cat <<EOF

  --datasets N      catalogue size (default $N; 10000 ... 1000000)
  --out DIR         where catalogues, data directories and results go
                    (default $OUT)
  --workers W       [index] rebuild_workers for the rebuild (default: nproc = $WORKERS)
  --skip-gen        reuse DIR/cat-N, fail if it is missing
  --wrk-seconds S   duration of each wrk run (default $WRK_S)
  --queries Q       timed requests per query type in query-bench (default $QUERIES)
  --server-threads T  [server] threads of pansift serve (default $THREADS)
  --build DIR       the release build with pansift, pansift-gencat and bench/
                    (default $BUILD)
  --no-store-bench  skip the store-bench step
EOF
}

die() { echo "run.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
    --datasets) N=${2:?--datasets needs a number}; shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --workers) WORKERS=${2:?--workers needs a number}; shift 2 ;;
    --skip-gen) SKIP_GEN=1; shift ;;
    --wrk-seconds) WRK_S=${2:?--wrk-seconds needs a number}; shift 2 ;;
    --queries) QUERIES=${2:?--queries needs a number}; shift 2 ;;
    --server-threads) THREADS=${2:?--server-threads needs a number}; shift 2 ;;
    --build) BUILD=${2:?--build needs a directory}; shift 2 ;;
    --no-store-bench) STORE_BENCH=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
for v in N WORKERS WRK_S QUERIES THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
[ "$N" -ge 100 ] || die "--datasets must be at least 100"
[ "$WRK_S" -ge 1 ] || die "--wrk-seconds must be at least 1"

PANSIFT=$BUILD/pansift
GENCAT=$BUILD/pansift-gencat
QBENCH=$BUILD/bench/query-bench
SBENCH=$BUILD/bench/store-bench
for b in "$PANSIFT" "$GENCAT" "$QBENCH" "$SBENCH"; do
    [ -x "$b" ] || die "$b is missing: build first with
  cmake -S $ROOT -B $ROOT/build/release -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_BENCH=ON
  cmake --build $ROOT/build/release -j2"
done
for t in curl jq sqlite3 wrk du df awk; do
    command -v "$t" >/dev/null || die "$t is not installed (scripts/setup --bench, or apt-get install -y wrk jq sqlite3 curl)"
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
case "$OUT/" in "$ROOT/"*) die "--out $OUT is inside the repository; choose a directory outside it" ;; esac

CAT=$OUT/cat-$N
DATA=$OUT/data-$N
LATE=$OUT/late-$N
CFG=$OUT/pansift-$N.ini
LOG=$OUT/log-$N
RESULTS=$OUT/results-$N.json
PORT_FILE=$OUT/serve-$N.port
mkdir -p "$LOG"

# ---- disk space: about 14 KB per dataset, measured at 10^5 (catalogue 2.4
# KB, store 4.9 KB, the incremental index 3.5 KB and the rebuilt one 2.3 KB
# side by side, the rebuild's shards while it merges), so ~14 GB for 10^6.
need=$((N * 14 * 1024))
[ -d "$CAT" ] && [ -f "$CAT/.gencat" ] && need=$((need - N * 2400))
avail=$(df -B1 --output=avail "$OUT" | tail -1 | tr -d ' ')
printf 'disk: this run needs about %.1f GB under %s; %.1f GB free\n' \
    "$(echo "$need" | awk '{print $1/1e9}')" "$OUT" "$(echo "$avail" | awk '{print $1/1e9}')"
[ "$avail" -gt "$need" ] || die "not enough free disk space under $OUT for N=$N; free some or choose another --out"

# ---- bookkeeping ---------------------------------------------------------------------
SERVE_PID=
CHILD_PID=
cleanup() {
    local rc=$?
    if [ -n "$CHILD_PID" ]; then kill "$CHILD_PID" 2>/dev/null || true; wait "$CHILD_PID" 2>/dev/null || true; fi
    if [ -n "$SERVE_PID" ]; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -f "$PORT_FILE"
    if [ $rc -ne 0 ]; then
        if [ -f "$RESULTS.tmp" ]; then
            mv "$RESULTS.tmp" "$OUT/results-$N.failed.json"
            echo "run.sh: the figures measured so far are in $OUT/results-$N.failed.json" >&2
        fi
        echo "run.sh: stopped (exit $rc); logs in $LOG" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print 0 }'; }

echo '{}' >"$RESULTS.tmp"
# jset PATH JSON-VALUE: set a field (dotted path) of the results file.
jset() {
    jq --arg p "$1" --argjson v "$2" 'setpath($p | split("."); $v)' "$RESULTS.tmp" >"$RESULTS.tmp2"
    mv "$RESULTS.tmp2" "$RESULTS.tmp"
}
jstr() { jset "$1" "$(jq -rn --arg s "$2" '$s|tojson')"; }

COMMANDS=()
# bg_wait LOGFILE CMD...: run a command (stdout+stderr to LOGFILE) in the
# background and wait for it, so that a signal to this script is handled at
# once (the trap stops the command); its status in WAIT_STATUS.
bg_wait() {
    local log=$1; shift
    WAIT_STATUS=0
    "$@" >"$log" 2>&1 &
    CHILD_PID=$!
    wait "$CHILD_PID" || WAIT_STATUS=$?
    CHILD_PID=
}
# run LOGNAME CMD...: run a command (stdout+stderr to LOG/LOGNAME), record it,
# fail with its log on error.
run() {
    local name=$1; shift
    COMMANDS+=("$*")
    bg_wait "$LOG/$name" "$@"
    if [ "$WAIT_STATUS" -ne 0 ]; then
        echo "run.sh: step failed (status $WAIT_STATUS): $*" >&2
        tail -20 "$LOG/$name" >&2
        exit 1
    fi
}
P=("$PANSIFT" --quiet --config "$CFG")

step() { printf '\n== %s\n' "$*"; }

store_rows() { # total rows of every table of the store
    local db=$DATA/store.db sql
    sql=$(sqlite3 "$db" "SELECT group_concat('SELECT count(*) AS n FROM \"' || name || '\"', ' UNION ALL ') FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    sqlite3 "$db" "SELECT sum(n) FROM ($sql)"
}
store_bytes() {
    local t=0 f
    for f in "$DATA/store.db" "$DATA/store.db-wal"; do
        [ -f "$f" ] && t=$((t + $(stat -c %s "$f")))
    done
    echo $t
}
index_bytes() { du -sb "$DATA/$(readlink "$DATA/index")" | cut -f1; }
# Parse "NAME: ok in X s: S seen, I new, U updated, C unchanged, ..." from a harvest log.
harvest_field() { sed -nE "s/.* ([0-9]+) $1.*/\\1/p" "$2" | head -1; }

jset datasets "$N"
jset workers "$WORKERS"
jset server_threads "$THREADS"
jstr started "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
T_ALL=$(now_ns)

# ---- a. the catalogue -------------------------------------------------------------------
step "a. catalogue of $N datasets in $CAT"
t0=$(now_ns)
if [ -f "$CAT/.gencat" ] && [ "$(cat "$CAT/.gencat")" = "datasets=$N seed=$SEED" ]; then
    echo "reusing $CAT"
    COMMANDS+=("$GENCAT --out $CAT --datasets $N --seed $SEED --quiet   (earlier; reused)")
    GEN_S=null
elif [ "$SKIP_GEN" = 1 ]; then
    die "--skip-gen: $CAT is missing or was not made with --datasets $N"
else
    rm -rf "$CAT"
    run gencat "$GENCAT" --out "$CAT" --datasets "$N" --seed "$SEED" --quiet
    echo "datasets=$N seed=$SEED" >"$CAT/.gencat"
    GEN_S=$(secs "$t0" "$(now_ns)")
    echo "generated in $GEN_S s"
fi
CAT_BYTES=$(du -sb "$CAT" | cut -f1)
CAT_LINES=$(cat "$CAT"/Instruments.json "$CAT"/Datasets.json "$CAT"/Documents.json | grep -c '^{' || true)
jset steps.generate "$(jq -n --argjson s "$GEN_S" --argjson b "$CAT_BYTES" --argjson r "$CAT_LINES" '{seconds:$s,bytes:$b,records:$r}')"
echo "catalogue: $CAT_LINES records, $CAT_BYTES bytes"

# ---- s. the store alone -------------------------------------------------------------------
if [ "$STORE_BENCH" = 1 ]; then
    SB_N=$((N < 100000 ? N : 100000))
    step "s. store-bench: $SB_N datasets put directly, batches of 1000"
    run store-bench "$SBENCH" --records "$SB_N" --dir "$OUT/store-bench-$N"
    rmdir "$OUT/store-bench-$N" 2>/dev/null || true
    grep -v '^{' "$LOG/store-bench"
    jset store_bench "$(grep '^{"bench":"store"' "$LOG/store-bench")"
fi

# ---- b. init and harvest --------------------------------------------------------------------
step "b. init and harvest into a fresh $DATA"
rm -rf "$DATA" "$LATE"
mkdir -p "$LATE"
cat >"$CFG" <<EOF
; pansift configuration of bench/run.sh for N=$N (generated)
[pansift]
data_dir = $DATA
log_level = warn
[server]
listen = 127.0.0.1:0
threads = $THREADS
access_log = false
[index]
rebuild_workers = $WORKERS
[source cat]
type = pan
url = file://$CAT
[source late]
type = pan
url = file://$LATE
enabled = false
EOF
echo '[]' >"$LATE/Instruments.json"
echo '[]' >"$LATE/Documents.json"
echo '[]' >"$LATE/Datasets.json"
run init "${P[@]}" init
t0=$(now_ns)
run harvest "${P[@]}" harvest cat
HARVEST_S=$(secs "$t0" "$(now_ns)")
SEEN=$(harvest_field seen "$LOG/harvest")
REJECTED=$(harvest_field rejected "$LOG/harvest")
ROWS=$(store_rows)
SBYTES=$(store_bytes)
jset steps.harvest "$(jq -n --argjson s "$HARVEST_S" --argjson n "$SEEN" --argjson rej "$REJECTED" \
    --argjson rows "$ROWS" --argjson b "$SBYTES" \
    '{seconds:$s,records:$n,rejected:$rej,records_per_s:($n/$s),store_rows:$rows,rows_per_s:($rows/$s),store_bytes:$b}')"
echo "harvest: $SEEN records ($REJECTED rejected) in $HARVEST_S s = $(ratio "$SEEN" "$HARVEST_S") records/s; $ROWS store rows = $(ratio "$ROWS" "$HARVEST_S") rows/s; store $((SBYTES / 1000000)) MB"

# ---- c. index, then rebuild -------------------------------------------------------------------
# Parse "index X: A change(s) applied (D deletions) in S s, R/s; DOCS documents, ..."
index_applied() { sed -nE 's/.*: ([0-9]+) change\(s\) applied.*/\1/p' "$1" | head -1; }
index_docs() { sed -nE 's/.*; ([0-9]+) documents.*/\1/p' "$1" | head -1; }
step "c. index (incremental, from empty), then index --rebuild with $WORKERS worker(s)"
t0=$(now_ns)
run index "${P[@]}" index
INDEX_S=$(secs "$t0" "$(now_ns)")
APPLIED=$(index_applied "$LOG/index")
DOCS=$(index_docs "$LOG/index")
IBYTES=$(index_bytes)
jset steps.index "$(jq -n --argjson s "$INDEX_S" --argjson a "$APPLIED" --argjson d "$DOCS" --argjson b "$IBYTES" \
    '{seconds:$s,changes:$a,documents:$d,docs_per_s:($a/$s),index_bytes:$b}')"
echo "index: $APPLIED changes, $DOCS documents in $INDEX_S s = $(ratio "$APPLIED" "$INDEX_S") docs/s; index $((IBYTES / 1000000)) MB"
t0=$(now_ns)
run rebuild "${P[@]}" index --rebuild
REBUILD_S=$(secs "$t0" "$(now_ns)")
RAPPLIED=$(index_applied "$LOG/rebuild")
RDOCS=$(index_docs "$LOG/rebuild")
RBYTES=$(index_bytes)
# A linear projection to 10^6 datasets (optimistic: writers slow down as
# their shards grow).
PROJ=$(awk -v s="$REBUILD_S" -v n="$N" 'BEGIN { printf "%.0f", s * 1000000 / n }')
jset steps.rebuild "$(jq -n --argjson s "$REBUILD_S" --argjson a "$RAPPLIED" --argjson d "$RDOCS" --argjson b "$RBYTES" \
    --argjson w "$WORKERS" --argjson p "$PROJ" \
    '{seconds:$s,workers:$w,changes:$a,documents:$d,docs_per_s:($a/$s),index_bytes:$b,projected_1m_datasets_s:$p}')"
echo "rebuild: $RAPPLIED documents in $REBUILD_S s = $(ratio "$RAPPLIED" "$REBUILD_S") docs/s; index $((RBYTES / 1000000)) MB; linear projection to 10^6 datasets: $PROJ s"

# ---- d. re-harvest, nothing changed ------------------------------------------------------------
step "d. re-harvest (nothing changed: the idempotent path)"
t0=$(now_ns)
run reharvest "${P[@]}" harvest cat
REHARVEST_S=$(secs "$t0" "$(now_ns)")
RSEEN=$(harvest_field seen "$LOG/reharvest")
RUNCH=$(harvest_field unchanged "$LOG/reharvest")
jset steps.reharvest "$(jq -n --argjson s "$REHARVEST_S" --argjson n "$RSEEN" --argjson u "$RUNCH" \
    '{seconds:$s,records:$n,unchanged:$u,records_per_s:($n/$s)}')"
echo "re-harvest: $RSEEN records ($RUNCH unchanged) in $REHARVEST_S s = $(ratio "$RSEEN" "$REHARVEST_S") records/s"
[ "$RSEEN" = "$RUNCH" ] || echo "run.sh: WARNING: the re-harvest changed $((RSEEN - RUNCH)) records" >&2

# ---- e. serve ------------------------------------------------------------------------------------
step "e. pansift serve ($THREADS threads)"
rm -f "$PORT_FILE"
COMMANDS+=("$PANSIFT --config $CFG serve --listen 127.0.0.1:0 --port-file $PORT_FILE")
t0=$(now_ns)
"$PANSIFT" --config "$CFG" serve --listen 127.0.0.1:0 --port-file "$PORT_FILE" \
    >"$LOG/serve" 2>&1 &
SERVE_PID=$!
for _ in $(seq 300); do
    [ -s "$PORT_FILE" ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { tail "$LOG/serve" >&2; die "pansift serve exited"; }
    sleep 0.1
done
[ -s "$PORT_FILE" ] || die "pansift serve wrote no port file in 30 s (see $LOG/serve)"
URL="http://127.0.0.1:$(cat "$PORT_FILE")"
ok=0
for _ in $(seq 300); do
    if curl -sf -o /dev/null "$URL/health"; then ok=1; break; fi
    sleep 0.1
done
[ $ok = 1 ] || die "$URL/health does not answer (see $LOG/serve)"
SERVE_S=$(secs "$t0" "$(now_ns)")
jset steps.serve "$(jq -n --argjson s "$SERVE_S" --arg u "$URL" '{start_seconds:$s,url:$u}')"
echo "serving at $URL (healthy after $SERVE_S s)"
enc() { jq -rn --arg s "$1" '$s|@uri'; }
# check_server WHAT: fail clearly if pansift serve is gone.
check_server() {
    kill -0 "$SERVE_PID" 2>/dev/null && return 0
    local st=0
    wait "$SERVE_PID" || st=$?
    SERVE_PID=
    local how="exit status $st"
    [ $st -gt 128 ] && how="killed by signal $((st - 128)) ($(kill -l $((st - 128)) 2>/dev/null || echo '?'))"
    tail -5 "$LOG/serve" >&2
    die "pansift serve died during $1: $how (see $LOG/serve; a crash leaves a line in dmesg)"
}

# ---- f. freshness ----------------------------------------------------------------------------------
step "f. freshness: harvest one new dataset, poll until it is searchable"
INSTR=$(grep -m1 -o '"instrumentId":"[^"]*"' "$CAT/Datasets.json" | cut -d'"' -f4)
FRESH=()
FRESH_H=()
for i in 1 2 3 4 5; do
    word=fresh$(date +%s%N | tail -c 9)x$i
    title="Freshness probe $word"
    pid="10.5291/BENCH-LATE/$word"
    # The late source lists everything it has: the earlier probes stay.
    {
        echo '['
        for k in $(seq 1 $((i - 1))); do cat "$LATE/rec-$k"; echo ','; done
        jq -cn --arg p "$pid" --arg t "$title" --arg d "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" --arg ins "$INSTR" \
            '{pid:$p,title:$t,isPublic:true,creationDate:$d,size:1000,instrumentId:$ins,files:[],samples:[],techniques:[],parameters:[]}' \
            | tee "$LATE/rec-$i"
        echo ']'
    } >"$LATE/Datasets.json.tmp"
    mv "$LATE/Datasets.json.tmp" "$LATE/Datasets.json"
    q="$URL/api/Datasets?filter=$(enc "{\"where\":{\"title\":\"$title\"}}")"
    [ "$(curl -s "$q" | jq length)" = 0 ] || die "freshness: $title is found before it is harvested"
    h0=$(now_ns)
    run "late-$i" "${P[@]}" harvest late
    check_server "the freshness harvest"
    t0=$(now_ns)
    found=0
    while [ $(($(now_ns) - t0)) -lt 30000000000 ]; do
        if [ "$(curl -s "$q" | jq length)" = 1 ]; then found=1; break; fi
        sleep 0.02
    done
    t1=$(now_ns)
    [ $found = 1 ] || die "freshness: $title is not searchable 30 s after it was stored"
    FRESH+=($(( (t1 - t0) / 1000000 )))
    FRESH_H+=($(( (t0 - h0) / 1000000 )))
    echo "probe $i: harvest took ${FRESH_H[-1]} ms, searchable ${FRESH[-1]} ms after it was stored"
done
FRESH_MED=$(printf '%s\n' "${FRESH[@]}" | sort -n | sed -n 3p)
FRESH_MAX=$(printf '%s\n' "${FRESH[@]}" | sort -n | tail -1)
jset steps.freshness "$(printf '%s\n' "${FRESH[@]}" | jq -s --argjson h "$(printf '%s\n' "${FRESH_H[@]}" | jq -s -c .)" \
    '{ms:.,median_ms:(sort|.[2]),max_ms:max,harvest_ms:$h}')"
echo "freshness: median $FRESH_MED ms, max $FRESH_MAX ms (target <= 2000 ms)"

# ---- g. query latency ----------------------------------------------------------------------------
if [ "$N" -ge 100000 ]; then TYPES=""; else TYPES=all; fi
step "g. query-bench ($QUERIES requests per type${TYPES:+, all types including text_where})"
COMMANDS+=("$QBENCH --url $URL --catalogue $CAT --n $QUERIES --seed $SEED${TYPES:+ --types $TYPES}")
bg_wait "$LOG/query-bench" "$QBENCH" --url "$URL" --catalogue "$CAT" --n "$QUERIES" \
    --seed "$SEED" ${TYPES:+--types "$TYPES"}
qrc=$WAIT_STATUS
check_server "query-bench"
# Status 3: some requests failed (counted in the figures); anything else is an error.
if [ $qrc -ne 0 ] && [ $qrc -ne 3 ]; then
    cat "$LOG/query-bench" >&2
    die "query-bench failed (status $qrc)"
fi
grep -v '^{' "$LOG/query-bench"
jset query_bench "$(grep '^{"bench":"query"' "$LOG/query-bench")"

# ---- h. wrk ---------------------------------------------------------------------------------------
step "h. wrk -t2 -c32 -d${WRK_S}s (client and server share the machine's $(nproc) cores)"
# to_ms VALUE: wrk's "1.23ms" / "850.00us" / "1.02s" in ms
to_ms() { awk -v v="$1" 'BEGIN { u = v; gsub(/[0-9.]/, "", u); x = v + 0;
    if (u == "us") x /= 1000; else if (u == "s") x *= 1000; else if (u == "m") x *= 60000;
    printf "%.3f", x }'; }
# The most common instrument of the first 2000 datasets (head reads the file
# itself: no SIGPIPE under pipefail).
WINSTR=$(head -n 2000 "$CAT/Datasets.json" | grep -o '"instrumentId":"[^"]*"' | cut -d'"' -f4 |
    sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
WURLS=(
    "health|$URL/health"
    "browse|$URL/api/Datasets?filter=$(enc '{"limit":20}')"
    "instrument|$URL/api/Datasets?filter=$(enc "{\"where\":{\"instrumentId\":\"$WINSTR\"},\"limit\":20}")"
    "query|$URL/api/Datasets?filter=$(enc '{"query":"neutron scattering","limit":20}')"
)
for w in "${WURLS[@]}"; do
    name=${w%%|*}
    u=${w#*|}
    code=$(curl -s -o /dev/null -w '%{http_code}' "$u")
    [ "$code" = 200 ] || die "wrk $name: $u answers $code"
    run "wrk-$name" wrk -t2 -c32 -d"${WRK_S}s" --latency "$u"
    check_server "wrk on $name ($u)"
    f=$LOG/wrk-$name
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
    non2xx=$(awk '/Non-2xx/ { print $NF }' "$f")
    errs=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$f")
    jset "wrk.$name" "$(jq -n --argjson r "$rps" --argjson a "$p50" --argjson b "$p99" \
        --argjson x "${non2xx:-0}" --argjson e "${errs:-0}" --arg u "$u" \
        '{url:$u,requests_per_s:$r,p50_ms:$a,p99_ms:$b,non_2xx:$x,socket_errors:$e}')"
    printf '%-11s %10.0f req/s  p50 %8.3f ms  p99 %8.3f ms%s\n' "$name" "$rps" "$p50" "$p99" \
        "$( [ -n "$non2xx$errs" ] && [ "${non2xx:-0}${errs:-0}" != 00 ] && echo "  (non-2xx ${non2xx:-0}, socket errors ${errs:-0})")"
done

# ---- i. stop the server, summary ------------------------------------------------------------------
step "i. stop the server"
check_server "the benchmark"
kill -TERM "$SERVE_PID"
src=0
wait "$SERVE_PID" || src=$?
SERVE_PID=
[ $src -eq 0 ] || echo "run.sh: WARNING: pansift serve exited with status $src on SIGTERM" >&2
jset steps.serve.exit_status "$src"
TOTAL_S=$(secs "$T_ALL" "$(now_ns)")
jset total_seconds "$TOTAL_S"

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
MACHINE="$(nproc) cores, $CPU, $MEM RAM, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
jstr machine "$MACHINE"
jset commands "$(printf '%s\n' "${COMMANDS[@]}" | jq -R . | jq -s -c .)"
jstr version "$("$PANSIFT" --version 2>/dev/null | head -1 || true)"
mv "$RESULTS.tmp" "$RESULTS"
rm -f "$OUT/results-$N.failed.json"

R() { jq -r "$1" "$RESULTS"; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
echo
echo "## pansift benchmark, N = $N datasets"
echo
echo "Machine: $MACHINE"
echo
echo "| step | seconds | throughput | notes |"
echo "|---|---:|---:|---|"
if [ "$GEN_S" = null ]; then
    echo "| catalogue (reused) | | | $CAT_LINES records, $((CAT_BYTES / 1000000)) MB |"
else
    echo "| generate catalogue | $GEN_S | | $CAT_LINES records, $((CAT_BYTES / 1000000)) MB |"
fi
if [ "$STORE_BENCH" = 1 ]; then
    echo "| store-bench insert ($(R .store_bench.insert.records) datasets) | $(R '.store_bench.insert.seconds*1000|round/1000') | $(fmt "$(R .store_bench.insert.records_per_s)") datasets/s, $(fmt "$(R .store_bench.insert.rows_per_s)") rows/s | store calls only, raw $(R .store_bench.raw); target >= 50,000 records/s |"
    echo "| store-bench re-put unchanged | $(R '.store_bench.reput.seconds*1000|round/1000') | $(fmt "$(R .store_bench.reput.records_per_s)") datasets/s | idempotent path |"
fi
echo "| harvest (file://) | $HARVEST_S | $(ratio "$SEEN" "$HARVEST_S") records/s, $(ratio "$ROWS" "$HARVEST_S") rows/s | $SEEN records, $ROWS rows, store $((SBYTES / 1000000)) MB |"
echo "| index (incremental, from empty) | $INDEX_S | $(ratio "$APPLIED" "$INDEX_S") docs/s | $DOCS documents, $((IBYTES / 1000000)) MB |"
echo "| index --rebuild ($WORKERS workers) | $REBUILD_S | $(ratio "$RAPPLIED" "$REBUILD_S") docs/s | $((RBYTES / 1000000)) MB; 10^6 datasets projected $PROJ s (target <= 420 s) |"
echo "| re-harvest, unchanged | $REHARVEST_S | $(ratio "$RSEEN" "$REHARVEST_S") records/s | $RUNCH of $RSEEN unchanged |"
echo "| freshness (5 probes) | | | median $FRESH_MED ms, max $FRESH_MAX ms (target <= 2000 ms) |"
echo
echo "Query latency (query-bench, one keep-alive connection, ms):"
echo
echo "| type | n | failures | mean | p50 | p90 | p99 | max | records per answer |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
jq -r '.query_bench.types | to_entries[] | "| \(.key) | \(.value.n) | \(.value.failures) | \(.value.mean_ms*100|round/100) | \(.value.p50_ms*100|round/100) | \(.value.p90_ms*100|round/100) | \(.value.p99_ms*100|round/100) | \(.value.max_ms*100|round/100) | \(.value.mean_hits*10|round/10) |"' "$RESULTS"
echo
echo "wrk -t2 -c32 -d${WRK_S}s --latency, pansift serve with $THREADS threads (wrk shares the cores with the server):"
echo
echo "| URL | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|"
jq -r '.wrk | to_entries[] | "| \(.key) | \(.value.requests_per_s|round) | \(.value.p50_ms) | \(.value.p99_ms) | \(.value.non_2xx + .value.socket_errors) |"' "$RESULTS"
echo
echo "Total: $TOTAL_S s. Figures: $RESULTS; logs: $LOG"
echo
echo "Commands:"
echo
printf '    %s\n' "${COMMANDS[@]}"
