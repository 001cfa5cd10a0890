#!/usr/bin/env bash
# relevance: `query` ranks find results by the PaNOSC scoring service's
# relevance score (docs/relevance.md), served by the real server over a
# small catalogue whose scores are known: every result has a score in
# (0, 1), best first, ties in pid order; a record holding one of two query
# terms scores exactly 1/sqrt(2), one term scores 0.9 at best; records
# without a query term are not returned; skip and limit come after the
# ranking, the where clause and ?query= apply; Documents and Instruments
# are scored in their own groups; a record harvested while the server runs
# is scored with the new statistics.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/rel"
cat > "$T/rel/Datasets.json" <<'JSON'
[
{"pid":"ds/a","title":"Alpha beta","isPublic":true,"creationDate":"2024-01-01T00:00:00Z"},
{"pid":"ds/b","title":"alpha","isPublic":true,"creationDate":"2024-01-02T00:00:00Z"},
{"pid":"ds/c","title":"Beta, gamma!","isPublic":true,"creationDate":"2024-01-03T00:00:00Z"},
{"pid":"ds/d","title":"gamma","isPublic":true,"creationDate":"2024-01-04T00:00:00Z"},
{"pid":"ds/e","title":"alpha beta beta beta","isPublic":true,"creationDate":"2024-01-05T00:00:00Z"},
{"pid":"ds/f","title":"The delta of the","isPublic":true,"creationDate":"2024-01-06T00:00:00Z"}
]
JSON
cat > "$T/rel/Documents.json" <<'JSON'
[
{"pid":"doc/1","type":"publication","title":"Alpha","isPublic":true},
{"pid":"doc/2","type":"publication","title":"Epsilon","isPublic":true}
]
JSON
cat > "$T/rel/Instruments.json" <<'JSON'
[
{"pid":"ins/1","name":"Alpha spectrometer","facility":"TESTLAB"}
]
JSON
write_config "$T/pansift.ini" "$T/data" "[source rel]
type = pan
url = file://$T/rel"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"

find_() { # find_ MODEL FILTER: the answer in $T/body
    get "$SERVE_URL/api/$1" --data-urlencode "filter=$2" -G
}
pids() { jq -c '[.[].pid]' "$T/body"; }
near() { # near ACTUAL EXPECTED: equal to 1e-12
    jq -n --argjson a "$1" --argjson b "$2" '($a - $b) | fabs < 1e-12'
}

# Two terms of equal frequency (alpha and beta are in three datasets
# each): ds/a holds both once, a cosine of 1, served below 1; ds/e holds
# beta three times: (1 + 3)/(sqrt(10) sqrt(2)); ds/b and ds/c hold one of
# the two: 1/sqrt(2), in pid order; ds/d and ds/f hold neither.
find_ Datasets '{"query":"alpha beta"}'
check_eq "$STATUS" 200 "relevance query"
check_eq "$(pids)" '["ds/a","ds/e","ds/b","ds/c"]' "best first, ties by pid, no zero score"
check_eq "$(jq '[.[].score] | all(. > 0 and . < 1)' "$T/body")" true "scores in (0, 1)"
check_eq "$(jq '.[0].score > 0.9999999' "$T/body")" true "a cosine of 1 stays below 1"
check_eq "$(near "$(jq '.[1].score' "$T/body")" "$(jq -n '4 / (10 | sqrt) / (2 | sqrt)')")" true "ds/e: 4/sqrt(20)"
check_eq "$(near "$(jq '.[2].score' "$T/body")" "$(jq -n '1 / (2 | sqrt)')")" true "one of two terms: 1/sqrt(2)"
check_eq "$(jq '.[2].score == .[3].score' "$T/body")" true "the same for every such record"

# skip and limit after the ranking.
find_ Datasets '{"query":"alpha beta","limit":2}'
check_eq "$(pids)" '["ds/a","ds/e"]' "limit"
find_ Datasets '{"query":"alpha beta","skip":1,"limit":2}'
check_eq "$(pids)" '["ds/e","ds/b"]' "skip and limit"
find_ Datasets '{"query":"alpha beta","skip":10}'
check_eq "$(pids)" '[]' "skip past the end"

