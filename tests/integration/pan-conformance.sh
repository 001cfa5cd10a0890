#!/usr/bin/env bash
# pan-conformance: the PaN search API conformance suite, as data. Every case
# in tests/integration/pan-conformance/*.json is one request (path and
# filter, or a literal URL) and what a client relies on in the answer: the
# status, the exact records (compared as JSON: key order and whitespace do
# not matter), the pids or names in order, counts, fields present or absent,
# or a LoopBack error body with a message fragment. The cases come from the
# spec (§9.1 the reference suite, §9.4 DataGateway's request shapes and error
# cases, §4-§7 and §13 for what pansift does where the reference is wrong).
#
# Two catalogues are served, one after the other: "reference", the PaNOSC
# reference fixture harvested from its recorded responses (as pan-roundtrip
# does), and "conformance", tests/data/pan-conformance (the technique
# scenario of dataset-techniques-requirements.md, records the public may not
# see, parameters in several units, texts to rank), harvested from disk.
# A case file names its catalogue; a case may name another.
#
# Checks made on every case besides its own: a JSON content type; an error
# status comes with a LoopBack body {"error":{"statusCode","name","message"}};
# every record a find returns has a numeric score, 0 without a query, and
# with one, scores in (0, 1) best first.
#
# One line per case, then a summary; the exit status is 1 if any case
# failed. PS_CONFORMANCE_ONLY=<regex> runs the cases whose "file/name"
# matches it.
#
# A case: {"name", "spec" (where the expectation comes from), "fixture"
# (optional), "method" (default GET), then either "url" (path and query
# string after /api, sent as written) or "path" plus any of "filter",
# "where", "query" (a JSON value is sent as JSON, a string as written; both
# URL-encoded), and "expect": {"status" (default 200), "body" (the whole
# answer), "pids", "names", "ids" (that field of each record, in order),
# "pid", "length", "count", "message" (a fragment of error.message), "code"
# (error.code), "headers" {name: fragment}, "jq" [expressions that must be
# true of the answer]}; "score_check": false turns the score rule off (for
# a fields projection without score).
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CASES_DIR="$PS_SOURCE_DIR/tests/integration/pan-conformance"
CATALOGUE="$PS_TEST_DATA/pan-conformance"
ONLY=${PS_CONFORMANCE_ONLY:-}
NCASES=0
NFAILED=0
FAILED_NAMES=()

