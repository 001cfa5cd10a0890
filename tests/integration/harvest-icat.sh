#!/usr/bin/env bash
# harvest-icat: the "icat" source harvests python-icat's example dump
# (icatdump-6.2.xml of the shared corpus) served as ICAT REST answers by
# ps-replay (tests/tools/icat-recordings.pl makes them): counts, mapped
# fields through the PaN API (instrument names, investigation members with
# their roles, datafiles with sizes, parameters in SI found by unit
# queries, the data publication citing its dataset), a session that
# expires mid-harvest (one new login), a 500 then 200, a malformed entity
# skipped and reported, an incremental second run (modTime > since), a
# broken JSON page that fails the run and a rerun that resumes after the
# last id, and a refused login with a clear message and no password shown.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

DUMP="$PS_SOURCE_DIR/../shared/corpus/icat/icatdump-6.2.xml"
if [ ! -f "$DUMP" ]; then
    echo "SKIP: no shared corpus at $DUMP"
    exit 0
fi
GEN="$PS_SOURCE_DIR/tests/tools/icat-recordings.pl"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
DB() { sqlite3 "$T/data/store.db" "$@"; }
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
    write_config "$T/pansift.ini" "$1" "[source esnf]
type = icat
url = $BASE
page_size = 2
retries = 2
timeout_ms = 5000
${2:-}"
}
counts() { P status --json | jq -c '[.entities.instrument, .entities.proposal, .entities.dataset, .entities.publication]'; }
snapshot() { sqlite3 "$1" "SELECT pid, title, size FROM dataset ORDER BY pid; SELECT pid, title FROM proposal ORDER BY pid; SELECT pid, title FROM publication; SELECT name, size FROM file ORDER BY 1; SELECT name, value_si FROM parameter ORDER BY 1, 2; SELECT type, src_ref, dst_ref FROM link ORDER BY 1, 2, 3;"; }

# Queries: 1-2 instruments, 3-4 investigations, 5-9 datasets, 10 data
# publications. The 5th (datasets, first page) meets an expired session;
# dataset e208946 comes without a name.
mkdir -p "$T/ex"
perl "$GEN" "$DUMP" "$T/ex/icat.json" 2 --expire 5 --nameless e208946 || { fail "generator"; finish; }

# ---- a full harvest ---------------------------------------------------------
# Request 3 (the first query after the login and one page) answers 500.
start_ex "$T/ex" --fault 3:500
config "$T/data"
P init >/dev/null
t0=$(date +%s%N)
out=$(P harvest 2>&1); rc=$?
t1=$(date +%s%N)
check_eq "$rc" 0 "full harvest ($out)"
check_contains "$out" "16 seen, 15 new" "every entity listed"
check_contains "$out" "1 rejected" "the nameless dataset is counted"
msg=$(P status --json | jq -r '.sources[0].last_run.message')
check_contains "$msg" "has no name" "the rejected entity is reported"
check_contains "$msg" "session expired" "the new login is noted"
check_eq "$(counts)" "[3,3,8,1]" "3 instruments, 3 investigations, 8 datasets, 1 data publication"
check_eq "$(grep -c 'POST /icat/session' "$T/replay.log")" 2 "logged in again once after the session expired"
check_eq "$(grep -c ' -> 403' "$T/replay.log")" 1 "one SESSION error"
check_eq "$(grep -c ' -> 500' "$T/replay.log")" 1 "one 500, retried"
check_contains "$(grep -A1 ' -> 403' "$T/replay.log" | tail -1)" "POST /icat/session" "the login follows the SESSION error"
check_eq "$(grep -c 'Dataset%20x%20WHERE%20x.id%20%3E%200%20' "$T/replay.log")" 2 "and the query is asked again"
check_eq "$(DB "SELECT value FROM source_state WHERE key = 'resume'")" "" "no resume checkpoint after a complete listing"
echo "icat: 16 entities in $(( (t1 - t0) / 1000000 )) ms"
good=$(snapshot "$T/data/store.db")

