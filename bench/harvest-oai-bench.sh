#!/usr/bin/env bash
# harvest-oai-bench.sh: how fast the oai-pmh source writes records into the
# store. It makes N realistic oai_dc records (the Erasmus DSpace records of
# the shared corpus, cycled with distinct identifiers and datestamps) as a
# ListRecords chain of pages of 100 with resumption tokens, serves them with
# ps-replay on the loopback, and times `pansift harvest` of a fresh store
# (release build) RUNS times; it prints records/s of each run and the
# median. Not a test: run it by hand and put the figure in
# docs/benchmarks.md. Everything goes under OUT (default
# /tmp/pansift-oai-bench).
#
#   bench/harvest-oai-bench.sh [--records N] [--runs R] [--out DIR]
#                              [--build DIR]
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=20000
RUNS=3
OUT=/tmp/pansift-oai-bench
BUILD=$ROOT/build/release
while [ $# -gt 0 ]; do
    case $1 in
    --records) N=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
CORPUS=$ROOT/../shared/corpus/oai-pmh/dspace-eur
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS" >&2; exit 2; }

if [ ! -x "$BUILD/pansift" ] || [ ! -x "$BUILD/tests/ps-replay" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j2 --target pansift ps-replay >/dev/null
fi
PANSIFT=$BUILD/pansift
REPLAY=$BUILD/tests/ps-replay

rm -rf "$OUT"
mkdir -p "$OUT/ex"
perl "$ROOT/tests/tools/oai-pages.pl" --per-page 100 --total "$N" --live-only \
    --path /oai "$CORPUS/fake1/00005.xml" "$CORPUS/fake2/00002.xml" \
    > "$OUT/ex/pages.json"
jq -n --rawfile body "$CORPUS/fake1/00001.xml" \
    '{method:"GET",path:"/oai?verb=Identify",status:200,headers:{"Content-Type":"text/xml"},body:$body}' \
    > "$OUT/ex/identify.json"
echo "records: $N in $(jq length "$OUT/ex/pages.json") pages, $(du -h "$OUT/ex/pages.json" | cut -f1) of exchanges"

"$REPLAY" --dir "$OUT/ex" --port-file "$OUT/port" >"$OUT/replay.out" 2>&1 &
RPID=$!
trap 'kill $RPID 2>/dev/null; wait $RPID 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$OUT/port")/oai"

rates=()
for r in $(seq "$RUNS"); do
    rm -rf "$OUT/data"
    cat > "$OUT/pansift.ini" <<EOF
[pansift]
data_dir = $OUT/data
log_level = warn
[source bench]
type = oai-pmh
url = $URL
EOF
    "$PANSIFT" --config "$OUT/pansift.ini" init >/dev/null
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s%N)
    out=$(/usr/bin/time -f 'cpu %U %S' -o "$OUT/cpu" \
        "$PANSIFT" --quiet --config "$OUT/pansift.ini" harvest 2>&1)
    t1=$(date +%s%N)
    seen=$(echo "$out" | grep -o '[0-9]* new' | head -1 | cut -d' ' -f1)
    [ "$seen" = "$N" ] || { echo "run $r: expected $N new records: $out" >&2; exit 1; }
    rate=$(awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
    cpu=$(awk '/^cpu/ { printf "%.2f", $2 + $3 }' "$OUT/cpu")
    echo "run $r: $N records in $(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", ns / 1e9 }') s = $rate records/s" \
        "(harvester CPU $cpu s = $(awk -v n="$N" -v c="$cpu" 'BEGIN { printf "%.0f", n / c }') records per CPU-second; load average $load)"
    rates+=("$rate")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median of $RUNS runs: $median records/s (oai_dc, pages of 100, $(nproc) cores, $(uname -m))"
