#!/usr/bin/env bash
# harvest-pdf-bench.sh: the pdf source end to end (listing, hashing,
# extraction in spawned `pansift pdf-extract` processes, mentions, store
# writes), in PDFs and pages per second, with 1 job and with one job per
# core, side by side in one run. The corpus is the JOSE papers of the shared
# corpus copied COPIES times, each copy made different by a trailing PDF
# comment (the same bytes would be read once). Each setting is harvested
# RUNS times into a fresh store with the release build; medians are
# printed. Not a test: run it by hand and put the figures in
# docs/benchmarks.md.
#
#   bench/harvest-pdf-bench.sh [--runs R] [--copies N] [--build DIR]
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RUNS=3
COPIES=4
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --copies) COPIES=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
JOSE=$ROOT/../shared/corpus/pdf/jose
PANSIFT=$BUILD/pansift
[ -x "$PANSIFT" ] || {
    echo "build the release first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release" >&2
    exit 2
}
[ -d "$JOSE" ] || { echo "no JOSE corpus at $JOSE" >&2; exit 2; }
T=$(mktemp -d /tmp/pansift-pdfbench.XXXXXX)
trap 'rm -rf "$T"' EXIT

mkdir -p "$T/papers"
for c in $(seq 1 "$COPIES"); do
    for f in "$JOSE"/*.pdf; do
        { cat "$f"; printf '\n%% copy %d\n' "$c"; } > "$T/papers/$c-$(basename "$f")"
    done
done
npdf=$(ls "$T/papers" | wc -l)
pages=$(( $(for f in "$JOSE"/*.pdf; do "$PANSIFT" --quiet pdf-extract --no-text "$f" | jq .pages; done | paste -sd+ | bc) * COPIES ))
echo "corpus: $npdf PDFs, $pages pages ($COPIES copies of the JOSE papers); $(nproc) cores"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
run() { # run JOBS: seconds of one harvest into a fresh store
    rm -rf "$T/data"
    printf '[pansift]\ndata_dir = %s\nlog_level = warn\n[source papers]\ntype = pdf\nurl = file://%s\njobs = %s\n' \
        "$T/data" "$T/papers" "$1" > "$T/p.ini"
    "$PANSIFT" --quiet --config "$T/p.ini" init >/dev/null
    local t0 t1
    t0=$(date +%s%N)
    "$PANSIFT" --quiet --config "$T/p.ini" harvest >/dev/null 2>&1
    t1=$(date +%s%N)
    local n
    n=$(sqlite3 "$T/data/store.db" "SELECT count(*) FROM pdf_file WHERE state = 0")
    [ "$n" -eq "$npdf" ] || { echo "only $n of $npdf PDFs extracted" >&2; exit 1; }
    echo "scale=3; ($t1 - $t0) / 1000000000" | bc
}

declare -A secs
for r in $(seq 1 "$RUNS"); do
    for j in 1 "$(nproc)"; do
        secs[$j]+="$(run "$j") "
    done
done
for j in 1 "$(nproc)"; do
    m=$(echo "${secs[$j]}" | tr ' ' '\n' | grep . | median)
    printf 'jobs=%s: median %.2f s (runs: %s) = %.1f PDFs/s, %.1f pages/s\n' \
        "$j" "$m" "${secs[$j]% }" "$(echo "$npdf / $m" | bc -l)" "$(echo "$pages / $m" | bc -l)"
done
