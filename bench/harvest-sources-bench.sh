#!/usr/bin/env bash
# harvest-sources-bench.sh: records per second into the store for several
# source types, measured side by side in one run on the same machine, each
# from a loopback replay (ps-replay) of real records of the shared corpus:
#   invenio   the 8,444 CERN Open Data records, pages of 100
#   crossref  the corpus works repeated with new DOIs (N works), pages of
#             1,000, with their references as links
#   oai-pmh   N oai_dc records, pages of 100 (bench/harvest-oai-bench.sh)
# Each is harvested RUNS times into a fresh store with the release build,
# and the median is printed. Not a test: run it by hand and put the
# figures in docs/benchmarks.md.
#
#   bench/harvest-sources-bench.sh [--runs R] [--works N] [--build DIR]
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RUNS=3
WORKS=5000
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --works) WORKS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
CORPUS=$ROOT/../shared/corpus
PANSIFT=$BUILD/pansift
REPLAY=$BUILD/tests/ps-replay
[ -x "$PANSIFT" ] && [ -x "$REPLAY" ] || {
    echo "build the release first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release" >&2
    exit 2
}
[ -d "$CORPUS" ] || { echo "no shared corpus at $CORPUS" >&2; exit 2; }
T=$(mktemp -d /tmp/pansift-hbench.XXXXXX)
RPID=""
trap '[ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$T"' EXIT

replay() { # replay DIR [ARGS...]: starts ps-replay, sets BASE
    local dir=$1
    shift
    [ -n "$RPID" ] && { kill "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null || true; }
    rm -f "$T/port"
    "$REPLAY" --dir "$dir" --port-file "$T/port" "$@" >/dev/null 2>&1 &
    RPID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    BASE="http://127.0.0.1:$(cat "$T/port")"
}
# run NAME SECTION: RUNS fresh harvests; prints records/s of each and the
# median.
run() {
    local name=$1 section=$2 rates=() n secs
    for r in $(seq "$RUNS"); do
        rm -rf "$T/data"
        printf '[pansift]\ndata_dir = %s\nlog_level = error\n%s\n' "$T/data" "$section" > "$T/p.ini"
        "$PANSIFT" --quiet --config "$T/p.ini" init >/dev/null
        local t0 t1
        t0=$(date +%s.%N)
        out=$("$PANSIFT" --quiet --config "$T/p.ini" harvest 2>&1 || true)
        t1=$(date +%s.%N)
        n=$(echo "$out" | sed -n 's/.* \([0-9]*\) seen.*/\1/p' | head -1)
        secs=$(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}')
        rates+=("$(echo "$n $secs" | awk '{printf "%.0f", $1 / $2}')")
        echo "$name run $r: $n records in $secs s = ${rates[-1]} records/s"
    done
    local med
    med=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$name: median $med records/s"
}

# invenio: the CERN Open Data records.
mkdir -p "$T/inv"
jq -n -c --argjson size 100 --argjson window 100000 --argjson broken -1 \
    -f "$ROOT/tests/tools/invenio-pages.jq" "$CORPUS"/invenio-cern/*.json >"$T/inv/pages.json"
replay "$T/inv" --prefix /api
run invenio "[source cern]
type = invenio
url = $BASE/api
page_size = 100
max_page_size = 100"

# crossref: the corpus works, repeated with new DOIs.
mkdir -p "$T/cr"
jq -s -c --argjson n "$WORKS" '
  map(.message // .) as $w
  | [range(0; $n) as $i | $w[$i % ($w | length)]
     | .DOI = "10.99999/bench.\($i)" | .title = ["\(.title[0] // "work") \($i)"]]' \
  "$CORPUS"/crossref/*.json >"$T/works.json"
bash "$ROOT/tests/tools/crossref-pages.sh" "$T/works.json" 1000 "rows=1000" >"$T/cr/pages.json"
replay "$T/cr"
run crossref "[source cr]
type = crossref
url = $BASE
page_size = 1000"

# oai-pmh: its own bench script (same build, same machine, now).
kill "$RPID" 2>/dev/null || true
RPID=""
bash "$ROOT/bench/harvest-oai-bench.sh" --runs "$RUNS" --build "$BUILD" | tail -1 | sed 's/^/oai-pmh: /'
