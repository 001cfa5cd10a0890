#!/usr/bin/env bash
# sample: the README's first command, minus the network port: the sample
# catalogue made by pansift-gencat goes through the real harvest path
# (file:// PaN source) with no record rejected, and the API then serves
# exactly what the public may see: public datasets and documents, not the
# embargoed ones; techniques as PaNET IRIs; parameters with their units;
# members with ORCIDs; proposals linked to their datasets and publications.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 400 --quiet
check cmp -s <("$GENCAT" --out "$T/cat2" --datasets 400 --quiet && cat "$T/cat2/Datasets.json") "$T/cat/Datasets.json" -- "the generator is deterministic"
write_config "$T/pansift.ini" "$T/data" "[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
check P init -- "init"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "harvest ($out)"
check_contains "$out" "0 rejected" "no record rejected"
check P index -- "index"
start_serve "$T/pansift.ini"

body() { jq -c '.[]' "$1"; }
public_ds=$(body "$T/cat/Datasets.json" | jq -s 'map(select(.isPublic)) | length')
public_docs=$(body "$T/cat/Documents.json" | jq -s "map(select(.isPublic)) | length")
get "$SERVE_URL/api/Datasets/count"
check_eq "$(jq .count "$T/body")" "$public_ds" "public datasets are served, the others are not"
get "$SERVE_URL/api/Documents/count"
check_eq "$(jq .count "$T/body")" "$public_docs" "public documents are served"
get "$SERVE_URL/api/Instruments/count"
check_eq "$(jq .count "$T/body")" "$(body "$T/cat/Instruments.json" | wc -l)" "all instruments"

hidden=$(body "$T/cat/Datasets.json" | jq -r 'select(.isPublic | not) | .pid' | head -1)
if [ -n "$hidden" ]; then
    get "$SERVE_URL/api/Datasets/$(jq -rn --arg p "$hidden" '$p|@uri')"
    check_eq "$STATUS" 404 "a dataset that is not public is not served by pid"
fi

pid=$(body "$T/cat/Datasets.json" | jq -r 'select(.isPublic) | .pid' | head -1)
enc=$(jq -rn --arg p "$pid" '$p|@uri')
get "$SERVE_URL/api/Datasets/$enc" --data-urlencode 'filter={"include":[{"relation":"techniques"},{"relation":"parameters"},{"relation":"instrument"},{"relation":"documents"}]}' -G
check_eq "$STATUS" 200 "dataset by pid"
check_contains "$(jq -r '.techniques[0].panetId' "$T/body")" "http://purl.org/pan-science/PaNET/PaNET" "technique as a PaNET IRI"
check test "$(jq '[.parameters[] | select(.unit != "")] | length' "$T/body")" -gt 0 -- "parameters keep their units"
check_eq "$(jq -r '.instrument.facility | length > 0' "$T/body")" true "instrument with facility"
check_eq "$(jq '[.documents[] | select(.type == "proposal")] | length' "$T/body")" 1 "the dataset's proposal"

get "$SERVE_URL/api/Documents" --data-urlencode 'filter={"where":{"type":"proposal"},"include":[{"relation":"members","scope":{"where":{"role":"principal investigator"},"include":[{"relation":"person"},{"relation":"affiliation"}]}},{"relation":"datasets"}],"limit":5}' -G
check_eq "$(jq length "$T/body")" 5 "five proposals"
check_eq "$(jq '[.[] | .members | length] | unique' "$T/body" -c)" "[1]" "one principal investigator each"
check_contains "$(jq -r '.[0].members[0].person.id' "$T/body")" "https://orcid.org/" "people by ORCID"
check_eq "$(jq '[.[] | .datasets | length > 0] | all' "$T/body")" true "proposals list their datasets"

# A text query scores and ranks.
get "$SERVE_URL/api/Datasets" --data-urlencode 'filter={"query":"small angle scattering","limit":10}' -G
check_eq "$STATUS" 200 "relevance query"
check_eq "$(jq '[.[].score] | (. == (sort | reverse)) and all(. > 0 and . < 1)' "$T/body")" true "scores in (0,1), best first"

# A document its provider does not publish stays hidden after its
# releaseDate: the provider opens it (isPublic true), not the calendar.
mkdir -p "$T/held"
soon=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '[{"pid":"held/1","isPublic":false,"type":"proposal","title":"Held back","releaseDate":"%s"}]\n' "$soon" > "$T/held/Documents.json"
printf '[{"pid":"huge/1","title":"Huge","isPublic":true,"size":1e300,"files":[{"name":"f","size":-1e300}]}]\n' > "$T/held/Datasets.json"
printf '[]\n' > "$T/held/Instruments.json"
printf '[source held]\ntype = pan\nurl = file://%s/held\n' "$T" >> "$T/pansift.ini"
out=$(P harvest held 2>&1); rc=$?
check_eq "$rc" 0 "harvest the held document ($out)"
sleep 3
get "$SERVE_URL/api/Documents/held%2F1"
check_eq "$STATUS" 404 "isPublic false stays hidden past its releaseDate"
get "$SERVE_URL/api/Documents/count"
check_eq "$(jq .count "$T/body")" "$public_docs" "and is not counted"
get "$SERVE_URL/api/Datasets/huge%2F1" --data-urlencode 'filter={"include":[{"relation":"files"}]}' -G
check_eq "$(jq -c '[.size, .files[0].size]' "$T/body")" "[null,null]" "sizes no integer holds are dropped, not wrapped"
stop_serve
finish