# ---- the PaN API ----------------------------------------------------------
P index >/dev/null
start_serve "$T/pansift.ini"
get "$SERVE_URL/api/Instruments"
check_eq "$(jq -c '[.[] | [.pid, .name, .facility]] | sort' "$T/body")" '[["00.0815/inst-00001","E2","ESNF"],["00.0815/inst-00027","HIKE","ESNF"],["00.0815/inst-00048","EDDI","ESNF"]]' "instruments: pid, name, facility"
inc='{"include":[{"relation":"members","scope":{"include":[{"relation":"person"},{"relation":"affiliation"}]}},{"relation":"datasets"},{"relation":"parameters"}]}'
get "$SERVE_URL/api/Documents/00.0815%2Finv-00122" --data-urlencode "filter=$inc" -G
check_eq "$STATUS" 200 "the investigation by its DOI"
check_eq "$(jq -r '[.type, .title] | join("|")' "$T/body")" "proposal|Durol single crystal" "investigation -> proposal"
check_eq "$(jq -c '[.members[] | [.role, .person.fullName]]' "$T/body")" '[["principal investigator","Jean-Baptiste Botul"],["investigator","Nicolas Bourbaki"],["investigator","Rudolph Beck-Dülmen"]]' "investigationUsers -> members with roles"
check_eq "$(jq -r '.members[0].person.orcid' "$T/body")" "0000-0002-3264" "ORCID"
check_eq "$(jq -r '.members[1].affiliation.name' "$T/body")" "University of Nancago" "affiliation"
check_eq "$(jq -c '[.datasets[].pid] | sort' "$T/body")" '["icat:ESNF/dataset/1","icat:ESNF/dataset/2"]' "the investigation's datasets"
check_eq "$(jq -c '[.parameters[] | [.name, .value]]' "$T/body")" '[["Probe","photon"]]' "investigation parameter"
get "$SERVE_URL/api/Datasets/icat:ESNF%2Fdataset%2F3" --data-urlencode 'filter={"include":[{"relation":"files"},{"relation":"parameters"},{"relation":"instrument"},{"relation":"samples"},{"relation":"techniques"}]}' -G
check_eq "$STATUS" 200 "a dataset"
check_eq "$(jq -r .title "$T/body")" e208339 "name -> title"
check_eq "$(jq -c '[.files[] | [.name, .size]] | sort' "$T/body")" '[["e208339.dat",446],["e208339.nxs",73428]]' "datafiles with sizes"
check_eq "$(jq -r .instrument.name "$T/body")" E2 "datasetInstruments -> instrument"
check_eq "$(jq -r '.samples[0].name' "$T/body")" "NiMnGa 991027" "sample"
check_eq "$(jq -r '.techniques[0].pid' "$T/body")" "PaNET:PaNET01217" "technique"
find_params() { get "$SERVE_URL/api/Datasets" --data-urlencode "filter={\"include\":[{\"relation\":\"parameters\",\"scope\":{\"where\":$1}}]}" -G; }
find_params '{"and":[{"name":"Magnetic field"},{"value":{"gt":5000}},{"unit":"mT"}]}'
check_eq "$(jq -r '[.[].pid] | join(" ")' "$T/body")" "icat:ESNF/dataset/3" "7.3 T is above 5000 mT, 2.7 T is not"
find_params '{"and":[{"name":"Sample temperature"},{"value":{"between":[3.9,4]}},{"unit":"celsius"}]}'
check_eq "$(jq -r '[.[].pid] | join(" ")' "$T/body")" "icat:ESNF/dataset/6" "3.92 C (unitsFullName Celsius) is between 3.9 and 4 celsius"
find_params '{"and":[{"name":"Reactor power"},{"value":5},{"unit":"MW"}]}'
check_eq "$(jq 'length' "$T/body")" 2 "reactor power in MW"
get "$SERVE_URL/api/Documents/00.0815%2Fpub-00027" --data-urlencode "filter=$inc" -G
check_eq "$(jq -r '[.type, .title] | join("|")' "$T/body")" "data publication|Data from OEIS sequence A000027" "DataPublication -> a data publication document"
check_eq "$(jq -c '[.datasets[].pid]' "$T/body")" '["icat:ESNF/dataset/9"]' "it cites its dataset"
check_eq "$(jq -c '[.members[] | [.role, .person.fullName, .affiliation.name]]' "$T/body")" '[["author","Bourbaki, Nicolas","Université de Nancy"]]' "its creator"
stop_serve

