#!/usr/bin/env bash
# harvest-invenio: the "invenio" source harvests the 8,444 CERN Open Data
# records of the shared corpus served as the paged answers of an Invenio
# records REST API (generated at test time by tests/tools/invenio-pages.jq:
# links.next chains, hits.total as a number and as {value}, a search window
# that ends the first query early, one record without title). It checks the
# counts, mapped fields through the PaN API and the store, that a second run
# asks only for updated:[since TO *] and changes nothing, that a listing
# failed mid-way (503, 429, a broken JSON page, then 500s) or killed with
# SIGKILL resumes at its checkpoint and ends with exactly the records of an
# uninterrupted run, that a refused page (422) restarts the listing, and
# that a source answering garbage fails cleanly. Then the "materialscloud"
# source harvests hand-made Materials Cloud Archive records (InvenioRDM and
# legacy shapes, tests/data/materialscloud) with assets = per-entry and
# per-file.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CORPUS="$PS_SOURCE_DIR/../shared/corpus/invenio-cern"
[ -d "$CORPUS" ] || { fail "no corpus at $CORPUS"; finish; }
TOTAL=8444 # records in the corpus
LIVE=8443  # all but the one without title
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
live() { P status --json | jq '.entities.dataset + .entities.publication'; }
state() { sqlite3 "$T/$1/store.db" "SELECT value FROM source_state WHERE key = '$2'"; }
inserted() { sqlite3 "$T/$1/store.db" "SELECT sum(inserted) FROM harvest_run"; }
config() { # config DATA_DIR [EXTRA]: a config harvesting the replay
    write_config "$T/pansift.ini" "$T/$1" "[source cern]
type = invenio
url = $REPLAY_URL
page_size = 100
max_page_size = 100
timeout_ms = 10000
retries = ${RETRIES:-2}
${2:-}"
}
replay() { # replay [ARGS...]: a new ps-replay of the generated pages
    [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null && wait "$REPLAY_PID" 2>/dev/null
    rm -f "$T/replay.log"
    start_replay "$T/ex" --retry-after-max 1 "$@"
}

# The pages, generated in one jq pass: 100 records a page, a search window
# of 5,000 hits, record 7 without title.
mkdir -p "$T/ex"
jq -n -c --argjson size 100 --argjson window 5000 --argjson broken 7 \
    -f "$PS_SOURCE_DIR/tests/tools/invenio-pages.jq" "$CORPUS"/*.json \
    >"$T/ex/pages.json" || { fail "generating the pages"; finish; }

# What the checks expect, read from the corpus in one pass.
jq -n -c '[inputs | if type == "array" then .[] else . end] | sort_by(.recid | tonumber)
    | (map(select(.doi == "10.7483/OPENDATA.CMS.CB8H.MFFA"))[0].files) as $f
    | {broken: (.[7] | .doi // "opendata.cern.ch:recid:\(.recid)"),
       nfiles: ($f | length), file0: "\($f[0].checksum) \($f[0].size)",
       nodoi: map(select((.doi // "") == "" and .type.primary != "Documentation")) | length}' \
    "$CORPUS"/*.json >"$T/expect.json"
expect() { jq -r ".$1" "$T/expect.json"; }

# ---- a whole harvest ----------------------------------------------------
replay
config data
P init >/dev/null
t0=$(date +%s.%N)
out=$(P harvest 2>&1); rc=$?
t1=$(date +%s.%N)
check_eq "$rc" 0 "harvest of the corpus ($out)"
awk -v n=$TOTAL -v a="$t0" -v b="$t1" 'BEGIN { printf "invenio: %d records in %.1f s: %.0f records/s\n", n, b - a, n / (b - a) }'
check_eq "$(live)" "$LIVE" "every record but the malformed one is stored"
check_eq "$(P status --json | jq .entities.publication)" 46 "46 documentation records are publications"
run=$(P status --json | jq -c '.sources[0].last_run')
check_eq "$(jq -r .state <<<"$run")" partial "a run with a rejected record is partial"
check_eq "$(jq .rejected <<<"$run")" 1 "one record rejected"
check_contains "$(jq -r .message <<<"$run")" "record $(expect broken): no title" "the rejection names the record"
check_eq "$(jq .inserted <<<"$run")" "$LIVE" "each record inserted once"
check_eq "$(grep -c 'GET /api/records?page=2&size=100&sort=updated-asc -> 200' "$T/replay.log")" 1 "links.next followed"
check_eq "$(grep -c 'q=updated%3A%5B2024-01-04T11%3A19%3A00Z%20TO%20%2A%5D&size=100' "$T/replay.log")" 1 \
    "past the search window the listing goes on from the last updated seen"
check_eq "$(wc -l <"$T/replay.log")" 85 "85 pages, each asked for once"
check_eq "$(state data resume)" "" "no resume checkpoint after a complete listing"
since=$(state data since)
check test -n "$since" -- "the since checkpoint is set"

# Fields through the PaN API and the store.
P index >/dev/null
start_serve "$T/pansift.ini"
get "$SERVE_URL/api/Datasets/10.7483%2FOPENDATA.CMS.CB8H.MFFA" --data-urlencode 'filter={"include":[{"relation":"files"}]}' -G
check_eq "$STATUS" 200 "a dataset by its DOI"
check_eq "$(jq -r .title "$T/body")" "Dimuon event information derived from the Run2010B public Mu dataset" "dataset title"
check_eq "$(jq -r .creationDate "$T/body")" "2010-01-01T00:00:00.000Z" "creation date from date_created"
check_eq "$(jq '.files | length' "$T/body")" "$(expect nfiles)" "every file of the dataset"
check_eq "$(jq '.size' "$T/body")" "$(jq '[.files[].size] | add' "$T/body")" "dataset size is the sum of its files"
get "$SERVE_URL/api/Documents/10.7483%2FOPENDATA.ATLAS.MQ5J.GHXA" --data-urlencode 'filter={"include":[{"relation":"members","scope":{"include":[{"relation":"person"},{"relation":"affiliation"}]}}]}' -G
check_eq "$STATUS" 200 "a documentation record is a document"
check_eq "$(jq -r .doi "$T/body")" "10.7483/OPENDATA.ATLAS.MQ5J.GHXA" "document DOI"
check_eq "$(jq -r '.members[0].person.orcid' "$T/body")" "0000-0002-2634-4958" "author with ORCID"
check_contains "$(jq -r '[.members[].affiliation.name] | join("; ")' "$T/body")" "Orsay, LAL; Paris, IN2P3" "one member per affiliation"
get "$SERVE_URL/api/Datasets/count"
check_eq "$(jq .count "$T/body")" 8397 "the API counts the datasets"
stop_serve
DB="$T/data/store.db"
check_eq "$(sqlite3 "$DB" "SELECT group_concat(i.pid, ' ') FROM member m JOIN person p ON p.id = m.person_id JOIN institution i ON i.id = m.institution_id WHERE p.orcid = '0000-0002-2634-4958'")" \
    "https://ror.org/046w3ze59 https://ror.org/03fd77x13 https://ror.org/028rypz17" "affiliations with ROR"
check_eq "$(sqlite3 "$DB" "SELECT f.checksum || ' ' || f.size FROM file f JOIN dataset d ON d.id = f.dataset_id WHERE d.pid = '10.7483/OPENDATA.CMS.CB8H.MFFA' ORDER BY f.position LIMIT 1")" \
    "$(expect file0)" \
    "file checksum and size"
check_eq "$(sqlite3 "$DB" "SELECT count(*) FROM dataset WHERE pid LIKE 'opendata.cern.ch:recid:%'")" \
    "$(expect nodoi)" \
    "records without DOI are host:recid:id"
check_eq "$(sqlite3 "$DB" "SELECT count(*) FROM dataset WHERE description LIKE '%<p>%' OR description LIKE '%&amp;%'")" 0 "descriptions are text, not HTML"
check test "$(sqlite3 "$DB" "SELECT count(*) FROM link WHERE type = 'is-child-of'")" -gt 300 -- "relations become links"

# ---- incremental: only what changed since the last listing -------------
mkdir -p "$T/incr"
jq -c --arg since "$since" '[{method: "GET",
      path: ("/records?q=" + ("updated:[\($since) TO *]" | @uri) + "&size=100&sort=updated-asc"),
      status: 200, headers: {"Content-Type": "application/json"},
      body: {hits: {hits: (last.body.hits.hits[-2:]), total: 2}, links: {}}}]' \
    "$T/ex/pages.json" >"$T/incr/incr.json"
seq_before=$(P status --json | jq .max_seq)
replay --dir "$T/incr"
config data
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "incremental run ($out)"
check_eq "$(wc -l <"$T/replay.log")" 1 "one request"
check_contains "$(cat "$T/replay.log")" "q=updated%3A%5B$(jq -rn --arg s "$since" '$s | @uri')%20TO%20%2A%5D" "it asks for updated:[since TO *]"
run=$(P status --json | jq -c '.sources[0].last_run')
check_eq "$(jq -c '[.seen, .inserted, .updated, .unchanged, .deleted]' <<<"$run")" "[2,0,0,2,0]" "nothing changed"
check_eq "$(P status --json | jq .max_seq)" "$seq_before" "the store is untouched"

# ---- resume after a failure mid-listing ---------------------------------
# 503 and 429 are waited out, a broken JSON page is asked for again, and
# two 500s in a row (retries = 1) fail the run on a page in the middle.
RETRIES=1
replay --fault 3:503 --fault 6:429 --fault 9:garbage --fault 40-41:500
config data2
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "500s mid-listing fail the run"
check_contains "$out" "HTTP 500" "the failure says why"
n1=$(live)
check test "$n1" -gt 2000 -a "$n1" -lt "$LIVE" -- "pages before the failure are kept ($n1)"
resume=$(state data2 resume)
check_contains "$resume" "page=" "the next page is checkpointed"
check_eq "$(grep -c 'fault 503' "$T/replay.log")$(grep -c 'fault 429' "$T/replay.log")$(grep -c 'fault garbage' "$T/replay.log")" 111 "503, 429 and garbage served"
check_eq "$(grep -c 'GET /api/records?page=2&size=100&sort=updated-asc -> 200' "$T/replay.log")" 1 "page 2 fetched once"
replay
config data2
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "the rerun completes ($out)"
check_contains "$(head -1 "$T/replay.log")" "${resume//\*/%2A}" "the rerun starts at the checkpointed page"
page=$(sed 's/.*[?&]page=\([0-9]*\).*/\1/' <<<"$resume")
check_eq "$(wc -l <"$T/replay.log")" "$((50 - page + 1 + 35))" "the rest of the listing, each page once"
check_eq "$(live)" "$LIVE" "exactly the records of an uninterrupted run"
check_eq "$(inserted data2)" "$LIVE" "no record stored twice"
check_eq "$(sqlite3 "$T/data2/store.db" "SELECT count(*) FROM provenance")" "$LIVE" "one provenance per record"

