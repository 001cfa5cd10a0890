#!/usr/bin/env bash
# federation-bench.sh: what the federation costs (issue 7). Three local
# providers (pansift serve, each with its own pansift-gencat catalogue of N
# datasets) behind a federating pansift ([federation] local = false,
# cache_ttl_ms = 0, so that every request really fans out). For each typical
# request (find limit 20, a deeper page, find with query, count, by pid) and
# each sample, the federated request and the three requests the federation
# forwards (sent in parallel, as the fan-out sends them; the two in turn
# first, so that neither side always finds the providers' caches warm) are
# timed with curl, and the overhead is
#   federated latency - the slowest provider's latency.
# Its p50 and p95 per run, and their median over the runs, are printed
# (target: p50 <= 5 ms). Then a fourth provider that stalls (ps-replay
# --fault all:stall) joins with `timeout` = T ms, and the answer time minus T
# is printed (target: <= 5 ms). Not a test: run it by hand on a quiet
# machine with the release build and put the figures in docs/benchmarks.md.
#
#   bench/federation-bench.sh [--datasets N] [--runs R] [--samples S]
#       [--stall-samples K] [--timeout-ms T] [--build DIR] [--out DIR]
#
# Defaults: N = 10000, R = 3, S = 100, K = 20, T = 500, build/release,
# /tmp/pansift-fedbench (catalogues and stores are kept there and reused
# by a later run with the same N).
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
N=10000
RUNS=3
SAMPLES=100
STALLS=20
TIMEOUT=500
OUT=/tmp/pansift-fedbench
while [ $# -gt 0 ]; do
    case $1 in
    --datasets) N=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --stall-samples) STALLS=$2; shift 2 ;;
    --timeout-ms) TIMEOUT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
PANSIFT=$BUILD/pansift
GENCAT=$BUILD/pansift-gencat
REPLAY=$BUILD/tests/ps-replay
[ -x "$PANSIFT" ] && [ -x "$GENCAT" ] && [ -x "$REPLAY" ] || {
    echo "build the release first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2
    exit 2
}
command -v jq >/dev/null || { echo "jq is needed (scripts/setup --bench)" >&2; exit 2; }
mkdir -p "$OUT"
T=$(mktemp -d /tmp/pansift-fedbench-run.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -z "$p" ] || kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do [ -z "$p" ] || wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

declare -A URL SPID
# serve NAME INI: starts `pansift serve`; sets URL[NAME] and SPID[NAME].
serve() {
    local name=$1 ini=$2
    rm -f "$T/$name.port"
    "$PANSIFT" --config "$ini" serve --port-file "$T/$name.port" >"$T/$name.out" 2>"$T/$name.err" &
    PIDS+=($!)
    SPID[$name]=$!
    for _ in $(seq 200); do [ -s "$T/$name.port" ] && break; sleep 0.05; done
    [ -s "$T/$name.port" ] || { echo "$name did not start: $(tail -3 "$T/$name.err")" >&2; exit 1; }
    URL[$name]="http://127.0.0.1:$(cat "$T/$name.port")"
    for _ in $(seq 200); do curl -sf "${URL[$name]}/health" >/dev/null && return 0; sleep 0.05; done
    echo "$name is not healthy" >&2
    exit 1
}
stop() {
    kill "${SPID[$1]}" 2>/dev/null || true
    wait "${SPID[$1]}" 2>/dev/null || true
}

