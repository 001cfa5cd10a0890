#!/usr/bin/env bash
# federation: a pansift with [provider NAME] sections answers the PaN API over
# several providers as docs/federation.md promises. The providers are plain
# pansift servers on loopback, loaded with the federated search service's two
# test providers (shared/corpus/pan-reference/provider{1,2}-db.json, turned
# into PaN catalogues by tests/tools/lb3-to-pan.sh) and a larger generated
# catalogue, with records served twice (same pid, or only the same DOI);
# beside them ps-replay servers that answer every request with a fault.
# Checked: the merge order with and without `query` and with a filter
# `order`, every page 1..n against the order computed here from the union of
# the providers' full answers (federation-merge.jq), de-duplication, counts,
# by-pid, malformed filters refused before any provider is asked, each kind
# of failing provider left out and named (timeout or error) in
# X-Federation-Providers, a stalled provider costing at most its timeout,
# all providers down (503), GET /api/federation/status, the circuit breaker,
# the cache and Cache-Control, and a federator that is also a provider
# (local = true).
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

TOOLS="$PS_SOURCE_DIR/tests/tools"
MERGE="$PS_SOURCE_DIR/tests/integration/federation-merge.jq"
LB3="$PS_TEST_DATA/pan-reference"
# Timing slack for the sanitizer build on a busy 2-core machine.
SLACK_MS=${PS_FED_SLACK_MS:-900}

declare -A URL SPID
P() { "$PANSIFT" --quiet --config "$T/$1.ini" "${@:2}"; }

# ---- fixtures ---------------------------------------------------------------

# The converter reproduces the reference's own recorded answers for its
# database (score aside, which belongs to a query).
bash "$TOOLS/lb3-to-pan.sh" "$LB3/reference-db.json" "$T/cat-local" || { fail "lb3-to-pan"; finish; }
for pair in Instruments:harvest-instruments Datasets:harvest-datasets Documents:harvest-documents; do
    m=${pair%%:*}
    check_eq "$(jq -cS 'map(del(.score))' "$T/cat-local/$m.json")" \
        "$(jq -cS '.body | map(del(.score))' "$RECORDED/${pair#*:}.json")" \
        "lb3-to-pan: $m of reference-db.json as the reference answers them"
done
bash "$TOOLS/lb3-to-pan.sh" "$LB3/provider1-db.json" "$T/cat-p1"
bash "$TOOLS/lb3-to-pan.sh" "$LB3/provider2-db.json" "$T/cat-p2"
"$GENCAT" --out "$T/cat-p3" --datasets 300 --seed 11 --quiet

# rewrite FILE JQ [ARGS...]: FILE := FILE | JQ, one record per line.
rewrite() {
    local f=$1 prog=$2
    shift 2
    jq -r "$@" "$prog | \"[\\n\" + (map(tojson) | join(\",\\n\")) + \"\\n]\"" "$f" > "$f.tmp" &&
        mv "$f.tmp" "$f"
}
# Overlap by pid: six public p3 datasets (spread over the title order) and
# their instruments are served by p2 too.
jq -c '[.[] | select(.isPublic)] | sort_by(.title | ascii_downcase)
       | [.[0], .[37], .[90], .[150], .[201], .[-1]]' "$T/cat-p3/Datasets.json" > "$T/shared-ds.json"
rewrite "$T/cat-p2/Datasets.json" '. + $s[0]' --slurpfile s "$T/shared-ds.json"
rewrite "$T/cat-p2/Instruments.json" '(. + [$s[0][] | .instrument | select(. != null)]) | unique_by(.pid)' \
    --slurpfile s "$T/shared-ds.json"
# Overlap by DOI only: p1 serves a copy of a p3 publication under its own
# pid, with the DOI in capitals.
jq -c '[.[] | select(.isPublic and .type == "publication" and .doi != null)][0]
       | {pid: ("p1:copy-of-" + .pid), isPublic, type, title, doi: (.doi | ascii_upcase)}' \
    "$T/cat-p3/Documents.json" > "$T/shared-doc.json"
rewrite "$T/cat-p1/Documents.json" '. + $s' --slurpfile s "$T/shared-doc.json"
# Titles in lower case, and sizes present and missing, for the orders.
rewrite "$T/cat-p1/Datasets.json" '. + [
  {pid: "p1:extra-1", title: "neutron imaging of a lithium-ion pouch cell", isPublic: true,
   creationDate: "2021-03-04T05:06:07.000Z", size: 123456},
  {pid: "p1:extra-2", title: "x-ray tomography of basalt", isPublic: true,
   creationDate: "2019-01-01T00:00:00.000Z"},
  {pid: "p1:extra-3", title: "Zeolite framework by powder diffraction", isPublic: true,
   creationDate: "2018-07-08T09:10:11.000Z", size: 5},
  {pid: "p1:extra-4", title: "a small-angle scattering study of micelles", isPublic: true,
   creationDate: "2022-02-02T02:02:02.000Z", size: 7000000000}]'