# ---- kill -9 mid-listing, then a refused page ---------------------------
RETRIES=2
replay
config data3
P init >/dev/null
"$PANSIFT" --quiet --config "$T/pansift.ini" harvest >/dev/null 2>&1 &
hp=$!
for _ in $(seq 200); do [ "$(wc -l <"$T/replay.log" 2>/dev/null)" -ge 25 ] && break; sleep 0.05; done
kill -9 $hp 2>/dev/null
wait $hp 2>/dev/null
check_eq "$(sqlite3 "$T/data3/store.db" 'PRAGMA integrity_check')" ok "store intact after kill -9"
n1=$(live)
check test "$n1" -lt "$LIVE" -- "killed part-way ($n1 stored)"
check test -n "$(state data3 resume)" -- "a resume checkpoint"
replay
config data3
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "rerun after kill -9 ($out)"
check_eq "$(live)" "$LIVE" "kill -9: exactly the records of an uninterrupted run"
check_eq "$(sqlite3 "$T/data3/store.db" "SELECT count(*) FROM provenance")" "$LIVE" "kill -9: one provenance per record"

# ---- a refused page restarts the listing from the last complete one ----
# The source refuses a checkpointed page (Zenodo's 422 for a stale one):
# the listing restarts from "since", here the incremental query.
since=$(state data since)
jq -c --arg since "$since" '.[0].path = ("/records?q=" + ("updated:[\($since) TO *]" | @uri) + "&size=100&sort=updated-asc")' \
    "$T/incr/incr.json" >"$T/incr/incr2.json" && mv "$T/incr/incr2.json" "$T/incr/incr.json"