# The providers: a catalogue and a store each, made once per N.
for s in 1 2 3; do
    dir=$OUT/n$N-p$s
    ini=$dir/pansift.ini
    if [ ! -f "$dir/ready" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        echo "making provider p$s: $N datasets (seed $s)" >&2
        "$GENCAT" --out "$dir/cat" --datasets "$N" --seed "$s" --quiet
        printf '[pansift]\ndata_dir = %s/data\nlog_level = error\n[server]\nlisten = 127.0.0.1:0\naccess_log = false\n[source p%s]\ntype = pan\nurl = file://%s/cat\n' \
            "$dir" "$s" "$dir" >"$ini"
        "$PANSIFT" --quiet --config "$ini" init >/dev/null
        "$PANSIFT" --quiet --config "$ini" harvest >/dev/null
        "$PANSIFT" --quiet --config "$ini" index >/dev/null
        touch "$dir/ready"
    fi
    serve "p$s" "$ini"
done
provider_sections() {
    for s in 1 2 3; do
        printf '[provider p%s]\nurl = %s/api\ntimeout = 5000\n' "$s" "${URL[p$s]}"
    done
}
fed_ini() { # fed_ini FILE [EXTRA SECTIONS]
    { printf '[pansift]\ndata_dir = %s/fed-data\nlog_level = error\n' "$T"
      printf '[server]\nlisten = 127.0.0.1:0\naccess_log = false\n'
      printf '[federation]\nlocal = false\ncache_ttl_ms = 0\nbreaker_failures = 1000\ndeadline_ms = 10000\n'
      provider_sections
      printf '%s\n' "${2:-}"; } >"$1"
}
fed_ini "$T/fed.ini"
"$PANSIFT" --quiet --config "$T/fed.ini" init >/dev/null

# A dataset of p2's for by pid (p1 is asked too, and answers 404).
PID2=$(curl -s -g "${URL[p2]}/api/Datasets?filter={\"limit\":1,\"skip\":77,\"fields\":[\"pid\"]}" | jq -r '.[0].pid')
PID2_ENC=$(jq -rn --arg p "$PID2" '$p | @uri')
enc() { jq -rn --arg s "$1" '$s | @uri'; }

# The request types: name, the federated path+query, the forwarded one.
REQS=(
    "find-limit-20|/api/Datasets?filter=$(enc '{"limit":20}')|/api/Datasets?filter=$(enc '{"limit":20,"order":"title ASC"}')"
    "find-page-5|/api/Datasets?filter=$(enc '{"skip":80,"limit":20}')|/api/Datasets?filter=$(enc '{"limit":100,"order":"title ASC"}')"
    "find-query|/api/Datasets?filter=$(enc '{"query":"scattering","limit":20}')|/api/Datasets?filter=$(enc '{"query":"scattering","limit":20}')"
    "count|/api/Datasets/count|/api/Datasets/count"
    "by-pid|/api/Datasets/$PID2_ENC|/api/Datasets/$PID2_ENC"
)

ms() { curl -s -g -o /dev/null -w '%{time_total}\n' "$1" | awk '{printf "%.3f", $1 * 1000}'; }
# sample FEDPATH FWDPATH: one overhead in ms.
sample() {
    local f a b c first=$3 j1 j2 j3
    if [ "$first" = 0 ]; then f=$(ms "${URL[fed]}$1"); fi
    ms "${URL[p1]}$2" >"$T/a" &
    j1=$!
    ms "${URL[p2]}$2" >"$T/b" &
    j2=$!
    ms "${URL[p3]}$2" >"$T/c" &
    j3=$!
    wait "$j1" "$j2" "$j3"
    if [ "$first" = 1 ]; then f=$(ms "${URL[fed]}$1"); fi
    a=$(cat "$T/a"); b=$(cat "$T/b"); c=$(cat "$T/c")
    echo "$f $a $b $c" | awk '{m = $2; if ($3 > m) m = $3; if ($4 > m) m = $4; printf "%.3f %.3f %.3f\n", $1 - m, $1, m}'
}
pct() { # pct P < numbers: the P-th percentile (nearest rank)
    sort -g | awk -v p="$1" '{a[NR] = $1} END {i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print a[i]}'
}
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "providers: 3 x $N datasets (pansift-gencat seeds 1, 2, 3), federator local = false, cache off"
for r in "${REQS[@]}"; do
    IFS='|' read -r name fed fwd <<<"$r"
    # a fresh federator per request type, so that its status report's
    # latencies are this type's
    serve fed "$T/fed.ini"
    # warm-up
    for _ in 1 2 3 4 5; do ms "${URL[fed]}$fed" >/dev/null; done
    p50s=() p95s=()
    for run in $(seq "$RUNS"); do
        : >"$T/ov"
        for i in $(seq "$SAMPLES"); do sample "$fed" "$fwd" $((i % 2)) >>"$T/ov"; done
        p50s+=("$(cut -d' ' -f1 "$T/ov" | pct 50)")
        p95s+=("$(cut -d' ' -f1 "$T/ov" | pct 95)")
        echo "$name run $run: overhead p50 ${p50s[-1]} ms, p95 ${p95s[-1]} ms;" \
            "federated p50 $(cut -d' ' -f2 "$T/ov" | pct 50) ms, slowest provider p50 $(cut -d' ' -f3 "$T/ov" | pct 50) ms"
    done
    echo "$name: overhead median of runs: p50 $(printf '%s\n' "${p50s[@]}" | median) ms, p95 $(printf '%s\n' "${p95s[@]}" | median) ms"
    # The federator's own view: its providers' latency p50 (curl, inside the
    # fan-out) against the federated p50 seen by the client.
    slow=$(curl -s "${URL[fed]}/api/federation/status" | jq '[.providers[].latency_ms.p50] | max')
    echo "$name: status view: slowest provider p50 (measured by the federator) $slow ms"
    stop fed
done

# One provider that stalls, with timeout T.
mkdir -p "$T/rec"
echo '{"request":"GET /Datasets/count","filter":null,"status":200,"body":{"count":1}}' >"$T/rec/c.json"
rm -f "$T/stall.port"
"$REPLAY" --dir "$T/rec" --prefix /api --port-file "$T/stall.port" --fault all:stall --stall-ms 600000 \
    >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/stall.port" ] && break; sleep 0.05; done
fed_ini "$T/fed-stall.ini" "[provider stall]
url = http://127.0.0.1:$(cat "$T/stall.port")/api
timeout = $TIMEOUT"
serve fedstall "$T/fed-stall.ini"
: >"$T/st"
path=$(cut -d'|' -f2 <<<"${REQS[0]}")
for i in $(seq "$STALLS"); do
    h=$(curl -s -g -o /dev/null -D - -w 'TIME %{time_total}\n' "${URL[fedstall]}$path" || true)
    echo "$h" | grep -qi 'stall=timeout' || { echo "stall sample $i: no stall=timeout in the answer" >&2; }
    echo "$h" | sed -n 's/^TIME //p' | awk -v t="$TIMEOUT" '{printf "%.3f\n", $1 * 1000 - t}' >>"$T/st"
done
echo "stalled provider (timeout $TIMEOUT ms), find limit 20, $STALLS requests: answer - timeout:" \
    "p50 $(pct 50 <"$T/st") ms, p95 $(pct 95 <"$T/st") ms, max $(pct 100 <"$T/st") ms"