SHARED_PID=$(jq -r '.[2].pid' "$T/shared-ds.json")
P3_ONLY_PID=$(jq -r --slurpfile s "$T/shared-ds.json" \
    '[.[] | select(.isPublic) | .pid] - [$s[0][].pid] | .[0]' "$T/cat-p3/Datasets.json")
DOI_PID=$(jq -r '.pid' "$T/shared-doc.json")

# ---- servers ----------------------------------------------------------------

# start_named NAME: `pansift serve` with $T/NAME.ini, access log on (a line
# per request in $T/NAME.err); sets URL[NAME].
start_named() {
    local n=$1
    rm -f "$T/$n.port"
    "$PANSIFT" --config "$T/$n.ini" --log-level info serve --port-file "$T/$n.port" \
        >"$T/$n.out" 2>"$T/$n.err" &
    SPID[$n]=$!
    PIDS+=($!)
    wait_file "$T/$n.port" || { fail "$n did not start: $(tail -3 "$T/$n.err")"; finish; }
    URL[$n]="http://127.0.0.1:$(cat "$T/$n.port")"
    for _ in $(seq 100); do
        curl -sf "${URL[$n]}/health" >/dev/null && return 0
        sleep 0.05
    done
    fail "$n is not healthy"
    finish
}
stop_named() {
    kill -TERM "${SPID[$1]}"
    wait "${SPID[$1]}"
    check_eq "$?" 0 "$1 exits 0 on SIGTERM"
}
# start_fault NAME DIR [ARGS...]: ps-replay serving DIR under /api, logging
# to $T/NAME.log; sets URL[NAME].
start_fault() {
    local n=$1 dir=$2
    shift 2
    rm -f "$T/$n.port"
    : > "$T/$n.log"
    "$REPLAY" --dir "$dir" --prefix /api --port-file "$T/$n.port" --log "$T/$n.log" "$@" \
        >"$T/$n.out" 2>"$T/$n.err" &
    PIDS+=($!)
    wait_file "$T/$n.port" || { fail "ps-replay $n did not start: $(cat "$T/$n.err")"; finish; }
    URL[$n]="http://127.0.0.1:$(cat "$T/$n.port")"
}
# requests NAME: how many requests provider NAME has received so far.
requests() {
    if [ -f "$T/$1.log" ]; then
        wc -l < "$T/$1.log"
    else
        grep -c ' GET /api/' "$T/$1.err"
    fi
}

for p in p1 p2 p3; do
    write_config "$T/$p.ini" "$T/data-$p" "[source $p]
type = pan
url = file://$T/cat-$p"
    P "$p" init >/dev/null && P "$p" harvest >/dev/null 2>&1 && P "$p" index >/dev/null ||
        { fail "loading $p"; finish; }
    start_named "$p"
done
# The providers serve what was converted.
get "${URL[p1]}/api/Datasets/count"
check_eq "$(jq .count "$T/body")" 8 "p1 serves provider1's 4 datasets and 4 extras"
get "${URL[p2]}/api/Datasets?filter={\"fields\":[\"pid\"]}"
check_eq "$(jq -c '[.[].pid] | sort' "$T/body")" "$(jq -c '[.[] | select(.isPublic) | .pid] | sort' "$T/cat-p2/Datasets.json")" \
    "p2 serves provider2's datasets and the shared ones"
get "${URL[p2]}/api/Datasets/20.500.12269%2Fpanosc-dataset5?filter={\"include\":[{\"relation\":\"techniques\"},{\"relation\":\"parameters\"}]}"
check_eq "$(jq -c '[.title, .techniques[0].name, .parameters[0].unit]' "$T/body")" \
    '["PaNOSC Test Dataset (From Provider 2) 5","small-angle neutron scattering",""]' "p2: a dataset with its relations"
get "${URL[p1]}/api/Documents/$(jq -rn --arg p "$DOI_PID" '$p | @uri')"
check_eq "$(jq -r .doi "$T/body")" "$(jq -r .doi "$T/shared-doc.json")" "p1 serves the DOI copy in capitals"
get "${URL[p1]}/api/Instruments/count"
check_eq "$(jq .count "$T/body")" 15 "p1: 15 instruments"

# Recordings for the ps-replay providers: counts (their forwarding is fixed:
# the where, or nothing) and a dataset list; and a body over 16 MiB.
mkdir -p "$T/rec" "$T/rec-big"
cp "$RECORDED/harvest-datasets.json" "$RECORDED/harvest-instruments.json" "$T/rec/"
echo '{"request":"GET /Datasets/count","filter":null,"status":200,"content_type":"application/json; charset=utf-8","body":{"count":1000}}' > "$T/rec/ds-count.json"
echo '{"request":"GET /Instruments/count","filter":null,"status":200,"content_type":"application/json; charset=utf-8","body":{"count":300}}' > "$T/rec/in-count.json"
perl -e 'my $pad = "x" x (17 << 20);
    print qq({"request":"GET /Datasets/count","filter":null,"status":200,"content_type":"application/json","body":{"count":7,"pad":"$pad"}}\n)' \
    > "$T/rec-big/ds-count.json"
