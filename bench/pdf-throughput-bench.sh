#!/usr/bin/env bash
# pdf-throughput-bench.sh: text extraction throughput (pages per second, all
# cores) of pansift against poppler's own `pdftotext` (Debian package
# poppler-utils, scripts/setup --bench) on the same files: the PDFs of
# ../shared/corpus/pdf/jose and ../shared/corpus/pdf/robustness. Both use
# every core: pansift as one `pansift pdf-extract --jobs N FILE...` (one
# forked, guarded child per file, JSON lines out, all from one
# process), pdftotext as one process per file through `xargs -P N`; and, for
# comparison, `pansift pdf-extract FILE` per file through `xargs -P N`
# (a program start per file). The three run side by side, in turn, RUNS
# times; printed are the medians of wall-clock and CPU time (user + system,
# children included) as pages per second, and the ratios pansift --jobs /
# pdftotext (issue 5's target: at most 1.5).
# Pages are counted with pdfinfo. The release build: not a test, run it by
# hand and put the figures in docs/benchmarks.md.
#
#   bench/pdf-throughput-bench.sh [--runs R] [--jobs N] [--build DIR]
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
RUNS=5
JOBS=$(nproc)
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
PANSIFT=$BUILD/pansift
CORPUS=$ROOT/../shared/corpus/pdf
[ -x "$PANSIFT" ] || {
    echo "build the release first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release" >&2
    exit 2
}
for p in pdftotext pdfinfo; do
    command -v "$p" >/dev/null || { echo "no $p: scripts/setup --bench (poppler-utils)" >&2; exit 2; }
done
files=()
for f in "$CORPUS"/jose/*.pdf "$CORPUS"/robustness/*.pdf; do
    [ -f "$f" ] && files+=("$f")
done
[ ${#files[@]} -gt 0 ] || { echo "no PDFs under $CORPUS" >&2; exit 2; }
pages=0
for f in "${files[@]}"; do
    n=$(pdfinfo "$f" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    pages=$((pages + ${n:-0}))
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "poppler: $(pdftotext -v 2>&1 | head -1); files: ${#files[@]}, pages: $pages; jobs: $JOBS; runs: $RUNS"

T=$(mktemp -d /tmp/pansift-pdfbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
# time_ms COMMAND...: runs it (output thrown away), prints the wall-clock
# milliseconds and the CPU milliseconds (user + system, children
# included: on a shared machine the CPU time says more than the wall).
time_ms() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -o "$T/cpu" -f '%U %S' "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000000)) $(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$T/cpu")"
}
files0() { printf '%s\0' "${files[@]}"; }
pansift_jobs=("$PANSIFT" pdf-extract --jobs "$JOBS" "${files[@]}")
pdftotext_xargs=(xargs -0 -a "$T/files" -P "$JOBS" -I{} pdftotext -q {} -)
pansift_xargs=(xargs -0 -a "$T/files" -P "$JOBS" -I{} "$PANSIFT" pdf-extract {})
files0 >"$T/files"

# Warm the page cache and the dynamic loader once.
time_ms "${pansift_jobs[@]}" >/dev/null
time_ms "${pdftotext_xargs[@]}" >/dev/null

a=() b=() c=() ca=() cb=() cc=()
for r in $(seq "$RUNS"); do
    read -r w u < <(time_ms "${pansift_jobs[@]}"); a+=("$w"); ca+=("$u")
    read -r w u < <(time_ms "${pdftotext_xargs[@]}"); b+=("$w"); cb+=("$u")
    read -r w u < <(time_ms "${pansift_xargs[@]}"); c+=("$w"); cc+=("$u")
    echo "run $r (wall / CPU ms): pansift --jobs ${a[-1]} / ${ca[-1]}, pdftotext ${b[-1]} / ${cb[-1]}, pansift per file ${c[-1]} / ${cc[-1]}"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pps() { awk -v p="$pages" -v ms="$1" 'BEGIN { printf "%.0f", p * 1000 / ms }'; }
ma=$(median "${a[@]}") mb=$(median "${b[@]}") mc=$(median "${c[@]}")
ua=$(median "${ca[@]}") ub=$(median "${cb[@]}") uc=$(median "${cc[@]}")
echo "pansift pdf-extract --jobs $JOBS: median $ma ms = $(pps "$ma") pages/s; CPU $ua ms = $(pps "$ua") pages per CPU-second"
echo "pdftotext, xargs -P $JOBS:        median $mb ms = $(pps "$mb") pages/s; CPU $ub ms = $(pps "$ub") pages per CPU-second"
echo "pansift per file, xargs -P $JOBS: median $mc ms = $(pps "$mc") pages/s; CPU $uc ms = $(pps "$uc") pages per CPU-second"
echo "ratio pansift --jobs / pdftotext: wall $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }'), CPU $(awk -v a="$ua" -v b="$ub" 'BEGIN { printf "%.2f", a / b }') (target: at most 1.5)"