# The checks of one answer, in jq: prints one line per failed check.
# Inputs: $c the case, $status, $hdr the raw response headers, $body (or
# {"__not_json": text}).
read -r -d '' CHECK_JQ <<'JQ'
def headers: $hdr | split("\r\n") | map(capture("^(?<k>[^:]+):[ \t]*(?<v>.*)$")? | {(.k | ascii_downcase): .v}) | add // {};
def show: tojson | if length > 300 then .[0:300] + "..." else . end;
def arr(f): if ($body | type) == "array" then [$body[] | f] else null end;
def differ(what; got; want): if got != want then "\(what): got \(got | show), expected \(want | show)" else empty end;
($c.expect // {}) as $e
| ($e.status // 200) as $want
| (($c.path // $c.url) | sub("\\?.*$"; "")) as $path
| ($path | test("^/(datasets|documents|instruments)$"; "i")) as $find
| ($c.filter | if type == "string" then (try fromjson catch null) else . end) as $f
| ((($f | objects | .query) // $c.query) != null) as $ranked
| headers as $h
| (if $status != $want then "status \($status), expected \($want)" else empty end),
  (if ($h["content-type"] // "") | test("^application/json"; "i") | not
   then "content type \($h["content-type"] // "none" | tojson)" else empty end),
  (if ($body | type) == "object" and ($body | has("__not_json"))
   then "the body is not JSON: \($body.__not_json | show)" else empty end),
  (($e.headers // {}) | to_entries[] | . as $kv
   | select(($h[$kv.key | ascii_downcase] // "") | contains($kv.value) | not)
   | "header \($kv.key): \($h[$kv.key | ascii_downcase] // "absent" | tojson) lacks \($kv.value | tojson)"),
  (if $status != $want then empty
   elif $want >= 400 then
     (if ($body | type) != "object" or ($body.error | type) != "object"
      then "not a LoopBack error body: \($body | show)"
      else differ("error.statusCode"; $body.error.statusCode; $want),
           differ("error.name"; $body.error.name; "Error"),
           (if ($body.error.message | type) != "string" or ($body.error.message | length) == 0
            then "error.message is empty" else empty end),
           (if $e.message and (($body.error.message // "") | contains($e.message) | not)
            then "error.message \($body.error.message | tojson) lacks \($e.message | tojson)" else empty end),
           (if $e.code then differ("error.code"; $body.error.code; $e.code) else empty end)
      end)
   else
     (if $e | has("body") then differ("body"; $body; $e.body) else empty end),
     (if $e | has("pids") then differ("pids"; arr(.pid?); $e.pids) else empty end),
     (if $e | has("names") then differ("names"; arr(.name?); $e.names) else empty end),
     (if $e | has("ids") then differ("ids"; arr(.id?); $e.ids) else empty end),
     (if $e | has("pid") then differ("pid"; $body.pid?; $e.pid) else empty end),
     (if $e | has("length") then differ("length"; $body | length; $e.length) else empty end),
     (if $e | has("count") then differ("count"; $body.count?; $e.count) else empty end),
     (if $find and ($body | type) == "array" and ($c.score_check != false) then
       (if all($body[]; (.score | type) == "number") | not
        then "a record without a numeric score: \(arr(.score?) | show)"
        elif $ranked then
          (if all($body[]; .score > 0 and .score < 1) | not
           then "scores not in (0, 1): \(arr(.score) | show)" else empty end),
          (if arr(.score) != (arr(.score) | sort | reverse)
           then "not best first: \(arr(.score) | show)" else empty end)
        elif all($body[]; .score == 0) | not
        then "score not 0 without a query: \(arr(.score) | show)"
        else empty end)
      else empty end)
   end)
JQ

# The request of a case as shell assignments: method, target (url or path),
# is_url, params (curl arguments), shown (the request as text), exprs (the
# case's jq expressions).
read -r -d '' PREP_JQ <<'JQ'
[("filter", "where", "query") as $p | select(has($p))
 | "\($p)=\(.[$p] | if type == "string" then . else tojson end)"] as $kv
| @sh "method=\(.method // "GET") target=\(.url // .path) is_url=\(has("url"))"
  + " params=(" + ([$kv[] | "--data-urlencode", .] | @sh) + ")"
  + " shown=" + ("\(.method // "GET") /api\(.url // .path)\(if $kv == [] then "" else "?" + ($kv | join("&")) end)" | @sh)
  + " exprs=(" + ((.expect.jq // []) | @sh) + ")"
JQ

# run_case LABEL CASE_JSON: one request, its checks, one line of output.
run_case() {
    local label=$1 c=$2 method target is_url shown status failures prog i
    local -a params=() exprs=() args=()
    eval "$(jq -r "$PREP_JQ" <<<"$c")"
    [ "$method" = GET ] || args+=(-X "$method")
    [ "$is_url" = true ] || args+=(-G "${params[@]}")
    status=$(curl -s -g -o "$T/body" -D "$T/headers" -w '%{http_code}' \
        "${args[@]}" "$SERVE_URL/api$target")
    prog='($raw | try fromjson catch {"__not_json": $raw}) as $body | '"$CHECK_JQ"
    for i in "${!exprs[@]}"; do
        prog+=$',\n'"(if (try (\$body | (${exprs[$i]})) catch \"error\") == true"
        prog+=" then empty else \"jq: \" + \$c.expect.jq[$i] end)"
    done
    failures=$(jq -rn --argjson c "$c" --argjson status "${status:-0}" \
        --rawfile hdr "$T/headers" --rawfile raw "$T/body" "$prog" 2>&1)
    NCASES=$((NCASES + 1))
    if [ -z "$failures" ]; then
        ok
        echo "ok    $label"
    else
        FAILS=$((FAILS + 1))
        NFAILED=$((NFAILED + 1))
        FAILED_NAMES+=("$label")
        echo "FAIL  $label"
        echo "      request: $shown"
        sed 's/^/      /' <<<"$failures"
        echo "      answer: $status $(head -c 400 "$T/body")"
    fi
}

# run_cases FIXTURE: every case of every file that belongs to FIXTURE.
run_cases() {
    local fixture=$1 file base label c
    for file in "$CASES_DIR"/*.json; do
        base=$(basename "$file" .json)
        while IFS=$'\t' read -r label c; do
            run_case "$label" "$c"
        done < <(jq -r --arg fx "$fixture" --arg base "$base" --arg only "$ONLY" \
            '.fixture as $d | .cases[] | select((.fixture // $d) == $fx)
             | "\($base)/\(.name)" as $lbl
             | select($only == "" or ($lbl | test($only)))
             | "\($lbl)\t\(tojson)"' "$file")
    done
}

# count_selected [FIXTURE]: how many cases PS_CONFORMANCE_ONLY selects (of
# FIXTURE, or of all).
count_selected() {
    jq -n --arg fx "${1:-}" --arg only "$ONLY" '[inputs
        | (input_filename | sub(".*/"; "") | sub("\\.json$"; "")) as $base
        | .fixture as $d | .cases[]
        | select($fx == "" or (.fixture // $d) == $fx)
        | select($only == "" or ("\($base)/\(.name)" | test($only)))] | length' \
        "$CASES_DIR"/*.json
}

# Every case file must parse, name known catalogues and use known keys (a
# misspelt expectation would otherwise check nothing), and its case names
# must be unique.
read -r -d '' LINT_JQ <<'JQ'
def known(a): keys - a == [];
(.fixture | IN("reference", "conformance"))
and (.cases | map(.name) | length == (unique | length))
and all(.cases[];
    (.name | type) == "string" and (has("path") != has("url"))
    and known(["name", "spec", "fixture", "method", "url", "path", "filter",
               "where", "query", "expect", "score_check"])
    and ((.fixture // "reference") | IN("reference", "conformance"))
    and ((.expect // {}) | known(["status", "body", "pids", "names", "ids",
         "pid", "length", "count", "message", "code", "headers", "jq"])))
JQ
for file in "$CASES_DIR"/*.json; do
    check jq -e "$LINT_JQ" "$file" -- "$(basename "$file"): malformed case file" >/dev/null
done

# The reference catalogue: the recorded answers of the PaNOSC reference
# implementation, harvested through the loopback replay server.
start_replay "$RECORDED"
write_config "$T/reference.ini" "$T/reference" "[source ess]
type = pan
url = $REPLAY_URL"
# The conformance catalogue: a PaN source on disk.
write_config "$T/conformance.ini" "$T/conformance" "[source conf]
type = pan
url = file://$CATALOGUE"

for fixture in reference conformance; do
    [ "$(count_selected "$fixture")" -gt 0 ] || continue
    P() { "$PANSIFT" --quiet --config "$T/$fixture.ini" "$@"; }
    check P init -- "$fixture: init" >/dev/null
    out=$(P harvest 2>&1)
    check_eq "$?" 0 "$fixture: harvest ($out)"
    check_contains "$out" " 0 rejected" "$fixture: no record rejected"
    check P index -- "$fixture: index" >/dev/null
    start_serve "$T/$fixture.ini"
    echo "== $fixture catalogue"
    run_cases "$fixture"
    stop_serve
done

# A case that did not run (a jq error while listing them) is a failure too.
check_eq "$NCASES" "$(count_selected)" "cases run"
echo "$NCASES cases, $((NCASES - NFAILED)) passed, $NFAILED failed"
for n in "${FAILED_NAMES[@]}"; do echo "  failed: $n"; done
finish