perl -e 'my $ds = join(",", map { qq({"pid":"big/$_","title":"Big dataset $_ ) . ("y" x 1000) . qq(","isPublic":true,"score":0}) } 1 .. 17000);
    print qq({"request":"GET /Datasets","filter":null,"status":200,"content_type":"application/json","body":[$ds]}\n)' \
    > "$T/rec-big/ds.json"

# fed_config NAME FEDERATION_LINES PROVIDER_SECTIONS: a federator's config.
fed_config() {
    write_config "$T/$1.ini" "$T/data-$1" "[federation]
$2
$3"
    P "$1" init >/dev/null
}
# provider NAME [TIMEOUT_MS] [EXTRA LINES]: a [provider] section.
provider() {
    printf '[provider %s]\nurl = %s/api\ntimeout = %s\n%s\n' "$1" "${URL[$1]}" "${2:-5000}" "${3:-}"
}

# fget URL [CURL ARGS...]: body in $T/body, headers in $T/hdr, STATUS, MS.
fget() {
    local t0
    t0=$(date +%s%N)
    STATUS=$(curl -s -g -D "$T/hdr" -o "$T/body" -w '%{http_code}' "$@")
    MS=$((($(date +%s%N) - t0) / 1000000))
}
hdr() { grep -i "^$1:" "$T/hdr" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }
# pstate NAME: what X-Federation-Providers says of provider NAME.
pstate() { hdr X-Federation-Providers | tr ';' '\n' | sed 's/^ *//' | awk -F= -v n="$1" '$1 == n { print $2 }'; }
# ffind BASE MODEL FILTER: a find through BASE.
ffind() { fget "$1/api/$2" -G --data-urlencode "filter=$3"; }

