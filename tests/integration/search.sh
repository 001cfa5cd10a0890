#!/usr/bin/env bash
# search: GET /api/search, the full-text search with highlighted snippets,
# as a client meets it on the sample catalogue: a title's words find their
# record with the words marked, stems match ("crystals" finds "crystal"),
# phrases, exclusions and type filters hold, paging is consistent, counts
# are exact, what the public may not see is never found, many searches in
# parallel are answered, and every malformed parameter is a 400 with a JSON
# error that says what is wrong. Then the JOSE papers of the shared corpus
# (skipped when it is absent), harvested by the pdf source: a word of a
# paper's body finds that paper with the word marked in a text snippet.
# (unit.index checks PDF text in more ways: escaping, ceilings, updates.)
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 400 --quiet
write_config "$T/pansift.ini" "$T/data" "[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"
S="$SERVE_URL/api/search"
search() { get "$S" -G "$@"; }

get "$SERVE_URL/api"
check_contains "$(cat "$T/body")" '"path":"/api/search"' "the route table lists /api/search"

# ---- 400s: each says what is wrong ----------------------------------------
bad() { # bad MESSAGE-PART CURL-ARGS...: a 400 whose message has MESSAGE-PART
    local want=$1; shift
    search "$@"
    check_eq "$STATUS" 400 "400 for $*"
    check_eq "$(jq -r .error.statusCode "$T/body")" 400 "JSON error for $*"
    check_contains "$(jq -r .error.message "$T/body")" "$want" "message for $*"
}
# No words (absent or blank q) browses: every record the public may see,
# newest first, with facet counts over all of them.
search
check_eq "$STATUS" 200 "no q browses"
all=$(jq .count "$T/body")
check_eq "$(jq '.results | length > 0' "$T/body")" true "a browse lists records"
check_eq "$(jq '[.facets.type[].count] | add' "$T/body")" "$all" "the type facet adds up to the count"
search --data-urlencode 'q=   '
check_eq "$(jq .count "$T/body")" "$all" "blank q browses too"
bad "sort must be" --data-urlencode 'sort=newest'
bad "is not a facet" --data-urlencode 'facets=year,colour'
bad "facet_limit must be" --data-urlencode 'facet_limit=0'
bad "at most 1024" --data-urlencode "q=$(head -c 1025 /dev/zero | tr '\0' 'a')"
bad "not valid UTF-8" --data 'q=caf%E9'
bad "AND must come between two terms" --data-urlencode 'q=neutron AND'
bad "only excludes" --data-urlencode 'q=NOT neutron'
bad "only excludes" --data-urlencode 'q=-neutron -xray'
bad "no word to search for" --data-urlencode 'q=*'
bad "no word to search for" --data-urlencode 'q=& ,'
# Malformed query syntax: what is wrong, and where (a character offset
# and a caret excerpt).
badat() { # badat POSITION MESSAGE-PART Q
    bad "$2" --data-urlencode "q=$3"
    check_eq "$(jq -r .error.position "$T/body")" "$1" "position for $3"
    check_eq "$(jq -r .error.code "$T/body")" INVALID_QUERY "code for $3"
    check_eq "$(jq -r '.error.excerpt | split("\n") | .[1] | length' "$T/body")" \
        "$(($1 + 1))" "caret under position $1 for $3"
}
badat 8 "this ( is never closed" 'neutron (crystal'
badat 15 "this ) closes nothing" 'neutron crystal)'
badat 8 "unterminated quote" 'neutron "single crystal'
badat 6 "empty value for title" 'title: perovskite'
badat 0 "unknown field \"colour\" (fields: title, author, instrument, facility, technique, doi, year)" 'colour:red'
badat 6 "bad range: the lower bound is above" 'year:[2020 TO 2015]'
badat 11 "bad range: expected TO" 'year:[2015 2020]'
badat 5 "a year is a whole number" 'year:recent'
badat 4 "only excludes" 'a | -b'
badat 4 "at character 4" 'été (x'
check_eq "$(jq -r .error.excerpt "$T/body")" "été (x
    ^" "the excerpt of a query with accents"
bad "limit must be a whole number from 0 to 100" --data 'q=neutron' --data limit=101
bad "limit must be" --data 'q=neutron' --data limit=-1
bad "limit must be" --data 'q=neutron' --data limit=ten
bad "skip must be a whole number from 0 to 10000" --data 'q=neutron' --data skip=10001
bad '"paper" is not a kind of record' --data 'q=neutron' --data type=paper
bad 'not "(not UTF-8)"' --data 'q=neutron' --data 'limit=%FF'
bad '"(not UTF-8)" is not a kind' --data 'q=neutron' --data 'type=caf%C3'
bad "not \"$(printf 'a%.0s' $(seq 64))...\"" --data 'q=neutron' --data "skip=$(printf 'a%.0s' $(seq 100))"
bad '"" is not a kind of record' --data 'q=neutron' --data type=
bad "more than 16 values" --data 'q=neutron' \
    --data "type=$(printf 'dataset,%.0s' $(seq 17))dataset"
