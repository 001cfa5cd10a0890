#!/usr/bin/env bash
# harvest-datacite: the `datacite` source against paged JSON:API answers
# (ps-replay exchanges) built at test time from the recorded DataCite
# records of the shared corpus: the kernel-4 examples and bolognese's
# DataCite XML (converted by test_datacite_map --dump) and bolognese's
# DataCite JSON, as REST resources with links.next cursors. Checks: records
# mapped through the PaN API (datasets, publications with ORCID authors and
# ROR affiliations, instruments), links, the first request's filters; a
# second run is incremental (updated:[SINCE TO *] in the query) and changes
# nothing, a third sees an update, a deletion (state registered) and a
# malformed record; a fault mid-listing fails the run and the rerun resumes
# from the checkpointed cursor with exactly the records of an uninterrupted
# run, and a checkpointed cursor the API refuses restarts the listing;
# 429 and 503 are retried; a broken JSON page and a page that is not
# JSON:API fail with a clear message and the rerun completes.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CORPUS="$PS_SOURCE_DIR/../shared/corpus/datacite"
if [ ! -d "$CORPUS" ]; then
    echo "skipping: no corpus at $CORPUS"
    exit 0
fi
DUMP="$PS_BUILD_DIR/tests/test_datacite_map"
SIZE=10
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
status_json() { P status --json; }
sq() { sqlite3 "$T/data/store.db" "$@"; }

