#!/usr/bin/env bash
# matches-api: the match review API (GET /api/matches, POST
# /api/matches/{id}) on the sample catalogue after `pansift match`, with an
# admin token configured: the listing and its counts against the store
# (read independently with sqlite3), each match's publication, proposal,
# instruments and evidence, the state, tier and instrument filters and
# paging, matches of restricted proposals hidden from the public but shown
# to the admin, judging (401 without or with a wrong token, 400 for a bad
# id or body, 404 for an unknown match), a judgement bumping the change
# sequence of both records and the in-server indexer catching up, a
# rejected match never coming back on `pansift match` reruns, undoing a
# judgement, and the CORS preflight of a judgement.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 1; }

TOKEN=test-admin-token-0123456789
"$GENCAT" --out "$T/cat" --datasets 400 --quiet
write_config "$T/pansift.ini" "$T/data" "admin_token = $TOKEN
[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
P match >/dev/null
check_eq "$?" 0 "pansift match"
start_serve "$T/pansift.ini"
M="$SERVE_URL/api/matches"
A=(-H "Authorization: Bearer $TOKEN")

# What the public may see, counted in the store.
VIS="(%s.visibility = 0 OR (%s.visibility = 1 AND %s.embargo_until <= CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)))"
vis() { printf "$VIS" "$1" "$1" "$1"; }
FROM="FROM link l JOIN publication u ON u.id = l.src_id AND u.deleted = 0
  JOIN proposal pr ON pr.id = l.dst_id AND pr.deleted = 0
  WHERE l.type = 'publication-from-proposal'"
public_count() { Q "SELECT count(*) $FROM AND $(vis u) AND $(vis pr) $1"; }

# ---- listing ---------------------------------------------------------------
get "$M"
check_eq "$STATUS" 200 "GET /api/matches"
want=$(public_count "AND l.state = 0")
check [ "$want" -ge 10 ] -- "the sample has candidates ($want)"
check_eq "$(jq .count "$T/body")" "$want" "count: the public candidates"
check_eq "$(jq '.results | length' "$T/body")" "$([ "$want" -gt 50 ] && echo 50 || echo "$want")" \
    "a page of 50 at most"
check_eq "$(jq '[.results[].score] | . == (sort | reverse)' "$T/body")" true "best first"
check_eq "$(jq -r '[.results[].state] | unique | join(",")' "$T/body")" candidate \
    "candidates by default"
first=$(jq -c '.results[0]' "$T/body")
id=$(jq -r .id <<<"$first")
row=$(Q -separator '|' "SELECT u.pid, u.title, pr.pid, coalesce(pr.code, ''), pr.title
  FROM link l JOIN publication u ON u.id = l.src_id JOIN proposal pr ON pr.id = l.dst_id
  WHERE l.id = $id")
check_eq "$(jq -r '[.publication.pid, .publication.title, .proposal.pid,
  (.proposal.code // ""), .proposal.title] | join("|")' <<<"$first")" "$row" \
    "the publication and proposal of match $id"
check_eq "$(jq '.evidence | length > 0' <<<"$first")" true "evidence listed"
check_eq "$(jq '.evidence == ('"$(Q "SELECT evidence FROM link WHERE id = $id")"')' <<<"$first")" \
    true "the evidence as stored"
check_contains "hard soft" "$(jq -r .tier <<<"$first")" "a tier"
instr=$(Q "SELECT group_concat(p, ',') FROM (SELECT DISTINCT i.pid AS p FROM link dl
  JOIN dataset d ON d.id = dl.src_id JOIN instrument i ON i.id = d.instrument_id
  JOIN link l ON l.dst_id = dl.dst_id AND l.id = $id
  WHERE dl.type = 'dataset-of-proposal' ORDER BY 1)")
check_eq "$(jq -r '[.proposal.instruments[].pid] | join(",")' <<<"$first")" "$instr" \
    "the proposal's instruments"

# Filters and paging.
get "$M?state=all&limit=1000"
check_eq "$(jq .count "$T/body")" "$(public_count "")" "state=all"
get "$M?state=all&tier=hard&limit=1000"
hard=$(jq .count "$T/body")
check_eq "$(jq -r '[.results[].tier] | unique | join(",")' "$T/body")" hard "tier=hard: hard only"
get "$M?state=all&tier=soft&limit=1000"
check_eq "$(( hard + $(jq .count "$T/body") ))" "$(public_count "")" "hard + soft = all"
ipid=$(jq -r '.proposal.instruments[0].pid // empty' <<<"$first")
if [ -n "$ipid" ]; then
    get "$M?state=all&limit=1000" --get --data-urlencode "instrument=$ipid"
    check [ "$(jq .count "$T/body")" -ge 1 ] -- "instrument=$ipid finds matches"
    check_eq "$(jq --arg i "$ipid" '[.results[] | [.proposal.instruments[].pid] | index($i) != null] | all' "$T/body")" \
        true "instrument=: every match's proposal has data of it"
fi
get "$M?state=all&limit=1000"
all_ids=$(jq -c '[.results[].id]' "$T/body")
p1=$(curl -s "$M?state=all&limit=7" | jq -c '[.results[].id]')
p2=$(curl -s "$M?state=all&limit=7&skip=7" | jq -c '[.results[].id]')
check_eq "$(jq -c --argjson a "$p1" --argjson b "$p2" -n '$a + $b')" \
    "$(jq -c '.[:14]' <<<"$all_ids")" "pages follow each other"
get "$M?state=all&skip=100000"
check_eq "$(jq '.results | length' "$T/body")" 0 "past the end: no results"

bad() { # bad MESSAGE-PART QUERY
    get "$M?$2"
    check_eq "$STATUS" 400 "400 for $2"
    check_contains "$(jq -r .error.message "$T/body")" "$1" "message for $2"
}
bad "state is candidate, confirmed, rejected or all" "state=maybe"
bad "tier is hard, soft or all" "tier=firm"
bad "limit must be a whole number from 1 to 1000" "limit=0"
bad "limit must be" "limit=1001"
bad "skip must be" "skip=-1"
bad "instrument is an instrument's pid" "instrument="

# Restricted proposals: hidden from the public, shown to the admin.
hidden=$(Q "SELECT count(*) $FROM AND NOT ($(vis u) AND $(vis pr))")
check [ "$hidden" -ge 1 ] -- "the sample has matches of restricted records ($hidden)"
get "$M?state=all&limit=1000" "${A[@]}"
check_eq "$(jq .count "$T/body")" "$(( $(public_count "") + hidden ))" "the admin sees every match"
hid=$(Q "SELECT l.id $FROM AND NOT ($(vis u) AND $(vis pr)) LIMIT 1")
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "${A[@]}" -d '{"state":"confirmed"}' "$M/$hid")
check_eq "$STATUS" 200 "the admin judges a hidden match"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "${A[@]}" -d '{"state":"candidate"}' "$M/$hid")
check_eq "$STATUS" 200 "and undoes it"

# ---- judging ---------------------------------------------------------------
post() { # post ID BODY [CURL ARGS...]: status in STATUS, headers in $T/headers
    local id=$1 body=$2; shift 2
    STATUS=$(curl -s -D "$T/headers" -o "$T/body" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data-binary "$body" "$@" "$M/$id")
}
post "$id" '{"state":"confirmed"}'
check_eq "$STATUS" 401 "no token: 401"
check_contains "$(cat "$T/headers")" 'WWW-Authenticate: Bearer realm="pansift"' "401 says how"
check_contains "$(jq -r .error.message "$T/body")" "Authorization: Bearer" "401 message"
post "$id" '{"state":"confirmed"}' -H "Authorization: Bearer wrong-token-0123456789"
check_eq "$STATUS" 401 "wrong token: 401"
check_contains "$(cat "$T/headers")" 'error="invalid_token"' "the wrong token is named"
post "$id" '{"state":"confirmed"}' -H "Authorization: Basic $TOKEN"
check_eq "$STATUS" 401 "another scheme: 401"
check_eq "$(Q "SELECT state FROM link WHERE id = $id")" 0 "nothing judged without the token"

pub=$(Q "SELECT src_id FROM link WHERE id = $id")
prop=$(Q "SELECT dst_id FROM link WHERE id = $id")
seq_pub=$(Q "SELECT seq FROM publication WHERE id = $pub")
seq_prop=$(Q "SELECT seq FROM proposal WHERE id = $prop")
post "$id" '{"state":"confirmed"}' "${A[@]}"
check_eq "$STATUS" 200 "confirm"
check_eq "$(jq -r '.id, .state, .provenance' "$T/body" | paste -sd/)" "$id/confirmed/validated" \
    "the updated match"
check_eq "$(Q "SELECT state || '/' || provenance FROM link WHERE id = $id")" "1/3" "stored"
check [ "$(Q "SELECT seq FROM publication WHERE id = $pub")" -gt "$seq_pub" ] -- \
    "the publication's change sequence moves"
check [ "$(Q "SELECT seq FROM proposal WHERE id = $prop")" -gt "$seq_prop" ] -- \
    "the proposal's change sequence moves"
# The in-server indexer applies the change.
lag=1
for _ in $(seq 50); do
    lag=$(curl -s "$SERVE_URL/health" | jq .index.lag)
    [ "$lag" = 0 ] && break
    sleep 0.1
done
check_eq "$lag" 0 "the in-server indexer re-indexes both records"
get "$M?state=confirmed"
check_eq "$(jq --argjson i "$id" '[.results[].id] | index($i) != null' "$T/body")" true \
    "state=confirmed lists it"

# Bad requests.
post abc '{"state":"confirmed"}' "${A[@]}"
check_eq "$STATUS" 400 "a bad id: 400"
post 0 '{"state":"confirmed"}' "${A[@]}"
check_eq "$STATUS" 400 "id 0: 400"
post 99999999 '{"state":"confirmed"}' "${A[@]}"
check_eq "$STATUS" 404 "an unknown match: 404"
check_eq "$(jq .error.statusCode "$T/body")" 404 "404 is JSON"
badbody() { # badbody MESSAGE-PART BODY
    post "$id" "$2" "${A[@]}"
    check_eq "$STATUS" 400 "400 for body $2"
    check_contains "$(jq -r .error.message "$T/body")" "$1" "message for body $2"
}
badbody "needs a JSON object" ''
badbody "not JSON" '{"state":'
badbody "must be a JSON object" '["confirmed"]'
badbody 'not "maybe"' '{"state":"maybe"}'
badbody "(a string)" '{"state":1}'
badbody "(a string)" '{}'
badbody 'unknown member "note"' '{"state":"rejected","note":"x"}'
check_eq "$(Q "SELECT state FROM link WHERE id = $id")" 1 "bad requests change nothing"

# A rejected match never comes back.
rid=$(jq -r '.results[1].id' <<<"$(curl -s "$M")")
post "$rid" '{"state":"rejected"}' "${A[@]}"
check_eq "$STATUS" 200 "reject"
P match --full >/dev/null
check_eq "$?" 0 "pansift match --full after the judgements"
P match >/dev/null
check_eq "$(Q "SELECT state || '/' || provenance FROM link WHERE id = $rid")" "2/3" \
    "rejected stays rejected"
check_eq "$(Q "SELECT count(*) FROM link l2 JOIN link l ON l.id = $rid WHERE
  l2.type = l.type AND l2.src_ref = l.src_ref AND l2.dst_ref = l.dst_ref")" 1 \
    "and is not made again"
get "$M?limit=1000"
check_eq "$(jq --argjson i "$rid" '[.results[].id] | index($i)' "$T/body")" null \
    "not among the candidates"
check_eq "$(Q "SELECT state FROM link WHERE id = $id")" 1 "confirmed stays confirmed"

# Undo: a candidate again, managed by the matcher.
post "$rid" '{"state":"candidate"}' "${A[@]}"
check_eq "$(jq -r '.state + "/" + .provenance' "$T/body")" candidate/inferred "undo a rejection"
get "$M?limit=1000"
check_eq "$(jq --argjson i "$rid" '[.results[].id] | index($i) != null' "$T/body")" true \
    "a candidate again"

# CORS: the preflight of a judgement, and the answer's header.
h=$(curl -s -D - -o /dev/null -X OPTIONS -H "Origin: https://x.org" \
    -H "Access-Control-Request-Method: POST" \
    -H "Access-Control-Request-Headers: authorization, content-type" "$M/$id")
check_contains "$h" "Access-Control-Allow-Methods: GET, HEAD, POST, DELETE, OPTIONS" "preflight"
post "$id" '{"state":"confirmed"}' "${A[@]}"
check_contains "$(cat "$T/headers")" "Access-Control-Allow-Origin: *" "CORS on a judgement"
h=$(curl -s -D - -o /dev/null -X PUT "${A[@]}" "$M/$id")
check_contains "$h" "HTTP/1.1 405" "PUT: 405"
check_contains "$h" "Allow: POST" "405 names POST"
stop_serve
finish