check_eq "$(jq -r .error.code "$T/body")" INVALID_PARAMETER "error code of a bad type"
search --data-urlencode 'q=neutron AND'
check_eq "$(jq -r .error.code "$T/body")" INVALID_QUERY "error code of a bad q"
# Error bodies stay JSON when they quote bytes that are not UTF-8 (the PaN
# API's 404 quotes the pid; it was a 500 without the message).
get "$SERVE_URL/api/Datasets/caf%E9%FF"
check_eq "$STATUS" 404 "a pid that is not UTF-8: 404"
check_eq "$(jq -r .error.message "$T/body")" 'Unknown "Dataset" id "caf??".' "its message, scrubbed"

# ---- answers -------------------------------------------------------------------
# A public proposal's title, searched word for word, finds it, marked.
read -r pid title < <(jq -r '.[] | select(.isPublic and .type == "proposal")
    | "\(.pid) \(.title)"' "$T/cat/Documents.json" | head -1)
search --data-urlencode "q=$title" --data limit=100
check_eq "$STATUS" 200 "search a title"
check_eq "$(jq -r --arg p "$pid" '[.results[] | select(.pid == $p)] | length' "$T/body")" 1 \
    "the title finds its proposal ($title)"
hit=$(jq -c --arg p "$pid" '.results[] | select(.pid == $p)' "$T/body")
check_eq "$(jq -r .kind <<<"$hit")" proposal "kind"
check_eq "$(jq -r .title <<<"$hit")" "$title" "the title as stored"
check_contains "$(jq -r .snippets.title <<<"$hit")" "<mark>" "the title snippet marks the words"
check_eq "$(jq '[.results[].score] | . == (sort | reverse)' "$T/body")" true "best first"
check_eq "$(jq -r .count_exact "$T/body")" true "small counts are exact"
check test "$(jq .took_ms "$T/body")" != null -- "took_ms"

# Stems: "crystals" finds titles with "crystal" and marks the word.
search --data-urlencode 'q=crystals' --data type=dataset --data limit=100
n=$(jq '.count' "$T/body")
check test "$n" -gt 0 -- "crystals finds datasets"
check_eq "$(jq -r '[.results[] | select(.snippets.title // "" | test("<mark>[Cc]rystal</mark>"))] | length > 0' "$T/body")" \
    true "the stem crystal is marked"
check_eq "$(jq -r '[.results[].kind] | unique | join(",")' "$T/body")" dataset "type=dataset: datasets only"
expected=$(jq '[.[] | select(.isPublic and (.title | test("\\bcrystals?\\b"; "i")))] | length' "$T/cat/Datasets.json")
check_eq "$n" "$expected" "every public dataset whose title has crystal(s)"

# Exclusion and phrase.
search --data-urlencode 'q=crystal -single' --data type=dataset --data limit=100
check_eq "$(jq -r '[.results[].title | test("single"; "i")] | any' "$T/body")" false "-single excludes"
search --data-urlencode 'q="single crystal"' --data type=dataset --data limit=100
check_eq "$(jq -r '[.results[].title | test("single[ -]crystal"; "i")] | all' "$T/body")" true \
    "a phrase matches the words together"

# The query syntax: | and OR, field:value, ranges.
search --data-urlencode 'q=crystal OR powder' --data limit=0
or_count=$(jq .count "$T/body")
search --data-urlencode 'q=crystal | powder' --data limit=0
check_eq "$(jq .count "$T/body")" "$or_count" "| is OR"
search --data-urlencode 'q=crystal' --data limit=0
check test "$or_count" -gt "$(jq .count "$T/body")" -- "OR finds more than one word"
search --data-urlencode 'q=title:crystal' --data type=dataset --data limit=100
check test "$(jq .count "$T/body")" -gt 0 -- "title:crystal finds datasets"
check_eq "$(jq -r '[.results[].title | test("crystal"; "i")] | all' "$T/body")" true \
    "title:crystal: the word in every title"
check_eq "$(jq -r '[.results[].snippets.title // "" | test("<mark>")] | all' "$T/body")" true \
    "title:crystal: marked in the title snippets"
search --data-urlencode 'q=year:2019' --data type=dataset --data limit=100
check test "$(jq .count "$T/body")" -gt 0 -- "year:2019 finds datasets"
check_eq "$(jq -r '[.results[].year == 2019] | all' "$T/body")" true "year:2019: every result of 2019"
search --data-urlencode 'q=year:[2015 TO 2017]' --data type=dataset --data limit=0
expected=$(jq '[.[] | select(.isPublic and (.creationDate[0:4] | tonumber) >= 2015
    and (.creationDate[0:4] | tonumber) <= 2017)] | length' "$T/cat/Datasets.json")