sqlite3 "$T/data/store.db" "INSERT INTO source_state (source_id, key, value, updated_at) VALUES
    (1, 'resume', '/api/records?page=77&size=100&sort=updated-asc', 0), (1, 'listing', '$since', 0)"
replay --dir "$T/incr" --fault 1:422
config data
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "a refused page: the run still completes ($out)"
check_contains "$(P status --json | jq -r '.sources[0].last_run.message')" "listing restarted from $since" "the restart is noted"
check_contains "$(sed -n 2p "$T/replay.log")" "q=updated" "the listing restarts from since"
check_eq "$(state data resume)" "" "resume cleared"
check_eq "$(P status --json | jq .max_seq)" "$seq_before" "a restart changes nothing"

# ---- garbage: a clean failure -------------------------------------------
kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null
start_replay "$PS_TEST_DATA/materialscloud" --fault all:garbage
config data4
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "garbage: exit 4"
check_contains "$out" "not JSON" "garbage: the message says what is wrong"
check_eq "$(live)" 0 "garbage: nothing stored"
kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null; REPLAY_PID=

# ---- materialscloud: the D8.5 crosswalk, per entry and per file --------
rm -f "$T/replay.log"
start_replay "$PS_TEST_DATA/materialscloud"
mca() { # mca DATA_DIR ASSETS
    write_config "$T/pansift.ini" "$T/$1" "[source mca]
type = materialscloud
url = $REPLAY_URL
incremental = no
assets = $2"
    P init >/dev/null
    out=$(P harvest 2>&1); rc=$?
    check_eq "$rc" 0 "materialscloud $2 ($out)"
}
q() { sqlite3 "$T/$DIR/store.db" "$1"; }
DIR=mca1
mca mca1 per-entry
check_eq "$(P status --json | jq -c '[.entities.dataset, .entities.publication, .entities.file]')" "[4,0,5]" "per-entry: 4 datasets, 5 files"
check_contains "$(head -1 "$T/replay.log")" "/api/records?size=100&sort=oldest" "materialscloud asks with its own defaults"
check_eq "$(q "SELECT title FROM dataset WHERE pid = '10.24435/materialscloud:2f-hs'")" "Phonon dispersions of two-dimensional materials" "title"
check_eq "$(q "SELECT description FROM dataset WHERE pid = '10.24435/materialscloud:2f-hs'")" \
    "We computed the phonon dispersions of 245 exfoliable materials with density-functional perturbation theory & the SSSP pseudopotentials.