# ---- an incremental second run ---------------------------------------------
since=$(DB "SELECT value FROM source_state WHERE key = 'since'")
check test -n "$since" -- "a since checkpoint"
mkdir -p "$T/inc"
perl "$GEN" "$DUMP" "$T/inc/icat.json" 2 --since "$since" --newer e201216
start_ex "$T/inc"
sed -i "s|^url = .*|url = $BASE|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "incremental harvest ($out)"
check_contains "$out" "1 seen, 0 new, 1 updated" "only the changed dataset"
s=${since// /%20}
check_eq "$(grep -c "modTime%20%3E%20%7Bts%20${s//:/%3A}" "$T/replay.log")" 4 "each listing asks for modTime > since"
check_eq "$(DB "SELECT description FROM dataset WHERE title = 'e201216'")" revised "the update arrived"
check_eq "$(counts)" "[3,3,8,1]" "nothing added or lost"

# ---- broken JSON mid-listing, then a rerun resumes -------------------------
mkdir -p "$T/plain"
perl "$GEN" "$DUMP" "$T/plain/icat.json" 2
# Requests: 1 login, 2-3 instruments, 4-5 investigations, 6-10 datasets:
# the third page of datasets (request 8) is garbage.
start_ex "$T/plain" --fault 8:garbage
config "$T/data2"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "broken JSON fails the run ($out)"
check_contains "$out" "not JSON" "the message says what is wrong"
check_eq "$(counts)" "[3,3,4,0]" "what the committed pages held stays"
check_contains "$(sqlite3 "$T/data2/store.db" "SELECT value FROM source_state WHERE key = 'resume'")" '"last":4' "checkpoint: datasets after id 4"
start_ex "$T/plain"
sed -i "s|^url = .*|url = $BASE|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "the rerun ($out)"
check_contains "$(sed -n 2p "$T/replay.log")" "Dataset%20x%20WHERE%20x.id%20%3E%204%20" "the rerun goes on after the last id"
check_contains "$out" "6 seen, 6 new" "the rest, once"
check_eq "$(counts)" "[3,3,9,1]" "all records"
perl "$GEN" "$DUMP" "$T/plain/icat.json" 2
config "$T/data3"
P init >/dev/null
P harvest >/dev/null 2>&1
check_eq "$(snapshot "$T/data2/store.db")" "$(snapshot "$T/data3/store.db")" "identical to an uninterrupted run"

# ---- a refused login ----------------------------------------------------------
mkdir -p "$T/deny"
body=$(jq -rn '"json=" + ({plugin: "db", credentials: [{username: "jdoe"}, {password: "s3cret-pw"}]} | tojson | @uri)')
jq -n --arg b "$body" '[{method: "POST", path: "/icat/session", request_body: $b, status: 403,
    body: {code: "SESSION", message: "The username and password do not match"}}]' > "$T/deny/login.json"
start_ex "$T/deny"
config "$T/data4" "plugin = db
username = jdoe
password = s3cret-pw"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "refused login: exit 4"
check_contains "$out" "The username and password do not match" "ICAT's message"
check_contains "$out" "SESSION" "ICAT's code"
check_eq "$( (echo "$out"; P status --json) | grep -c 's3cret-pw')" 0 "the password is never shown"
config "$T/data4" "plugin = db"
out=$(P harvest 2>&1); rc=$?
check test "$rc" -ne 0 -- "plugin db without credentials is refused"
check_contains "$out" "needs username and password" "and says why"
finish