# ---- the records: REST resources {id, type, attributes} -----------------
# XML through the crosswalk; bolognese's JSON as it is (its kebab-case keys
# and "id" ORCIDs are what old REST answers look like); then as the REST API
# serves them: lower-case DOIs, state findable, one resource per DOI.
xml=$(ls "$CORPUS"/kernel-4/*.xml "$CORPUS"/bolognese/datacite*.xml \
          "$CORPUS"/bolognese/{gtex,nist,ns0,pure,vivli,schema_4.0,funding_reference}.xml 2>/dev/null)
# shellcheck disable=SC2086
"$DUMP" --dump $xml > "$T/xml.jsonl"
for f in datacite.json datacite_with_container_and_seriesinformation_and_relateditem.json \
         datacite_software.json datacite_software_version.json crosscite.json; do
    jq -c 'del(.id, .agency, .provider_id, .client_id, .state) |
           with_entries(select(.key != "schemaVersion"))' "$CORPUS/bolognese/$f"
done > "$T/json.jsonl"
jq -s -c '
  map(select(.doi) | .doi |= ascii_downcase)
  | unique_by(.doi)
  | map({id: .doi, type: "dois",
         attributes: (. + {state: "findable", updated: "2024-01-01T00:00:00Z"})})' \
  "$T/xml.jsonl" "$T/json.jsonl" > "$T/good.json"
# Two malformed records: one without attributes, one without DOI
# (bolognese's fixture with overlapping keys has none).
jq -c '{id: "10.9999/no-attributes", type: "dois"}' -n > "$T/bad1.json"
jq -c '{id: "no-doi-record", type: "dois",
        attributes: (. + {state: "findable"} | del(.doi, .id))}' \
  "$CORPUS/bolognese/datacite_software_overlapping_keys.json" > "$T/bad2.json"
# The malformed records come on the second page.
jq -c --slurpfile b1 "$T/bad1.json" --slurpfile b2 "$T/bad2.json" \
  '.[0:12] + $b1 + $b2 + .[12:]' "$T/good.json" > "$T/all.json"
NGOOD=$(jq length "$T/good.json")
NALL=$(jq length "$T/all.json")
check test "$NGOOD" -ge 50 -- "at least 50 DataCite records in the corpus ($NGOOD)"

FIRST_Q="page%5Bsize%5D=$SIZE&page%5Bcursor%5D=1&provider-id=test&disable-facets=true&affiliation=true&mailto=ops%40example.org"

# pages RECORDS.json QUERY_EXTRA TAG > exchanges.json: the JSON:API pages of
# the records, the first at /dois?FIRST_Q[&QUERY_EXTRA], each with
# links.next to the next cursor (absolute, on api.datacite.org as the real
# API writes them), the last without.
pages() {
    jq -c --arg first "/dois?$FIRST_Q${2:+&$2}" --argjson size "$SIZE" --arg tag "$3" '
      length as $total
      | [range(0; ([length, 1] | max); $size) as $i | .[$i:$i + $size]] as $ps
      | ($ps | length) as $np
      | [range(0; $np) as $k | {
          method: "GET",
          path: (if $k == 0 then $first
                 else "/dois?page%5Bcursor%5D=\($tag)\($k)&page%5Bsize%5D=\($size)" end),
          status: 200,
          headers: {"Content-Type": "application/vnd.api+json; charset=utf-8"},
          body: {data: $ps[$k],
                 meta: {total: $total, totalPages: $np, page: ($k + 1)},
                 links: ({self: "https://api.datacite.org/dois"} +
                         (if $k < $np - 1 then
                            {next: "https://api.datacite.org/dois?page%5Bcursor%5D=\($tag)\($k + 1)&page%5Bsize%5D=\($size)"}
                          else {} end))}}]' "$1"
}

mkdir -p "$T/full"
pages "$T/all.json" "" c > "$T/full/pages.json"
NPAGES=$(jq length "$T/full/pages.json")

# setup DIR [REPLAY ARGS...]: a replay of DIR and the config pointing at it.
setup() {
    local dir=$1; shift
    [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null && wait "$REPLAY_PID" 2>/dev/null
    : > "$T/replay.log"
    start_replay "$dir" --retry-after-max 1 "$@"
    write_config "$T/pansift.ini" "$T/data" "[harvest]
contact = ops@example.org
[source dc]
type = datacite
url = $REPLAY_URL
page_size = $SIZE
timeout_ms = 3000
retries = ${RETRIES:-0}
provider_id = test"
}
harvest() { OUT=$(P harvest 2>&1); RC=$?; }
live() { status_json | jq -c '[.entities.dataset, .entities.publication, .entities.instrument]'; }

# ---- 1. a full harvest --------------------------------------------------
setup "$T/full"
P init >/dev/null
t0=$(date +%s.%N)
harvest
t1=$(date +%s.%N)
check_eq "$RC" 0 "full harvest ($OUT)"
check_contains "$OUT" "$NALL seen, $NGOOD new" "every record listed, the good ones stored"
check_contains "$OUT" "2 rejected" "two malformed records rejected"
check_contains "$OUT" "10.9999/no-attributes: no attributes" "the rejected record is named"
check_contains "$OUT" "no-doi-record: no DOI" "the record without DOI is named"
check_eq "$(wc -l < "$T/replay.log")" "$NPAGES" "one request per page"
check_contains "$(head -1 "$T/replay.log")" "page%5Bcursor%5D=1" "cursor mode from the start"
check_contains "$(head -1 "$T/replay.log")" "mailto=ops%40example.org" "mailto from the contact"
check_contains "$(head -1 "$T/replay.log")" "provider-id=test" "the provider filter"
check_contains "$(sed -n 2p "$T/replay.log")" "/api/dois?page%5Bcursor%5D=c1" "links.next followed on the configured host"
check_eq "$(grep -vc ' -> 200$' "$T/replay.log")" 0 "every request answered by a recording"
echo "full harvest: $NALL records in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
check_eq "$(status_json | jq -r '.sources[0].last_run.state')" partial "run partial (rejections)"
check_eq "$(sq "SELECT value FROM source_state WHERE key = 'resume'")" "" "no resume checkpoint after a complete listing"
SINCE=$(sq "SELECT value FROM source_state WHERE key = 'since'")
check test -n "$SINCE" -- "since checkpoint set"
FULL=$(live)
ndata=$(jq '[.[] | select(.attributes.types | (.resourceTypeGeneral // .["resource-type-general"]) as $t
             | $t != "Instrument" and ([$t] | inside(["Text","JournalArticle","ConferencePaper","Preprint","Report","Book","BookChapter","Dissertation","DataPaper","Journal","ConferenceProceeding","PeerReview","Standard","OutputManagementPlan","StudyRegistration"]) | not))] | length' "$T/good.json")
check_eq "$(echo "$FULL" | jq '.[0]')" "$ndata" "datasets: the records of data types"
check_eq "$(echo "$FULL" | jq 'add')" "$NGOOD" "every good record is one entity"
SEQ=$(status_json | jq .max_seq)

# ---- the PaN API ---------------------------------------------------------
P index >/dev/null
start_serve "$T/pansift.ini"
get "$SERVE_URL/api/Datasets/10.21399%2Ftest-data"
check_eq "$STATUS" 200 "all-fields dataset served"
check_eq "$(jq -r .title "$T/body")" "Test Metadata" "dataset title"
check_eq "$(jq '.size == 10000000000000000' "$T/body")" true "dataset size from '10 PB'"
get "$SERVE_URL/api/Documents/10.48321%2Fd1z60q?filter=%7B%22include%22%3A%5B%7B%22relation%22%3A%22members%22%2C%22scope%22%3A%7B%22include%22%3A%5B%7B%22relation%22%3A%22person%22%7D%2C%7B%22relation%22%3A%22affiliation%22%7D%5D%7D%7D%5D%7D"
check_eq "$STATUS" 200 "ROR example served as a document"
check_eq "$(jq -r .type "$T/body")" publication "a publication"
check_eq "$(jq -r '.members[0].role' "$T/body")" author "creator -> author"
check_eq "$(jq -r '.members[0].person.orcid' "$T/body")" "0000-0001-9998-0117" "author's ORCID"
check_eq "$(jq -r '.members[0].affiliation.name' "$T/body")" "Metadata Game Changers" "author's affiliation"
check_eq "$(jq -r '.members[1].affiliation.name' "$T/body")" "Wesleyan University" "second affiliation: a second member"
check_eq "$(sq "SELECT i.ror FROM member m JOIN institution i ON i.id = m.institution_id JOIN publication p ON p.id = m.doc_id AND m.doc_kind = 9 WHERE p.pid = '10.48321/d1z60q' AND m.position = 0")" \
    "https://ror.org/05bp8ka77" "the affiliation's ROR is kept"
get "$SERVE_URL/api/Instruments/10.82433%2F08qf-ee96"
check_eq "$STATUS" 200 "the instrument example is an instrument"
check_eq "$(jq -r .name "$T/body")" "Pilatus detector at MX station 14.1" "instrument name"
get "$SERVE_URL/api/Documents/10.82433%2Fbyt7-2g42"
check_eq "$(jq -r .license "$T/body")" "CC-BY-4.0" "licence from the rights (SPDX id)"
get "$SERVE_URL/api/Documents/10.5438%2F4k3m-nyvg"
check_eq "$(jq -r '.keywords | length' "$T/body")" 3 "subjects as keywords"
check_eq "$(jq -r .releaseDate "$T/body")" "2016-12-20T00:00:00.000Z" "Issued date as releaseDate"
stop_serve

# Links: the related DOIs, in kebab case.
check_eq "$(sq "SELECT count(*) FROM link WHERE type = 'cites' AND dst_ref = '10.21399/not-real'")" 1 "Cites -> cites"
check test "$(sq "SELECT count(*) FROM link WHERE type = 'is-part-of'")" -ge 1 -- "IsPartOf -> is-part-of"
check test "$(sq "SELECT count(DISTINCT type) FROM link")" -ge 8 -- "many relation types"
check_eq "$(sq "SELECT count(*) FROM link WHERE type GLOB '*[A-Z]*'")" 0 "link types are kebab case"

# ---- 2. incremental: nothing changed --------------------------------------
mkdir -p "$T/inc1"
echo '[]' | pages /dev/stdin "query=$(jq -rn --arg s "$SINCE" '"updated:[\($s) TO *]" | @uri')" i > "$T/inc1/pages.json"
setup "$T/inc1"
harvest
check_eq "$RC" 0 "incremental harvest ($OUT)"
check_contains "$OUT" "0 seen" "nothing changed since"
check_contains "$(cat "$T/replay.log")" "query=updated%3A%5B" "the query asks for updated:[SINCE TO *]"
check_contains "$(cat "$T/replay.log")" "$(jq -rn --arg s "$SINCE" '$s | @uri')" "SINCE is the checkpoint"
check_eq "$(status_json | jq .max_seq)" "$SEQ" "the store did not change"
check_eq "$(live)" "$FULL" "same entities"
SINCE2=$(sq "SELECT value FROM source_state WHERE key = 'since'")

# ---- 3. incremental: an update, a deletion, a malformed record --------------
mkdir -p "$T/inc2"
jq -c '[ (.[] | select(.id == "10.21399/test-data") | .attributes.titles[0].title = "Test Metadata, revised"),
         (.[] | select(.id == "10.5438/4k3m-nyvg") | .attributes.state = "registered"),
         {id: "10.9999/bad", type: "dois", attributes: {doi: "10.9999/bad", state: "findable", titles: []}} ]' \
  "$T/good.json" > "$T/changes.json"
pages "$T/changes.json" "query=$(jq -rn --arg s "$SINCE2" '"updated:[\($s) TO *]" | @uri')" j > "$T/inc2/pages.json"
setup "$T/inc2"
harvest
check_eq "$RC" 0 "second incremental harvest ($OUT)"
check_contains "$OUT" "3 seen, 0 new, 1 updated, 0 unchanged, 1 deleted, 1 rejected" "update, deletion, rejection"
check_contains "$OUT" "10.9999/bad: no title" "the malformed record is named"
check_eq "$(sq "SELECT title FROM dataset WHERE pid = '10.21399/test-data'")" "Test Metadata, revised" "the update is stored"
check_eq "$(sq "SELECT deleted FROM publication WHERE pid = '10.5438/4k3m-nyvg'")" 1 "the registered DOI is a tombstone"

# ---- 4. resume after a fault mid-listing ------------------------------------
# A 500 on the third page fails the run (no retries); the rerun starts at
# the checkpointed cursor and ends with the records of the full run.
rm -rf "$T/data"
setup "$T/full" --fault 3:500
P init >/dev/null
harvest
check_eq "$RC" 4 "a 500 mid-listing fails the run ($OUT)"
check_contains "$OUT" "HTTP 500" "the message says why"
check_eq "$(sq "SELECT value FROM source_state WHERE key = 'resume'")" \
    "/dois?page%5Bcursor%5D=c2&page%5Bsize%5D=$SIZE" "the next cursor is checkpointed (relative to the url)"
check_eq "$(status_json | jq '.entities.dataset + .entities.publication + .entities.instrument')" \
    "$((2 * SIZE - 2))" "the first two pages are kept"
setup "$T/full"
harvest
check_eq "$RC" 0 "the rerun completes ($OUT)"
check_contains "$(head -1 "$T/replay.log")" "page%5Bcursor%5D=c2" "the rerun resumes at the third page"
check_contains "$OUT" "$((NALL - 2 * SIZE)) seen, $((NGOOD - 2 * SIZE + 2)) new" "nothing fetched twice"
check_eq "$(live)" "$FULL" "the same entities as an uninterrupted run"
check_eq "$(sq "SELECT count(*) FROM provenance")" "$NGOOD" "no record twice"

# A checkpointed cursor the API refuses: the listing restarts from the
# beginning (of the incremental window, here the whole listing).
rm -rf "$T/data"
setup "$T/full" --fault 3:500
P init >/dev/null
harvest
mkdir -p "$T/refused"
cp "$T/full/pages.json" "$T/refused/"
jq -n --arg p "/dois?page%5Bcursor%5D=c2&page%5Bsize%5D=$SIZE" \
  '{method: "GET", path: $p, status: 400,
    body: {errors: [{status: "400", title: "Invalid cursor"}]}}' > "$T/refused/a-refused.json"
setup "$T/refused"
harvest
check_eq "$RC" 0 "a refused cursor restarts the listing ($OUT)"
check_contains "$OUT" "checkpointed cursor was refused (HTTP 400)" "the note says so"
check_contains "$(sed -n 2p "$T/replay.log")" "page%5Bcursor%5D=1" "restarted from the first page"
check_eq "$(live)" "$FULL" "the same entities"

# ---- 5. 429 and 503, then 200 -------------------------------------------
rm -rf "$T/data"
RETRIES=2 setup "$T/full" --fault 2:429 --fault 4:503
P init >/dev/null
harvest
check_eq "$RC" 0 "429 and 503 are retried ($OUT)"
check_eq "$(grep -c 'fault' "$T/replay.log")" 2 "two faults served"
check_eq "$(grep -A1 'fault 429' "$T/replay.log" | tail -1 | grep -c 'cursor%5D=c1.* -> 200$')" 1 "the page is fetched again after the 429"
check_eq "$(live)" "$FULL" "the same entities"

# ---- 6. a broken JSON page, then a page that is not JSON:API -------------
rm -rf "$T/data"
setup "$T/full" --fault 2:garbage
P init >/dev/null
harvest
check_eq "$RC" 4 "a broken page fails the run"
check_contains "$OUT" "not JSON" "the message says the page is not JSON"
check_eq "$(echo "$OUT" | grep -c '^pansift: ')" 1 "one error line"
mkdir -p "$T/notapi"
jq '.[1].body = {"message": "this is not JSON:API"}' "$T/full/pages.json" > "$T/notapi/pages.json"
setup "$T/notapi"
harvest
check_eq "$RC" 4 "a page without data fails the run"
check_contains "$OUT" "not a JSON:API list of DOIs" "the message says what is wrong"
check_contains "$(head -1 "$T/replay.log")" "cursor%5D=c1" "it resumed at the checkpoint"
setup "$T/full"
harvest
check_eq "$RC" 0 "the rerun completes ($OUT)"
check_eq "$(live)" "$FULL" "the same entities"
finish