Each archive holds one material's data." "description stripped of HTML"
check_eq "$(q "SELECT description FROM dataset WHERE pid IN ('10.24435/materialscloud:7x-q2', '10.24435/materialscloud:2020.0011/v1') ORDER BY pid")" \
    "Relaxed crystal structures (PBEsol) of 500 ABO3 perovskites.
Hybrid-functional band structures; gaps < 1 eV are flagged." "inline tags vanish, a lone < is text"
check_eq "$(q "SELECT created FROM dataset WHERE pid = '10.24435/materialscloud:2f-hs'")" 1619827200000 "dates[collected] is the creation date"
check_eq "$(q "SELECT created FROM dataset WHERE pid = '10.24435/materialscloud:7x-q2'")" 1686817800000 "else the submission date (created)"
check_eq "$(q "SELECT created FROM dataset WHERE pid = '10.24435/materialscloud:2020.0011/v1'")" 1515974400000 "legacy dates[Collected].start"
check_eq "$(q "SELECT group_concat(value_text, ' ') FROM (SELECT p.value_text FROM parameter p JOIN dataset d ON d.id = p.owner_id AND p.owner_kind = 4 WHERE p.name = 'license' ORDER BY d.pid)")" \
    "CC-BY-4.0 CC-BY-SA-4.0 CC-BY-4.0 CC0-1.0" "licences in SPDX"
check_eq "$(q "SELECT group_concat(name || ' ' || size || ' ' || checksum, '; ') FROM (SELECT f.* FROM file f JOIN dataset d ON d.id = f.dataset_id ORDER BY d.pid, f.name)")" \
    "two_d_materials.zip 73400320 md5:e4d909c290d0fb1ca068ffaddf22cbd0; structures.cif.tar 5120000 md5:d41d8cd98f00b204e9800998ecf8427e; README.txt 123 md5:9e107d9d372bb6826bd81d3542a419d6; phonons.tar.gz 2048000 md5:0f343b0931126a20f133d67c2b018a3b; bands.json 4096 md5:abcdef0123456789abcdef0123456789" \
    "files: name, size, md5"
check_eq "$(q "SELECT visibility || ' ' || embargo_until FROM dataset WHERE pid = '10.24435/materialscloud:7x-q2'")" "1 1893456000000" "embargoed files: embargoed until"
check_eq "$(q "SELECT doi FROM dataset WHERE pid = '10.24435/materialscloud:2019.0044/v2'")" "10.24435/materialscloud:2019.0044/v2" "legacy DOI"
check_eq "$(q "SELECT count(*) FROM link WHERE type = 'is-supplement-to'")" 2 "related papers become links"
P index >/dev/null
start_serve "$T/pansift.ini"
get "$SERVE_URL/api/Datasets/count"
check_eq "$(jq .count "$T/body")" 3 "the embargoed entry is not served"
stop_serve

DIR=mca2
mca mca2 per-file
check_eq "$(P status --json | jq -c '[.entities.dataset, .entities.file]')" "[9,5]" "per-file: 4 entries and 5 file datasets"
check_eq "$(q "SELECT title || ' | ' || size || ' | ' || coalesce(doi, '-') FROM dataset WHERE pid = '10.24435/materialscloud:2f-hs/phonons.tar.gz'")" \
    "Phonon dispersions of two-dimensional materials: phonons.tar.gz | 2048000 | -" "a file's dataset (the DOI stays with the entry)"
check_eq "$(q "SELECT count(*) FROM file f JOIN dataset d ON d.id = f.dataset_id WHERE d.pid = '10.24435/materialscloud:2f-hs'")" 0 "the entry lists no files itself"
check_eq "$(q "SELECT count(*) FROM link l JOIN dataset e ON e.id = l.dst_id WHERE l.type = 'is-part-of' AND e.pid = '10.24435/materialscloud:2f-hs'")" 2 "each file's dataset is part of its entry"
out=$(P harvest 2>&1)
check_eq "$(P status --json | jq -c '.sources[0].last_run | [.seen, .unchanged]')" "[9,9]" "a second run changes nothing"
finish