# One term: 0.9 w / max w, w = count / distinct terms * idf. gamma: ds/d
# (its only term) 0.9, ds/c (one of two terms) 0.45.
find_ Datasets '{"query":"Gamma"}'
check_eq "$(pids)" '["ds/d","ds/c"]' "one term"
check_eq "$(near "$(jq '.[0].score' "$T/body")" 0.9)" true "one term: the best scores 0.9"
check_eq "$(near "$(jq '.[1].score' "$T/body")" 0.45)" true "one term: 0.9 w / max w"

# Stop words and punctuation are not terms; the service's preprocessing
# (stemming, numbers) applies to the query.
find_ Datasets '{"query":"the"}'
check_eq "$STATUS" 200 "a query of stop words"
check_eq "$(pids)" '[]' "matches nothing"
find_ Datasets '{"query":"DELTAS!"}'
check_eq "$(pids)" '["ds/f"]' "stemmed, lower-cased, without punctuation"

# The where clause filters; ?query= is the same as filter.query; an
# order other than score sorts the scored records.
find_ Datasets '{"query":"alpha beta","where":{"pid":{"inq":["ds/b","ds/c","ds/d"]}}}'
check_eq "$(pids)" '["ds/b","ds/c"]' "where and query"
get "$SERVE_URL/api/Datasets" --data-urlencode 'query=alpha beta' --data-urlencode 'filter={"limit":1}' -G
check_eq "$(pids)" '["ds/a"]' "?query="
find_ Datasets '{"query":"alpha beta","order":"title DESC"}'
check_eq "$(pids)" '["ds/c","ds/e","ds/a","ds/b"]' "query with another order"
check_eq "$(jq '[.[].score] | all(. > 0 and . < 1)' "$T/body")" true "still scored"
find_ Datasets '{"query":"alpha beta","fields":["pid","score"],"limit":1}'
check_eq "$(jq -c '.[0] | keys' "$T/body")" '["pid","score"]' "score can be projected"
find_ Datasets '{"where":{"pid":"ds/a"}}'
check_eq "$(jq '.[0].score' "$T/body")" 0 "no query: score 0"

# Too many words: a clear 400.
words=$(printf 'word%d ' $(seq 70))
find_ Datasets "{\"query\":\"$words\"}"
check_eq "$STATUS" 400 "70 query words: 400"
check_contains "$(jq -r .error.message "$T/body")" "at most 64" "says the ceiling"

# Each model is scored in its own group: doc/1 is the only document with
# "alpha" (0.9, its only term), whatever the datasets hold.
find_ Documents '{"query":"alpha"}'
check_eq "$(pids)" '["doc/1"]' "documents"
check_eq "$(near "$(jq '.[0].score' "$T/body")" 0.9)" true "documents are their own corpus"
find_ Instruments '{"query":"spectrometers"}'
check_eq "$(pids)" '["ins/1"]' "instruments"
check_eq "$(near "$(jq '.[0].score' "$T/body")" 0.9)" true "instrument score"

# A dataset harvested while the server runs is scored, with the new
# frequencies: alpha is in four datasets, beta in three.
mkdir -p "$T/late"
printf '[{"pid":"ds/g","title":"alpha","isPublic":true,"creationDate":"2024-02-01T00:00:00Z"}]\n' > "$T/late/Datasets.json"
printf '[]\n' > "$T/late/Documents.json"
printf '[]\n' > "$T/late/Instruments.json"
printf '[source late]\ntype = pan\nurl = file://%s/late\n' "$T" >> "$T/pansift.ini"
P harvest late >/dev/null 2>&1
found=0
for _ in $(seq 100); do
    find_ Datasets '{"query":"alpha beta"}'
    if [ "$(jq length "$T/body")" = 5 ]; then found=1; break; fi
    sleep 0.1
done
check_eq "$found" 1 "a new record is scored while serving"
check_eq "$(pids)" '["ds/a","ds/e","ds/b","ds/c","ds/g"]' "ranked with the others"
ia=$(jq -n '(1 + 7/4) | log10'); ib=$(jq -n '(1 + 7/3) | log10')
want=$(jq -n --argjson a "$ia" --argjson b "$ib" '($a + $b) / (($a*$a + $b*$b) | sqrt) / (2 | sqrt)')
check_eq "$(near "$(jq '.[0].score' "$T/body")" "$want")" true "ds/a with the new frequencies"

stop_serve
finish