check_eq "$(jq .count "$T/body")" "$expected" "year:[2015 TO 2017]: every public dataset of those years"
search --data-urlencode 'q=year:{2015 TO 2018}' --data type=dataset --data limit=0
check_eq "$(jq .count "$T/body")" "$(jq '[.[] | select(.isPublic and (.creationDate[0:4] == "2016" or .creationDate[0:4] == "2017"))] | length' "$T/cat/Datasets.json")" \
    "year:{2015 TO 2018}: exclusive bounds"
search --data-urlencode 'q=year:[* TO 2016] -year:[* TO 2015]' --data type=dataset --data limit=0
check_eq "$(jq .count "$T/body")" "$(jq '[.[] | select(.isPublic and .creationDate[0:4] == "2016")] | length' "$T/cat/Datasets.json")" \
    "open bounds and an excluded range"
search --data-urlencode 'q=facility:ILL' --data type=instrument --data limit=0
check_eq "$(jq .count "$T/body")" "$(jq '[.[] | select(.facility == "ILL")] | length' "$T/cat/Instruments.json")" \
    "facility:ILL: the ILL's instruments"
search --data-urlencode 'q=facility:ill' --data type=instrument --data limit=0
check test "$(jq .count "$T/body")" -gt 0 -- "facility: in lower case"
search --data-urlencode 'q=instrument:IN5' --data type=dataset --data limit=0
check_eq "$(jq .count "$T/body")" "$(jq '[.[] | select(.isPublic and .instrumentId == "10.5291/ILL-INSTRUMENT.IN5")] | length' "$T/cat/Datasets.json")" \
    "instrument:IN5: the datasets of IN5"
read -r apid aname < <(jq -r '.[] | select(.isPublic and .type == "proposal")
    | "\(.pid) \(.members[0].person.fullName)"' "$T/cat/Documents.json" | head -1)
search --data-urlencode "q=author:\"$aname\"" --data type=proposal --data limit=100
check_eq "$(jq -r --arg p "$apid" '[.results[] | select(.pid == $p)] | length' "$T/body")" 1 \
    "author:\"$aname\" finds the proposal"
expected=$(jq --arg n "$aname" '[.[] | select(.isPublic and .type == "proposal"
    and ([.members[].person.fullName] | index($n)))] | length' "$T/cat/Documents.json")
check_eq "$(jq .count "$T/body")" "$expected" "author: every public proposal of $aname"
search --data-urlencode "q=doi:$apid" --data limit=5
check_eq "$(jq -r '[.results[].pid] | join(",")' "$T/body")" "$apid" "doi: finds the record"
search --data-urlencode "q=doi:$(tr a-z A-Z <<<"$apid")" --data limit=5
check_eq "$(jq -r '[.results[].pid] | join(",")' "$T/body")" "$apid" "doi: in another letter case"
search --data-urlencode 'q=(crystal | powder) -single title:neutron*' --data type=dataset --data limit=100
check_eq "$(jq -r '[.results[].title | test("single"; "i")] | any' "$T/body")" false \
    "a group with an exclusion and a prefix"

# Types, repeated or comma-separated, in any letter case.
search --data-urlencode 'q=neutron' --data type=proposal --data type=Publication --data limit=100
a=$(jq -c '[.count, ([.results[].kind] | unique)]' "$T/body")
search --data-urlencode 'q=neutron' --data 'type=proposal, publication' --data limit=100
check_eq "$(jq -c '[.count, ([.results[].kind] | unique)]' "$T/body")" "$a" "type repeated = comma list"
check_contains "$a" "proposal" "proposals found"
search --data-urlencode 'q=D22' --data type=instrument
check_eq "$(jq -r '.results[0].kind + " " + .results[0].snippets.title' "$T/body")" \
    "instrument <mark>D22</mark>" "instruments by name"

