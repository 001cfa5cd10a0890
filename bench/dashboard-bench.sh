#!/usr/bin/env bash
# dashboard-bench.sh: the latency of what the dashboard asks for (issue 6):
# browsing with exact facet counts and no words (target p95 <= 20 ms at 10^6
# datasets), text searches with exact facet counts (p95 <= 150 ms), every
# analytics endpoint (p95 <= 100 ms), and the instrument dashboard drawn in
# Chromium (<= 1 s). It runs against a data directory made by bench/run.sh
# (or any `pansift init/harvest/index` of a pansift-gencat catalogue): it
# starts `pansift serve` on it, times the first request (which reads the
# index generation's facet tables), then N requests of each kind over one
# keep-alive connection (curl), and prints p50/p95/max per kind. Not a test:
# nothing here runs under CTest.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

usage() {
    cat <<EOF
usage: bench/dashboard-bench.sh --config INI [--build DIR] [--n N] [--port P] [--browser]

  --config INI  the configuration of the data directory to serve (its [server]
                listen is overridden by --port)
  --build DIR   the release build holding pansift (default build/release)
  --n N         timed requests per kind (default 100)
  --port P      the port to serve on (default 18900)
  --browser     also time the instrument dashboard in Debian's chromium
                (needs dashboard/node_modules: scripts/setup --test)
  --help        this text
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
N=100
PORT=18900
CONFIG=
BROWSER=0
while [ $# -gt 0 ]; do
    case $1 in
    --config) CONFIG=${2:?}; shift 2 ;;
    --build) BUILD=${2:?}; shift 2 ;;
    --n) N=${2:?}; shift 2 ;;
    --port) PORT=${2:?}; shift 2 ;;
    --browser) BROWSER=1; shift ;;
    --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ -n "$CONFIG" ] || { usage >&2; exit 2; }
for t in curl jq awk; do command -v $t >/dev/null || { echo "needs $t (scripts/setup --bench)" >&2; exit 1; }; done

TMP=$(mktemp -d)
trap 'kill "$SRV" 2>/dev/null || true; rm -rf "$TMP"' EXIT
sed "s/^listen *=.*/listen = 127.0.0.1:$PORT/" "$CONFIG" >"$TMP/pansift.ini"
grep -q "^listen" "$TMP/pansift.ini" || sed -i "s/^\[server\]/[server]\nlisten = 127.0.0.1:$PORT/" "$TMP/pansift.ini"
"$BUILD/pansift" --config "$TMP/pansift.ini" serve >"$TMP/serve.log" 2>&1 &
SRV=$!
B=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf "$B/health" >/dev/null && break; sleep 0.2; done
curl -sf "$B/health" >/dev/null || { cat "$TMP/serve.log" >&2; exit 1; }

# Values from the catalogue for the requests.
IPID=$(curl -s "$B/api/search?type=dataset&limit=0&facets=instrument&facet_limit=1" | jq -r '.facets.instrument[0].value')
FAC=$(curl -s "$B/api/search?type=dataset&limit=0&facets=facility&facet_limit=1" | jq -r '.facets.facility[0].value')
TECH=$(curl -s "$B/api/search?type=dataset&limit=0&facets=technique&facet_limit=1" | jq -r '.facets.technique[0].value')
enc() { jq -rn --arg v "$1" '$v|@uri'; }

echo "machine: $(nproc) cores, $(uname -r); $(date -u +%F)"
curl -s "$B/api/search?limit=0&facets=type" | jq -c '{records: .count, by_type: [.facets.type[] | {(.value): .count}] | add}'
# The first request after start reads the generation (timed by the server's
# took_ms, which includes it).
curl -s "$B/api/search?limit=0" -o /dev/null
curl -s "$B/api/search?limit=0" | jq -r '"a facet request with the generation loaded: \(.took_ms) ms"'

time_kind() { # time_kind NAME PATH...: N requests cycling over the paths
    local name=$1; shift
    local paths=("$@") args=() i
    for ((i = 0; i < N; i++)); do
        args+=(-o /dev/null "$B${paths[i % ${#paths[@]}]}")
    done
    curl -s -o /dev/null "$B${paths[0]}" # warm
    # One curl, one keep-alive connection, one line per request.
    curl -s -w '%{http_code} %{time_total}\n' "${args[@]}" >"$TMP/t" || true
    local bad
    bad=$(awk '$1 != 200' "$TMP/t" | wc -l)
    awk '{ print $2 * 1000 }' "$TMP/t" | sort -g | awk -v name="$name" -v bad="$bad" '
        { t[NR] = $1 }
        END { n = NR; printf "%-40s n=%d p50=%.1f ms p95=%.1f ms max=%.1f ms%s\n", name, n,
              t[int(n * 0.5 + 0.5)], t[int(n * 0.95 + 0.5)], t[n], (bad + 0 > 0 ? "  (" bad " not 200)" : "") }'
}

echo "--- browse, exact facet counts (12 facets), no words; target p95 <= 20 ms"
time_kind "browse: everything" "/api/search"
time_kind "browse: datasets" "/api/search?type=dataset"
time_kind "browse: datasets of a facility" "/api/search?type=dataset&facility=$(enc "$FAC")"
time_kind "browse: an instrument" "/api/search?instrument=$(enc "$IPID")"
time_kind "browse: a technique (narrower too)" "/api/search?technique=$(enc "$TECH")"
time_kind "browse: years 2015-2018, datasets" "/api/search?type=dataset&year_from=2015&year_to=2018"
time_kind "browse: publications by citations" "/api/search?type=publication&sort=citations"
echo "--- text search, exact facet counts; target p95 <= 150 ms"
time_kind "search: one word (water)" "/api/search?q=water"
time_kind "search: common word (sample)" "/api/search?q=sample"
time_kind "search: two words" "/api/search?q=magnetic%20structure"
time_kind "search: phrase and exclusion" "/api/search?q=%22single%20crystal%22%20-powder"
time_kind "search: prefix, datasets" "/api/search?q=diffract*&type=dataset"
time_kind "search: word + facility filter" "/api/search?q=neutron&facility=$(enc "$FAC")"
echo "--- analytics; target p95 <= 100 ms"
time_kind "breakdown: year x type" "/api/analytics/breakdown?by=year&split=type"
time_kind "breakdown: volume per instrument" "/api/analytics/breakdown?by=instrument&type=dataset&metric=volume"
time_kind "breakdown: top authors" "/api/analytics/breakdown?by=author&type=publication"
time_kind "breakdown: institutions x country" "/api/analytics/breakdown?by=institution&split=country"
time_kind "breakdown: instrument's proposals/year" "/api/analytics/breakdown?by=year&split=status&type=proposal&instrument=$(enc "$IPID")"
time_kind "breakdown: with words" "/api/analytics/breakdown?by=year&q=water"
time_kind "country-pairs" "/api/analytics/country-pairs"
time_kind "instrument" "/api/analytics/instrument?pid=$(enc "$IPID")"
time_kind "facility" "/api/analytics/facility?name=$(enc "$FAC")"

if [ "$BROWSER" = 1 ]; then
    echo "--- the instrument dashboard in chromium; target <= 1 s to drawn"
    NODE_PATH=$ROOT/dashboard/node_modules node "$ROOT/bench/dashboard-draw.mjs" \
        "$B/instrument.html?pid=$(enc "$IPID")" 10
fi