# model MODEL FILTER SORTKIND PROVIDER...: the expected merged order (file
# $T/expect.json) from each provider's full answer to FILTER without skip
# and limit. A provider is NAME or NAME:WEIGHT.
model() {
    local m=$1 filter=$2 kind=$3 full i=0 spec name weight
    shift 3
    full=$(jq -c 'del(.skip, .limit)' <<<"$filter")
    local provs="[]"
    for spec in "$@"; do
        name=${spec%%:*}
        weight=1
        [ "$spec" != "$name" ] && weight=${spec#*:}
        curl -s -g -G "${URL[$name]}/api/$m" --data-urlencode "filter=$full" > "$T/full-$i.json"
        provs=$(jq -c --arg n "$name" --argjson w "$weight" --slurpfile r "$T/full-$i.json" \
            '. + [{name: $n, weight: $w, records: $r[0]}]' <<<"$provs")
        i=$((i + 1))
    done
    jq -c --argjson f "$filter" --arg k "$kind" \
        '{providers: ., sort: {kind: $k, order: ($f.order // null)}}' <<<"$provs" |
        jq -c -f "$MERGE" > "$T/expect.json"
}
# first_diff A B: where two JSON arrays of [pid, provider] first differ.
first_diff() {
    jq -rn --argjson a "$1" --argjson b "$2" \
        '[range(0; [($a|length), ($b|length)] | max) | select($a[.] != $b[.])][0] as $i
         | "lengths \($a|length)/\($b|length); first difference at \($i): got \($a[$i]|tojson), expected \($b[$i]|tojson)"'
}
# pages BASE MODEL FILTER K LABEL: every page of size K of FILTER through
# BASE against $T/expect.json, up to one past the end.
pages() {
    local base=$1 m=$2 filter=$3 k=$4 label=$5 s=0 total got exp f n=1
    total=$(jq length "$T/expect.json")
    while :; do
        f=$(jq -c --argjson s $s --argjson k "$k" '. + {skip: $s, limit: $k}' <<<"$filter")
        ffind "$base" "$m" "$f"
        if [ "$STATUS" != 200 ]; then
            fail "$label, page $n: status $STATUS: $(head -c 300 "$T/body")"
            return
        fi
        got=$(jq -c '[.[] | [.pid, .provider]]' "$T/body")
        exp=$(jq -c --argjson s $s --argjson k "$k" '[.[$s:$s + $k][] | [.pid, .provider]]' "$T/expect.json")
        if [ "$got" = "$exp" ]; then ok; else fail "$label, page $n (skip $s, limit $k): $(first_diff "$got" "$exp")"; fi
        [ $s -ge "$total" ] && break
        s=$((s + k))
        n=$((n + 1))
    done
}
# whole BASE MODEL FILTER LABEL: one page holding everything, compared with
# the model including "providers" (absent = served by one provider).
whole() {
    ffind "$1" "$2" "$(jq -c '. + {skip: 0, limit: 1000}' <<<"$3")"
    check_eq "$STATUS" 200 "$4: status"
    local got exp
    got=$(jq -c '[.[] | [.pid, .provider, ((.providers // [.provider]) | sort)]]' "$T/body")
    exp=$(jq -c '[.[] | [.pid, .provider, .providers]]' "$T/expect.json")
    if [ "$got" = "$exp" ]; then ok; else fail "$4: the whole merged, de-duplicated list: $(first_diff "$got" "$exp")"; fi
}

# ---- merge, paging, de-duplication, counts, by-pid --------------------------

fed_config F "local = false
deadline_ms = 5000
default_limit = 50
max_window = 1000
cache_ttl_ms = 0
breaker_failures = 3" "$(provider p1)
$(provider p2 5000 'weight = 1.0')
$(provider p3 5000 'weight = 0.8')"
start_named F
FED=${URL[F]}

ffind "$FED" Datasets '{"limit":5}'
check_eq "$STATUS" 200 "federated find"
check_eq "$(hdr X-Federation-Providers)" "p1=ok; p2=ok; p3=ok" "X-Federation-Providers names every provider"
check_contains "|hit|miss|bypass|" "|$(hdr X-Federation-Cache)|" "X-Federation-Cache is hit, miss or bypass"
check_eq "$(jq '[.[] | select(.provider == null)] | length' "$T/body")" 0 "every result carries provider"
check_eq "$(jq '[.[] | select(.providers != null and (.providers | length) < 2)] | length' "$T/body")" 0 \
    "a record from one provider has no providers list"

# Without query: by title, in any letter case; every page of 25 and of 7.
F0='{}'
model Datasets "$F0" title p1 p2 p3:0.8
check test "$(jq length "$T/expect.json")" -gt 200 -- "the union has enough records ($(jq length "$T/expect.json"))"
whole "$FED" Datasets "$F0" "by title"
pages "$FED" Datasets "$F0" 25 "by title, pages of 25"
pages "$FED" Datasets "$F0" 7 "by title, pages of 7"
check_eq "$(jq -c --arg p "$SHARED_PID" '[.[] | select(.pid == $p) | .providers]' "$T/expect.json")" '[["p2","p3"]]' \
    "the model de-duplicates the shared pid"
ffind "$FED" Datasets "$(jq -nc --arg p "$SHARED_PID" '{where: {pid: $p}}')"
check_eq "$(jq -c '[.[] | [.pid, .provider, (.providers | sort)]]' "$T/body")" "[[\"$SHARED_PID\",\"p2\",[\"p2\",\"p3\"]]]" \
    "same pid from p2 and p3: one record, first provider kept, both provenances"
ffind "$FED" Datasets '{}'
check_eq "$(jq length "$T/body")" 50 "a find without limit gets default_limit records"

# With query: by normalised score (p3 weighs 0.8).
FQ='{"query":"scattering copper"}'
model Datasets "$FQ" query p1 p2 p3:0.8
check test "$(jq length "$T/expect.json")" -gt 40 -- "the query matches in several providers ($(jq length "$T/expect.json"))"
whole "$FED" Datasets "$FQ" "by score"
pages "$FED" Datasets "$FQ" 10 "by score, pages of 10"
ffind "$FED" Datasets "$(jq -c '. + {limit: 1000}' <<<"$FQ")"
for spec in p1:1 p2:1 p3:0.8; do
    n=${spec%%:*}
    best=$(jq -s '.[0] | map(.score) | max' "$T/full-$(( ${n#p} - 1 )).json")
    bad=$(jq --arg n "$n" --argjson b "$best" --argjson w "${spec#*:}" \
        '[.[] | select(.provider == $n and ((.score_normalised - .score / $b * $w) | fabs) > 1e-9)] | length' "$T/body")
    check_eq "$bad" 0 "$n: score_normalised = score / best score ($best) * weight ${spec#*:}, score kept"
done

# With a filter order.
# (pages of 4 for size ASC: p1 has 5 datasets without a size, which count as
# the lowest: first in ascending order, last in descending.)
for FO in '{"order":"creationDate DESC"}:7' '{"order":["size ASC","title ASC"]}:4' '{"order":["size DESC","title"]}:7'; do
    k=${FO##*:}
    FO=${FO%:*}
    model Datasets "$FO" order p1 p2 p3:0.8
    whole "$FED" Datasets "$FO" "order $FO"
    pages "$FED" Datasets "$FO" "$k" "order $FO, pages of $k"
done

# Documents by title (the DOI copy), instruments by name.
model Documents '{}' title p1 p2 p3:0.8
whole "$FED" Documents '{}' "documents by title"
pages "$FED" Documents '{}' 9 "documents, pages of 9"
doi_pid=$(jq -r '.doi | ascii_downcase' "$T/shared-doc.json")
ffind "$FED" Documents "$(jq -nc --arg d "$(jq -r .doi "$T/shared-doc.json")" '{where: {doi: {ilike: $d}}}')"
check_eq "$(jq -c '[.[] | [.provider, (.providers | sort)]]' "$T/body")" '[["p1",["p1","p3"]]]' \
    "same DOI in another letter case from p1 and p3 ($doi_pid): one record, both provenances"
model Instruments '{}' name p1 p2 p3:0.8
whole "$FED" Instruments '{}' "instruments by name"
pages "$FED" Instruments '{}' 10 "instruments, pages of 10"
check_eq "$(jq '[.[] | select(.providers == ["p1","p2"])] | length' "$T/expect.json")" 15 \
    "the model: provider1's and provider2's 15 ESS instruments are one each"

# Counts: the sum, not de-duplicated.
for m in Datasets Documents Instruments; do
    sum=0
    for p in p1 p2 p3; do sum=$((sum + $(curl -s "${URL[$p]}/api/$m/count" | jq .count))); done
    fget "$FED/api/$m/count"
    check_eq "$(jq -c . "$T/body")" "{\"count\":$sum}" "$m/count is the sum of the providers' counts"
done
W='{"title":{"like":"SAXS"}}'
sum=0
for p in p1 p2 p3; do sum=$((sum + $(curl -s -G "${URL[$p]}/api/Datasets/count" --data-urlencode "where=$W" | jq .count))); done
fget "$FED/api/Datasets/count" -G --data-urlencode "where=$W"
check_eq "$(jq .count "$T/body")" "$sum" "count with where: the sum"
check test "$sum" -gt 0 -- "count with where matches something"

# By pid: the first provider in configuration order; 404 when none.
enc() { jq -rn --arg p "$1" '$p | @uri'; }
fget "$FED/api/Datasets/$(enc "$SHARED_PID")"
check_eq "$STATUS" 200 "by pid (p2 and p3 have it)"
check_eq "$(jq -r '[.pid, .provider] | join(" ")' "$T/body")" "$SHARED_PID p2" "by pid: from p2, first in config order"
fget "$FED/api/Datasets/$(enc "$P3_ONLY_PID")"
check_eq "$(jq -r '[.pid, .provider] | join(" ")' "$T/body")" "$P3_ONLY_PID p3" "by pid: only p3 has it"
fget "$FED/api/Documents/$(enc "$DOI_PID")"
check_eq "$(jq -r '[.pid, .provider] | join(" ")' "$T/body")" "$DOI_PID p1" "document by pid"
fget "$FED/api/Datasets/no%2Fsuch-pid"
check_eq "$STATUS" 404 "by pid: none has it: 404"
check_eq "$(jq -r .error.statusCode "$T/body")" 404 "the 404 is a JSON error"
fget "$FED/api/Datasets/$(enc "$P3_ONLY_PID")/files"
check_eq "$(jq -c '[.[].name]' "$T/body")" "$(curl -s "${URL[p3]}/api/Datasets/$(enc "$P3_ONLY_PID")/files" | jq -c '[.[].name]')" \
    "files from the provider that has the dataset"
fget "$FED/api/Datasets/$(enc "$P3_ONLY_PID")/files/count"
check_eq "$(jq -c . "$T/body")" "$(curl -s "${URL[p3]}/api/Datasets/$(enc "$P3_ONLY_PID")/files/count" | jq -c .)" "files/count"
check_eq "$(hdr X-Federation-Providers)" "p1=ok; p2=ok; p3=ok" "files/count: a provider without the dataset (404) has not failed"
fget "$FED/api/Datasets/$(enc "$SHARED_PID")/files/count"
check_eq "$(jq -c . "$T/body")" "$(curl -s "${URL[p2]}/api/Datasets/$(enc "$SHARED_PID")/files/count" | jq -c .)" \
    "files/count of a dataset p2 and p3 both have: p2's, not the sum"
fget "$FED/api/Datasets/no%2Fsuch-pid/files"
check_eq "$STATUS" 404 "files of a dataset none has: 404"
fget "$FED/api/Datasets/no%2Fsuch-pid/files/count"
check_eq "$STATUS" 404 "files/count of a dataset none has: 404"

# Malformed filters: a 400 with the local API's JSON error, and no provider asked.
sleep 0.2
before="$(requests p1) $(requests p2) $(requests p3)"
for bad in '{not json' '{"limit":-1}' '{"where":{"nosuchfield":1}}' '{"order":"nosuchfield ASC"}' '[1]'; do
    ffind "$FED" Datasets "$bad"
    check_eq "$STATUS" 400 "malformed filter $bad: 400"
    check_eq "$(jq -r .error.statusCode "$T/body" 2>/dev/null)" 400 "$bad: a JSON error"
    check_eq "$(jq -r .error.message "$T/body")" \
        "$(curl -s -G "${URL[p1]}/api/Datasets" --data-urlencode "filter=$bad" | jq -r .error.message)" \
        "$bad: the same message as the local API"
done
fget "$FED/api/Datasets/count" -G --data-urlencode 'where={"nosuchfield":1}'
check_eq "$STATUS" 400 "malformed where on count: 400"
ffind "$FED" Datasets '{"skip":990,"limit":20}'
check_eq "$STATUS" 400 "skip + limit over max_window: 400"
check_contains "$(jq -r .error.message "$T/body")" "1000" "the 400 says the window's ceiling"
sleep 0.2
# (the local-API comparisons above asked p1 directly, five times)
check_eq "$(requests p1) $(requests p2) $(requests p3)" \
    "$(( ${before%% *} + 5 )) $(echo "$before" | cut -d' ' -f2-)" "no provider is asked for a malformed filter"

# The status report.
fget "$FED/api/federation/status"
check_eq "$STATUS" 200 "GET /api/federation/status"
for p in p1 p2 p3; do
    st=$(jq -c --arg n "$p" '.providers[] | select(.name == $n)' "$T/body")
    check_eq "$(jq -r '[.url, .state] | join(" ")' <<<"$st")" "${URL[$p]}/api closed" "status: $p url and state"
    check_eq "$(jq -c '[(.requests > 0), .failures, .consecutive_failures, (.latency_ms | [.p50, .p95, .p99] | map(type == "number")), .last_error, (.last_ok_at | type), .open_until]' <<<"$st")" \
        '[true,0,0,[true,true,true],null,"string",null]' "status: $p fields"
done
check_eq "$(jq -c '[.deadline_ms, (.cache | [.entries, .bytes, .hits, .misses] | map(type))]' "$T/body")" \
    '[5000,["number","number","number","number"]]' "status: deadline and cache"
stop_named F

# ---- failing providers ------------------------------------------------------

for kind in 500 garbage close reset truncate; do start_fault "f$kind" "$T/rec" --fault "all:$kind"; done
start_fault fstall "$T/rec" --fault all:stall --stall-ms 20000
start_fault fpartial "$T/rec" --fault all:partial --stall-ms 20000
start_fault fbig "$T/rec-big"
FAULTS="f500 fgarbage fclose freset ftruncate fbig fstall fpartial"
sections="$(provider p1)"
for f in $FAULTS; do sections+=$'\n'"$(provider "$f" 1000)"; done
fed_config G "local = false
deadline_ms = 8000
cache_ttl_ms = 0
breaker_failures = 100" "$sections"
start_named G
model Datasets '{}' title p1
for req in 1 2; do
    ffind "${URL[G]}" Datasets '{"limit":10}'
    check_eq "$STATUS" 200 "faults (round $req): the find succeeds"
    check_eq "$(jq -c '[.[] | [.pid, .provider]]' "$T/body")" "$(jq -c '[.[0:10][] | [.pid, .provider]]' "$T/expect.json")" \
        "faults (round $req): p1's records, in order"
    check test "$MS" -le $((1000 + SLACK_MS)) -- "faults (round $req): stalled providers cost at most their timeout (1000 ms): $MS ms"
    for f in f500 fgarbage fclose freset ftruncate fbig; do
        check_eq "$(pstate "$f")" error "faults (round $req): $f is named as an error"
    done
    for f in fstall fpartial; do check_eq "$(pstate "$f")" timeout "faults (round $req): $f is named as a timeout"; done
    check_eq "$(pstate p1)" ok "faults (round $req): p1 ok"
done
fget "${URL[G]}/api/Datasets/count"
check_eq "$(jq -c . "$T/body")" '{"count":8}' "faults: count is p1's"
check test "$MS" -le $((1000 + SLACK_MS)) -- "faults: count within the timeout ($MS ms)"
check_eq "$(pstate fbig)" error "faults: a body over 16 MiB is an error"
check test "$(grep -c 'count.* -> 200' "$T/fbig.log")" -ge 1 -- "fbig did send its 17 MiB count"
fget "${URL[G]}/api/federation/status"
for f in $FAULTS; do
    st=$(jq -c --arg n "$f" '.providers[] | select(.name == $n)' "$T/body")
    check_eq "$(jq -c '[.state, (.failures >= 3), (.consecutive_failures >= 3), (.last_error | type), (.last_error_at | type), .last_ok_at]' <<<"$st")" \
        '["closed",true,true,"string","string",null]' "status after faults: $f"
done
check_contains "$(jq -r '.providers[] | select(.name == "fstall") | .last_error' "$T/body")" "timed out" \
    "status: the stall's last error says it timed out"
fget "${URL[G]}/api/Datasets/$(enc 20.500.12269/panosc-dataset1)"
check_eq "$(jq -r '[.pid, .provider] | join(" ")' "$T/body")" "20.500.12269/panosc-dataset1 p1" "faults: by pid"
stop_named G

# All providers down: 503 naming them, within deadline_ms.
fed_config H "local = false
deadline_ms = 1500
cache_ttl_ms = 0" "$(provider f500 1000)
$(provider fstall 4000)"
start_named H
ffind "${URL[H]}" Datasets '{"limit":3}'
check_eq "$STATUS" 503 "all providers down: 503"
check_contains "$(jq -r .error.message "$T/body")" "f500" "the 503 names f500"
check_contains "$(jq -r .error.message "$T/body")" "fstall" "the 503 names fstall"
check test "$MS" -le $((1500 + SLACK_MS)) -- "the whole request costs at most deadline_ms (1500): $MS ms"
check_eq "$(pstate f500) $(pstate fstall)" "error timeout" "503: the header still says who failed how"
fget "${URL[H]}/api/Instruments/count"
check_eq "$STATUS" 503 "count with all providers down: 503"
stop_named H

# ---- circuit breaker --------------------------------------------------------

# Requests 1-4 fail: three open the circuit, the first probe fails too.
start_fault fbrk "$T/rec" --fault 1-4:500
fed_config K "local = false
cache_ttl_ms = 0
breaker_failures = 3
breaker_cooldown_ms = 300" "$(provider p1)
$(provider fbrk 1000)"
start_named K
for i in 1 2 3; do
    fget "${URL[K]}/api/Datasets/count"
    check_eq "$STATUS $(pstate fbrk)" "200 error" "breaker: failure $i"
done
check_eq "$(requests fbrk)" 3 "breaker: three requests reached fbrk"
fget "${URL[K]}/api/Datasets/count"
check_eq "$STATUS $(pstate fbrk) $(jq .count "$T/body")" "200 skipped 8" "breaker: open after 3 failures: skipped"
check_eq "$(requests fbrk)" 3 "breaker: an open circuit sends nothing"
fget "${URL[K]}/api/federation/status"
check_eq "$(jq -c '.providers[] | select(.name == "fbrk") | [.state, (.open_until | type), .consecutive_failures]' "$T/body")" \
    '["open","string",3]' "status: fbrk open, with open_until"
sleep 0.4
fget "${URL[K]}/api/Datasets/count"
check_eq "$(pstate fbrk)" error "breaker: after the cooldown, a probe (which fails)"
check_eq "$(requests fbrk)" 4 "breaker: the probe reached fbrk"
fget "${URL[K]}/api/Datasets/count"
check_eq "$(pstate fbrk) $(requests fbrk)" "skipped 4" "breaker: a failed probe opens the circuit again"
sleep 0.4
fget "${URL[K]}/api/Datasets/count"
check_eq "$(pstate fbrk) $(requests fbrk) $(jq .count "$T/body")" "ok 5 1008" "breaker: a good probe closes it"
fget "${URL[K]}/api/Datasets/count"
check_eq "$(pstate fbrk) $(requests fbrk)" "ok 6" "breaker: closed again"
fget "${URL[K]}/api/federation/status"
check_eq "$(jq -c '.providers[] | select(.name == "fbrk") | [.state, .consecutive_failures, .open_until]' "$T/body")" \
    '["closed",0,null]' "status: fbrk closed"
stop_named K

# ---- cache ------------------------------------------------------------------

# cA and cB are ps-replay providers (no Cache-Control); cB fails once.
start_fault cA "$T/rec"
start_fault cB "$T/rec" --fault 1:500
fed_config C "local = false
cache_ttl_ms = 2000
breaker_failures = 3" "$(provider cA)
$(provider cB)"
start_named C
cget() { fget "${URL[C]}/api/$1" "${@:2}"; CACHE=$(hdr X-Federation-Cache); }
cget Datasets/count
check_eq "$STATUS $(jq .count "$T/body") $CACHE $(pstate cB)" "200 1000 miss error" "cache: an answer with a failed provider"
cget Datasets/count
check_eq "$(jq .count "$T/body") $CACHE $(requests cA) $(requests cB)" "2000 miss 2 2" \
    "cache: the answer with a failure was not cached"
check_contains "$(hdr Cache-Control)" "max-age=" "a cacheable answer carries max-age"
age=$(hdr Cache-Control | sed -n 's/.*max-age=\([0-9]*\).*/\1/p')
check test "${age:-99}" -le 2 -- "max-age is at most the TTL ($age s)"
cget Datasets/count
check_eq "$(jq .count "$T/body") $CACHE $(requests cA) $(requests cB)" "2000 hit 2 2" "cache: the same request is a hit, no provider asked"
check_eq "$(pstate cA) $(pstate cB)" "ok ok" "cache: a hit repeats the provider states of the answer it keeps"
cget Datasets/count -H 'Cache-Control: no-cache'
check_eq "$CACHE $(requests cA) $(requests cB)" "bypass 3 3" "cache: no-cache bypasses and asks the providers"
cget Datasets/count
check_eq "$CACHE $(requests cA)" "hit 3" "cache: no-cache refreshed the entry"
cget Instruments/count -H 'Cache-Control: no-store'
check_eq "$(jq .count "$T/body") $CACHE $(requests cA)" "600 bypass 4" "cache: no-store bypasses"
cget Instruments/count
check_eq "$CACHE $(requests cA)" "miss 5" "cache: no-store stored nothing"
cget Instruments/count
check_eq "$CACHE $(requests cA)" "hit 5" "cache: then it is cached"
fget "${URL[C]}/api/federation/status"
check_eq "$(jq -c '.cache | [.entries, (.bytes > 0), (.hits >= 3), (.misses >= 3)]' "$T/body")" '[2,true,true,true]' "status: the cache"
sleep 2.1
cget Datasets/count
check_eq "$CACHE $(requests cA)" "miss 6" "cache: an entry older than cache_ttl_ms is gone"
stop_named C

# A pansift provider says Cache-Control: no-cache, which allows caching.
fed_config C2 "local = false
cache_ttl_ms = 30000" "$(provider cA)
$(provider p1)"
start_named C2
n=$(requests cA)
m=$(requests p1)
fget "${URL[C2]}/api/Datasets/count"
fget "${URL[C2]}/api/Datasets/count"
sleep 0.2
check_eq "$(hdr X-Federation-Cache) $(( $(requests cA) - n )) $(( $(requests p1) - m ))" "hit 1 1" \
    "a pansift provider's answers (Cache-Control: no-cache) are cached"
stop_named C2

# A find's filter is the same cache entry whatever its spacing and key order.
fed_config C3 "local = false
cache_ttl_ms = 30000" "$(provider p1)"
start_named C3
m=$(requests p1)
fget "${URL[C3]}/api/Datasets?filter=%7B%22limit%22%3A2%2C%22skip%22%3A1%7D"
first=$(jq -c '[.[].pid]' "$T/body")
fget "${URL[C3]}/api/Datasets?filter=%7B%20%22skip%22%3A%201%2C%20%22limit%22%3A%202%20%7D"
sleep 0.2
check_eq "$(hdr X-Federation-Cache) $(( $(requests p1) - m )) $(jq -c '[.[].pid]' "$T/body")" "hit 1 $first" \
    "cache: the same filter spelled otherwise (spaces, key order) is a hit"
stop_named C3

# A provider's Cache-Control: no-store keeps an answer out of the cache, and
# its max-age shortens the time it is kept (exchanges with those headers;
# a count without where is forwarded as the bare path).
mkdir -p "$T/rec-cc"
echo '[{"method":"GET","path":"/Datasets/count","status":200,"headers":{"Content-Type":"application/json","Cache-Control":"no-store"},"body":{"count":5}},
{"method":"GET","path":"/Instruments/count","status":200,"headers":{"Content-Type":"application/json","Cache-Control":"public, max-age=1"},"body":{"count":6}}]' \
    > "$T/rec-cc/cc.json"
start_fault cX "$T/rec-cc"
fed_config C3 "local = false
cache_ttl_ms = 30000" "$(provider cA)
$(provider cX)"
start_named C3
fget "${URL[C3]}/api/Datasets/count"
fget "${URL[C3]}/api/Datasets/count"
check_eq "$(jq .count "$T/body") $(hdr X-Federation-Cache) $(requests cX)" "1005 miss 2" "a provider's no-store: not cached"
fget "${URL[C3]}/api/Instruments/count"
check_eq "$(jq .count "$T/body") $(hdr X-Federation-Cache) $(hdr Cache-Control)" "306 miss max-age=1" \
    "a provider's max-age=1 shortens the TTL"
fget "${URL[C3]}/api/Instruments/count"
check_eq "$(hdr X-Federation-Cache) $(requests cX)" "hit 3" "… kept within it"
sleep 1.2
fget "${URL[C3]}/api/Instruments/count"
check_eq "$(hdr X-Federation-Cache) $(requests cX)" "miss 4" "… and gone after it"
stop_named C3

# ---- local = true -----------------------------------------------------------

fed_config L "local = true
cache_ttl_ms = 0" "[source ref]
type = pan
url = file://$T/cat-local
$(provider p1)"
P L harvest >/dev/null 2>&1 && P L index >/dev/null || fail "loading the local catalogue"
start_named L
jq -c '{providers: [{name: "local", records: $l[0]}, {name: "p1", records: $p[0]}],
        sort: {kind: "title"}}' -n --slurpfile l "$T/cat-local/Datasets.json" \
    --slurpfile p <(curl -s "${URL[p1]}/api/Datasets") | jq -c -f "$MERGE" > "$T/expect.json"
whole "${URL[L]}" Datasets '{}' "local and p1"
check_eq "$(hdr X-Federation-Providers)" "local=ok; p1=ok" "local is a provider named local"
fget "${URL[L]}/api/Datasets/$(enc 20.500.12269/panosc-dataset1)"
check_eq "$(jq -r '[.title, .provider] | join(" | ")' "$T/body")" "PaNOSC Test Dataset 1 | local" \
    "by pid: the local index first"
fget "${URL[L]}/api/Datasets/count"
check_eq "$(jq .count "$T/body")" 12 "count: local's 4 and p1's 8"
stop_named L

for p in p1 p2 p3; do stop_named "$p"; done
finish