# Paging: skip/limit walk the same order; limit=0 only counts.
search --data-urlencode 'q=neutron' --data limit=4
four=$(jq -c '[.results[].pid]' "$T/body")
total=$(jq .count "$T/body")
search --data-urlencode 'q=neutron' --data limit=2 --data skip=2
check_eq "$(jq -c '[.results[].pid]' "$T/body")" "$(jq -c '.[2:4]' <<<"$four")" "skip=2 limit=2"
search --data-urlencode 'q=neutron' --data limit=0
check_eq "$(jq -c '[.count, (.results | length)]' "$T/body")" "[$total,0]" "limit=0: the count alone"
search --data-urlencode 'q=neutron'
check_eq "$(jq '.results | length' "$T/body")" 20 "20 results by default"

# Nothing the public may not see, over every page of a broad search.
jq -r '.[] | select(.isPublic | not) | .pid' "$T/cat/Documents.json" "$T/cat/Datasets.json" |
    sort > "$T/hidden"
check test -s "$T/hidden" -- "the catalogue has records the public may not see"
: > "$T/seen"
skip=0
while :; do
    search --data-urlencode 'q=of OR in OR the' --data limit=100 --data skip=$skip
    [ "$STATUS" = 200 ] || break
    jq -r '.results[].pid' "$T/body" >> "$T/seen"
    [ "$(jq '.results | length' "$T/body")" -lt 100 ] && break
    skip=$((skip + 100))
done
check_eq "$(sort -u "$T/seen" | wc -l)" "$(jq .count "$T/body")" "paging through every match, each once"
check_eq "$(sort -u "$T/seen" | comm -12 - "$T/hidden" | wc -l)" 0 "no hidden record is found"

# Many searches at once (both worker threads build and run queries).
seq 80 | xargs -P 12 -I{} curl -s -o /dev/null -w '%{http_code}\n' -G \
    --data-urlencode 'q=crystal* OR "neutron scattering"' --data limit=5 --data 'skip={}' \
    "$S" > "$T/codes"
check_eq "$(sort -u "$T/codes")" 200 "80 parallel searches answered"

stop_serve

# ---- the JOSE papers, through the pdf source --------------------------------
JOSE="$PS_SOURCE_DIR/../shared/corpus/pdf/jose"
if [ ! -d "$JOSE" ]; then
    echo "no corpus at $JOSE: the PDF checks are skipped"
    finish
fi
mkdir -p "$T/papers"
cp "$JOSE"/*.pdf "$T/papers/"
write_config "$T/pdf.ini" "$T/pdfdata" "[source papers]
type = pdf
url = file://$T/papers
jobs = 2
timeout = 20000"
Q() { "$PANSIFT" --quiet --config "$T/pdf.ini" "$@"; }
Q init >/dev/null
out=$(Q harvest 2>&1)
check_eq "$?" 0 "harvest the JOSE papers ($out)"
check Q index -- "index them"
start_serve "$T/pdf.ini"
S="$SERVE_URL/api/search"
paper() { # paper DOI: the result with this DOI in $T/body
    jq -c --arg d "$1" '[.results[] | select(.doi == $d)][0]' "$T/body"
}
# "geology" is only in the body of nbgrader's paper.
search --data-urlencode 'q=geology' --data type=publication
hit=$(paper 10.21105/jose.00032)
check_eq "$(jq -r '.title | test("nbgrader")' <<<"$hit")" true "a body word finds its paper"
check_contains "$(jq -r .snippets.text <<<"$hit")" "<mark>geology</mark>" "marked in the text snippet"
check_eq "$(jq -r '.snippets | keys | join(",")' <<<"$hit")" text "only the text matched"
# A stem: "chromebook" finds "Chromebooks" in another paper's body.
search --data-urlencode 'q=chromebook' --data type=publication
check_contains "$(jq -r .snippets.text <<<"$(paper 10.21105/jose.00138)")" \
    "<mark>Chromebooks</mark>" "the stem finds the plural, marked as written"
# doi: finds a paper by its DOI.
search --data-urlencode 'q=doi:https://doi.org/10.21105/JOSE.00032' --data type=publication
check_eq "$(jq -r '[.results[].doi] | join(",")' "$T/body")" 10.21105/jose.00032 "doi: with a resolver, upper case"
search --data-urlencode 'q=title:nbgrader year:2019' --data type=publication
check_eq "$(jq -r '[.results[].doi] | join(",")' "$T/body")" 10.21105/jose.00032 "title: and year: on the papers"
# A phrase of the funding statements, in several papers.
search --data-urlencode 'q="National Science Foundation"' --data type=publication --data limit=100
check test "$(jq .count "$T/body")" -ge 2 -- "a funding phrase in several papers"
check_eq "$(jq -r '[.results[].snippets.text // "" | test("<mark>National\\sScience\\sFoundation</mark>")] | all' "$T/body")" \
    true "each with the phrase marked"
stop_serve
finish
