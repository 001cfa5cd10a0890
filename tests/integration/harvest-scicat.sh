#!/usr/bin/env bash
# harvest-scicat: the "scicat" source harvests SciCat's seed catalogue
# (shared corpus, scicatlive's seed files) served as SciCat API answers by
# ps-replay: counts, mapped fields through the PaN API (instruments, the
# proposal's principal investigator and datasets, files with sizes,
# scientificMetadata in SI found by a unit query, published data citing
# datasets), a 500 then 200, a malformed record skipped and reported, an
# incremental second run that asks only for updatedAt > since, a broken
# JSON page that fails the run and a rerun that resumes there and ends with
# exactly the records of an uninterrupted run, and the v4 datasets route.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CORPUS="$PS_SOURCE_DIR/../shared/corpus/scicat"
if [ ! -f "$CORPUS/Dataset.json" ]; then
    echo "SKIP: no shared corpus at $CORPUS"
    exit 0
fi
GEN="$PS_SOURCE_DIR/tests/tools/scicat-recordings.sh"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
DB() { sqlite3 "$T/data/store.db" "$@"; }
# start_ex DIR [ARGS...]: ps-replay on exchange recordings (no prefix).
start_ex() {
    local dir=$1; shift
    [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null && wait "$REPLAY_PID" 2>/dev/null
    rm -f "$T/replay.port" "$T/replay.log"
    "$REPLAY" --dir "$dir" --port-file "$T/replay.port" --log "$T/replay.log" \
        "$@" >"$T/replay.out" 2>"$T/replay.err" &
    REPLAY_PID=$!
    PIDS+=($REPLAY_PID)
    wait_file "$T/replay.port" || { fail "ps-replay did not start"; cat "$T/replay.err" >&2; finish; }
    BASE="http://127.0.0.1:$(cat "$T/replay.port")"
}
config() { # config DATA_DIR [EXTRA]
    write_config "$T/pansift.ini" "$1" "[source psi]
type = scicat
url = $BASE/api
page_size = 5
facility = PSI
retries = 2
timeout_ms = 5000
${2:-}"
}
counts() { P status --json | jq -c '[.entities.instrument, .entities.proposal, .entities.dataset, .entities.publication]'; }
snapshot() { DB "SELECT pid, title, size FROM dataset ORDER BY pid; SELECT pid, title FROM proposal; SELECT pid, title FROM publication ORDER BY pid; SELECT count(*) FROM file; SELECT count(*) FROM parameter; SELECT type, src_ref, dst_ref FROM link ORDER BY 1, 2, 3;"; }

# The seed, plus one dataset without an id (a malformed record).
mkdir -p "$T/seed" "$T/ex"
cp "$CORPUS"/*.json "$T/seed/"
jq '. + [{"datasetName": "no id", "isPublished": true, "creationTime": {"$date": "2019-01-01T00:00:00.000Z"}, "updatedAt": {"$date": "2021-06-29T16:00:00.000Z"}}]' \
    "$CORPUS/Dataset.json" > "$T/seed/Dataset.json"
bash "$GEN" "$T/seed" "$T/ex/scicat.json" 5 || { fail "generator"; finish; }

# ---- a full harvest through a 500 ----------------------------------------
start_ex "$T/ex" --fault 3:500
config "$T/data"
P init >/dev/null
t0=$(date +%s%N)
out=$(P harvest 2>&1); rc=$?
t1=$(date +%s%N)
check_eq "$rc" 0 "full harvest ($out)"
check_contains "$out" "36 seen, 35 new" "every record listed"
check_contains "$out" "1 rejected" "the malformed record is counted"
check_contains "$(P status --json | jq -r '.sources[0].last_run.message')" "datasets: a record without pid" "the rejected record is reported"
check_eq "$(counts)" "[4,1,19,11]" "4 instruments, 1 proposal, 19 datasets, 11 published data"
check_eq "$(grep -c ' -> 500' "$T/replay.log")" 1 "one 500 served"
check_contains "$(sed -n 3,4p "$T/replay.log")" "Proposals" "the proposals page is asked again after the 500"
check_eq "$(sed -n 4p "$T/replay.log" | grep -c ' -> 200$')" 1 "... and answered"
check_eq "$(grep -c 'OrigDatablocks' "$T/replay.log")" 4 "the files of each page of datasets in one request"
check_eq "$(DB "SELECT value FROM source_state WHERE key = 'resume'")" "" "no resume checkpoint after a complete listing"
echo "scicat: 36 records in $(( (t1 - t0) / 1000000 )) ms"
good=$(snapshot)

# ---- the PaN API ----------------------------------------------------------
P index >/dev/null
start_serve "$T/pansift.ini"
get "$SERVE_URL/api/Instruments"
check_eq "$(jq -c '[.[] | .name] | sort' "$T/body")" '["ISIS Offspec","LOQ","SPB/SFX","TOMCAT X02DA"]' "instrument names"
check_eq "$(jq -r '[.[].facility] | unique | join(",")' "$T/body")" "PSI" "instrument facility from the option"
get "$SERVE_URL/api/Datasets/PID.SAMPLE.PREFIX%2Fpsi_ds3" --data-urlencode 'filter={"include":[{"relation":"files"},{"relation":"parameters"},{"relation":"instrument"},{"relation":"samples"},{"relation":"techniques"}]}' -G
check_eq "$STATUS" 200 "a dataset by pid"
check_eq "$(jq -r .title "$T/body")" "data_final_volume_fullresolution/PSI-2018-R2-6_full_volume" "datasetName -> title"
check_eq "$(jq -r .instrument.name "$T/body")" "TOMCAT X02DA" "instrumentId -> instrument"
check_eq "$(jq -c '[.files[] | [.name, .size]]' "$T/body")" "$(jq -c '[.[] | select(.datasetId == "PID.SAMPLE.PREFIX/psi_ds3") | .dataFileList[] | [.path, .size]]' "$CORPUS/OrigDatablock.json")" "files with sizes from the OrigDatablock"
check_eq "$(jq -r '.samples[0].description' "$T/body")" "$(jq -r '.[] | select(._id == "sample1") | .description' "$CORPUS/Sample.json")" "the sample, described"
check_eq "$(jq -r '.techniques[0].pid' "$T/body")" "PaNET01129" "technique"
check_eq "$(jq -c '[.parameters[] | select(.name == "cameraPixelSize") | [.value, .unit]]' "$T/body")" '[[11,"um"]]' "scientificMetadata -> parameter"
# parameters in SI: 21 keV is found by a query in joules and one in keV
find_params() { get "$SERVE_URL/api/Datasets" --data-urlencode "filter={\"include\":[{\"relation\":\"parameters\",\"scope\":{\"where\":$1}}]}" -G; }
find_params '{"and":[{"name":"beamEnergy"},{"value":{"between":[3.3e-15,3.4e-15]}},{"unit":"J"}]}'
check_eq "$(jq -r '[.[].pid] | sort | join(" ")' "$T/body")" "PID.SAMPLE.PREFIX/psi_ds1 PID.SAMPLE.PREFIX/psi_ds2 PID.SAMPLE.PREFIX/psi_ds3" "21 keV found in joules"
find_params '{"and":[{"name":"effectivePixelSize"},{"value":{"lt":3000}},{"unit":"nm"}]}'
check_eq "$(jq 'length' "$T/body")" 3 "2.75 um is below 3000 nm"
find_params '{"and":[{"name":"beamEnergy"},{"value":{"lt":10}},{"unit":"keV"}]}'
check_eq "$(jq -r '[.[].pid] | sort | join(" ")' "$T/body")" "PID.SAMPLE.PREFIX/desy_ds1 PID.SAMPLE.PREFIX/desy_ds2 PID.SAMPLE.PREFIX/desy_ds3" "9.3 keV is below 10 keV"
get "$SERVE_URL/api/Documents/psi_proposal1" --data-urlencode 'filter={"include":[{"relation":"members","scope":{"include":[{"relation":"person"}]}},{"relation":"datasets"}]}' -G
check_eq "$(jq -r .type "$T/body")" proposal "proposal"
check_eq "$(jq -c '[.members[] | [.role, .person.fullName]]' "$T/body")" '[["principal investigator","Christian M. Schlepütz"]]' "pi_firstname/pi_lastname -> principal investigator"
check_eq "$(jq -c '[.datasets[].pid]' "$T/body")" '["PID.SAMPLE.PREFIX/psi_ds3"]' "proposalId -> the proposal's dataset"
get "$SERVE_URL/api/Documents/10.9999%2Fpsi_pub1" --data-urlencode 'filter={"include":[{"relation":"datasets"},{"relation":"members","scope":{"include":[{"relation":"person"}]}}]}' -G
check_eq "$(jq -r .doi "$T/body")" "10.9999/psi_pub1" "published data: the DOI"
check_eq "$(jq '.datasets | length' "$T/body")" 3 "published data cites its 3 datasets"
check_eq "$(jq '.members | length' "$T/body")" 9 "9 creators"
get "$SERVE_URL/api/Documents/10.9999%2Fdesy_pub1" --data-urlencode 'filter={"include":[{"relation":"members","scope":{"include":[{"relation":"person"}]}}]}' -G
check_eq "$(jq -c '[.members[].person.fullName]' "$T/body")" '["Oleksandr Yefanov"]' "\"al.\" is no creator"
stop_serve

# ---- an incremental second run ---------------------------------------------
since=$(DB "SELECT value FROM source_state WHERE key = 'since'")
check test -n "$since" -- "a since checkpoint"
jq '(.[] | select(._id == "PID.SAMPLE.PREFIX/desy_ds2")) |= (.datasetName = "indexing (revised)" | .updatedAt = {"$date": "2099-01-01T00:00:00.000Z"})' \
    "$T/seed/Dataset.json" > "$T/seed/Dataset.json.new" && mv "$T/seed/Dataset.json.new" "$T/seed/Dataset.json"
mkdir -p "$T/inc"
bash "$GEN" "$T/seed" "$T/inc/scicat.json" 5 "$since"
start_ex "$T/inc"
sed -i "s|^url = .*|url = $BASE/api|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "incremental harvest ($out)"
check_contains "$out" "1 seen, 0 new, 1 updated" "only the changed dataset"
check_contains "$out" "0 deleted" "an incremental run deletes nothing"
check_eq "$(grep -c "updatedAt%22%3A%7B%22gt%22%3A%22" "$T/replay.log")" "$(grep -c "Instruments\\|Proposals\\|/Datasets\\|PublishedData" "$T/replay.log")" "every listing asks for updatedAt > since"
check_eq "$(DB "SELECT title FROM dataset WHERE pid = 'PID.SAMPLE.PREFIX/desy_ds2'")" "indexing (revised)" "the update arrived"
check_eq "$(counts)" "[4,1,19,11]" "nothing added or lost"
seq1=$(P status --json | jq .max_seq)
since2=$(DB "SELECT value FROM source_state WHERE key = 'since'")
bash "$GEN" "$T/seed" "$T/inc/scicat.json" 5 "$since2"
start_ex "$T/inc"
sed -i "s|^url = .*|url = $BASE/api|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "a second incremental harvest ($out)"
check_contains "$out" "0 updated, 1 unchanged" "changes nothing"
check_eq "$(P status --json | jq .max_seq)" "$seq1" "no new change sequence"

# ---- broken JSON mid-listing, then a rerun resumes -------------------------
# Requests: 1-2 instruments, 3-4 proposals, 5 datasets page 1, 6 its files,
# 7 its samples, 8 datasets page 2: garbage there fails the run.
start_ex "$T/ex" --fault 8:garbage
config "$T/data2"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "broken JSON fails the run ($out)"
check_contains "$out" "not JSON" "the message says what is wrong"
check_eq "$(P status --json | jq -r '.sources[0].last_run.state')" failed "run recorded as failed"
check_eq "$(counts)" "[4,1,4,0]" "what the committed pages held stays (page 1: 4 datasets, 1 rejected)"
check_contains "$(sqlite3 "$T/data2/store.db" "SELECT value FROM source_state WHERE key = 'resume'")" '"skip":5' "checkpoint: datasets from skip 5"
start_ex "$T/ex"
sed -i "s|^url = .*|url = $BASE/api|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "the rerun ($out)"
check_contains "$(head -1 "$T/replay.log")" "skip%22%3A5%2C" "the rerun starts at the page that failed"
check_eq "$(grep -c 'Instruments\|Proposals' "$T/replay.log")" 0 "instruments and proposals are not fetched again"
check_contains "$out" "26 seen, 26 new" "the rest, once"
check_contains "$out" "nothing was deleted" "a resumed listing sweeps nothing"
check_eq "$(counts)" "[4,1,19,11]" "the records of an uninterrupted run"
check_eq "$(sqlite3 "$T/data2/store.db" "SELECT pid, title, size FROM dataset ORDER BY pid; SELECT pid, title FROM proposal; SELECT pid, title FROM publication ORDER BY pid; SELECT count(*) FROM file; SELECT count(*) FROM parameter; SELECT type, src_ref, dst_ref FROM link ORDER BY 1, 2, 3;")" "$good" "identical to the uninterrupted run"

# ---- the v4 route -----------------------------------------------------------
start_ex "$T/ex"
config "$T/data3" "api_version = 4"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "v4 harvest ($out)"
check_eq "$(counts)" "[4,1,19,11]" "v4: the same records"
check test "$(grep -c '/api/v4/datasets/public' "$T/replay.log")" -eq 5 -- "v4: datasets from /api/v4/datasets/public"
config "$T/data3" "api_version = 5"
out=$(P harvest 2>&1); rc=$?
check test "$rc" -ne 0 -- "api_version = 5 is refused"
check_contains "$out" "api_version" "the message names the option"
finish
