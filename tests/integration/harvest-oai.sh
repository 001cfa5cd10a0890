#!/usr/bin/env bash
# harvest-oai: the oai-pmh source against real OAI-PMH answers replayed by
# ps-replay: the Erasmus DSpace responses (pyoai's fake1..5: records,
# deleted records, broken Identify answers), sickle's resumption chain and
# error answers, and the recorded arXiv traffic with its 503 + Retry-After.
# Checks the oai_dc and arXiv crosswalks through the PaN API and sqlite3,
# incremental harvests (from= the largest datestamp seen), tombstones, every
# OAI error code, badResumptionToken and HTTP 422 restarts, a broken page
# that fails a run which the rerun resumes, and a provider with lower-cased
# element names and an invalid datestamp. Exchange recordings are made from
# the shared corpus at test time.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

C="$PS_SOURCE_DIR/../shared/corpus/oai-pmh"
PAGES="$PS_SOURCE_DIR/tests/tools/oai-pages.pl"
FIX="$PS_TEST_DATA/oai-pmh"
[ -d "$C" ] || { fail "no shared corpus at $C"; finish; }
EX="$T/ex"
mkdir -p "$EX"

# exch PATH?QUERY FILE [STATUS]: one exchange answering with FILE's bytes.
exch() {
    jq -n --arg path "$1" --rawfile body "$2" --argjson status "${3:-200}" \
        '{method:"GET",path:$path,status:$status,headers:{"Content-Type":"text/xml"},body:$body}'
}
# H NAME ARGS...: pansift with the config of source NAME.
H() { local n=$1; shift; "$PANSIFT" --quiet --config "$T/$n.ini" "$@"; }
# source_cfg NAME [EXTRA INI LINES]: a data dir and config for source NAME,
# whose URL is the replay server's /NAME.
source_cfg() {
    rm -rf "$T/data-$1"
    write_config "$T/$1.ini" "$T/data-$1" "[source $1]
type = oai-pmh
url = $REPLAY_URL/$1
timeout_ms = 5000
retries = 1
${2:-}"
    H "$1" init >/dev/null
}
counts() { H "$1" status --json | jq -c '[.entities.publication, .entities.dataset, .tombstones.publication // 0, .max_seq]'; }
state() { sqlite3 "$T/data-$1/store.db" "SELECT value FROM source_state WHERE key = '$2'"; }
log_since() { tail -n +"$(( $1 + 1 ))" "$T/replay.log"; }
loglines() { wc -l < "$T/replay.log"; }

S="$C/sickle"
D="$C/dspace-eur"

# ---- exchanges -----------------------------------------------------------
# eur: DSpace fake1 as recorded (mapping.txt says which request each file
# answers), then noRecordsMatch for the incremental run.
while read -r q && read -r f; do
    exch "/eur?$q" "$D/fake1/$f" > "$EX/eur-$f.json"
done < "$D/fake1/mapping.txt"
exch "/eur?verb=ListRecords&metadataPrefix=oai_dc&from=2003-04-29T15:57:01Z" \
    "$S/noRecordsMatch.xml" > "$EX/eur-incremental.json"

# del: fake2's 81 records paged by 20 with tokens that need URL-encoding.
# Run 1 sees the two records fake2 announces as deleted still alive; run 2
# (from= the largest datestamp of run 1) gets the real page with them
# deleted. Identify is fake5's (persistent deletions, an invalid
# earliestDatestamp).
exch "/del?verb=Identify" "$D/fake5/00001.xml" > "$EX/del-identify.json"
perl -0777 -pe 's{<record><header status="deleted"><identifier>([^<]*)</identifier>(<datestamp>[^<]*</datestamp>)}{<record><header><identifier>$1</identifier>$2}g;
    s{(<identifier>hdl:1765/116[01]</identifier>.*?</header>)</record>}{$1<metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>To be withdrawn</dc:title><dc:creator>Doe, J.</dc:creator></oai_dc:dc></metadata></record>}gs' \
    "$D/fake2/00002.xml" > "$T/fake2-before.xml"
perl "$PAGES" --per-page 20 --path /del \
    --query 'metadataPrefix=oai_dc&from=2004-01-01T00:00:00Z' \
    "$T/fake2-before.xml" > "$EX/del-run1.json"
max=$(grep -o '<datestamp>[^<]*' "$T/fake2-before.xml" | cut -c12- | sort | tail -1)
exch "/del?verb=ListRecords&metadataPrefix=oai_dc&from=$max" \
    "$D/fake2/00002.xml" > "$EX/del-run2.json"

# sickle: Identify (day granularity) and the chain ListRecords -> 2 -> 3 -> 4.
mkchain() { # mkchain NAME: sickle's chain under /NAME
    exch "/$1?verb=Identify" "$S/Identify.xml" > "$EX/$1-identify.json"
    exch "/$1?verb=ListRecords&metadataPrefix=oai_dc" "$S/ListRecords.xml" \
        > "$EX/$1-p1.json"
    for k in 2 3 4; do
        exch "/$1?verb=ListRecords&resumptionToken=ListRecords$k.xml" \
            "$S/ListRecords$k.xml" > "$EX/$1-p$k.json"
    done
}
mkchain sickle
mkchain expired
# badtoken: the first request for the second page gets badResumptionToken,
# the next ones the page (exchanges matching one request are served in turn).
mkchain badtoken
jq -s '.' <(exch "/badtoken?verb=ListRecords&resumptionToken=ListRecords2.xml" "$S/badResumptionToken.xml") \
    "$EX/badtoken-p2.json" > "$T/bt.json" && mv "$T/bt.json" "$EX/badtoken-p2.json"

# One source per OAI error code answered to ListRecords.
for code in badArgument cannotDisseminateFormat idDoesNotExist noSetHierarchy undefinedError; do
    exch "/err-$code?verb=Identify" "$S/Identify.xml" > "$EX/err-$code-identify.json"
    exch "/err-$code?verb=ListRecords&metadataPrefix=oai_dc" "$S/$code.xml" \
        > "$EX/err-$code-list.json"
done
sed 's|<error code="badArgument"/>|<error code="badVerb">Illegal verb</error>|' \
    "$S/badArgument.xml" > "$T/badVerb.xml"
sed 's|<error code="badArgument"/>|<error code="noMetadataFormats">none here</error>|' \
    "$S/badArgument.xml" > "$T/noMetadataFormats.xml"
sed 's|<error code="badArgument"/>|<error code="badArgument">from is bad</error><error code="noRecordsMatch"/>|' \
    "$S/badArgument.xml" > "$T/several.xml"
for code in badVerb noMetadataFormats several; do
    exch "/err-$code?verb=Identify" "$S/Identify.xml" > "$EX/err-$code-identify.json"
    exch "/err-$code?verb=ListRecords&metadataPrefix=oai_dc" "$T/$code.xml" \
        > "$EX/err-$code-list.json"
done
# empty: noRecordsMatch on the first run is an empty harvest.
exch "/empty?verb=Identify" "$S/Identify.xml" > "$EX/empty-identify.json"
exch "/empty?verb=ListRecords&metadataPrefix=oai_dc" "$S/noRecordsMatch.xml" > "$EX/empty-list.json"
# Sets: a listed set, a set the repository does not have, no sets at all.
exch "/sets?verb=Identify" "$S/Identify.xml" > "$EX/sets-identify.json"
exch "/sets?verb=ListSets" "$S/ListSets.xml" > "$EX/sets-listsets.json"
exch "/sets?verb=ListRecords&metadataPrefix=oai_dc&set=bi" "$S/noRecordsMatch.xml" > "$EX/sets-list.json"
exch "/nosets?verb=Identify" "$S/Identify.xml" > "$EX/nosets-identify.json"
exch "/nosets?verb=ListSets" "$S/noSetHierarchy.xml" > "$EX/nosets-listsets.json"
# Identify answers that are not well-formed (fake3: an unclosed element,
# fake4: an undefined entity).
exch "/bad3?verb=Identify" "$D/fake3/00001.xml" > "$EX/bad3.json"
exch "/bad4?verb=Identify" "$D/fake4/00001.xml" > "$EX/bad4.json"
# lower: a real DSpace page with lower-cased element names, an invalid
# datestamp, a record without title, a dataset with a DOI.
exch "/lower?verb=Identify" "$D/fake1/00001.xml" > "$EX/lower-identify.json"
exch "/lower?verb=ListRecords&metadataPrefix=oai_dc" "$FIX/lowercase-listrecords.xml" > "$EX/lower-list.json"
# dcite / dcite2: oai_datacite (and datacite) records made of DataCite's
# kernel-4 examples (a dataset, an instrument, a dissertation); run 2 of
# dcite announces the instrument deleted.
K="$PS_SOURCE_DIR/../shared/corpus/datacite/kernel-4"
mkdcpage() { # mkdcpage WRAP FILE...: a ListRecords page; WRAP 1: oai_datacite
    local wrap=$1 i=0; shift
    printf '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-09T00:00:00Z</responseDate><request verb="ListRecords">http://example.org/oai</request><ListRecords>'
    for f in "$@"; do
        i=$((i + 1))
        printf '<record><header><identifier>oai:dc.example:%d</identifier><datestamp>2024-01-0%dT00:00:00Z</datestamp></header><metadata>' "$i" "$i"
        [ "$wrap" = 1 ] && printf '<oai_datacite xmlns="http://schema.datacite.org/oai/oai-1.1/"><schemaVersion>4</schemaVersion><datacentreSymbol>TEST</datacentreSymbol><payload>'
        sed '1{/^<?xml/d}' "$f"
        [ "$wrap" = 1 ] && printf '</payload></oai_datacite>'
        printf '</metadata></record>'
    done
    printf '</ListRecords></OAI-PMH>'
}
dcfiles=("$K/datacite-example-dataset-v4.xml" "$K/datacite-example-instrument-v4.xml" "$K/datacite-example-dissertation-v4.xml")
mkdcpage 1 "${dcfiles[@]}" > "$T/dcite.xml"
mkdcpage 0 "${dcfiles[@]}" > "$T/dcite2.xml"
printf '%s' '<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-09T00:00:00Z</responseDate><request verb="ListRecords">http://example.org/oai</request><ListRecords><record><header status="deleted"><identifier>oai:dc.example:2</identifier><datestamp>2024-01-05T00:00:00Z</datestamp></header></record></ListRecords></OAI-PMH>' > "$T/dcite-del.xml"
for n in dcite dcite2; do exch "/$n?verb=Identify" "$S/Identify.xml" > "$EX/$n-identify.json"; done
exch "/dcite?verb=ListRecords&metadataPrefix=oai_datacite" "$T/dcite.xml" > "$EX/dcite-list.json"
exch "/dcite?verb=ListRecords&metadataPrefix=oai_datacite&from=2024-01-03" "$T/dcite-del.xml" > "$EX/dcite-del.json"
exch "/dcite2?verb=ListRecords&metadataPrefix=datacite" "$T/dcite2.xml" > "$EX/dcite2-list.json"
# The recorded arXiv traffic is read as it is (nock's format).
cp "$C"/recorded/*.json "$EX/"

start_replay "$EX" --retry-after-max 1
OAI_URL=$REPLAY_URL

# ---- DSpace: crosswalk, incremental ---------------------------------------
source_cfg eur "from = 2003-04-10T00:00:00Z"
out=$(H eur harvest 2>&1); rc=$?
check_eq "$rc" 0 "eur: harvest ($out)"
check_contains "$out" "16 seen, 16 new" "eur: the 16 records of fake1"
check_contains "$(cat "$T/replay.log")" "GET /api/eur?verb=ListRecords&metadataPrefix=oai_dc&from=2003-04-10T00%3A00%3A00Z -> 200" \
    "eur: from at the announced seconds granularity"
check_eq "$(state eur since)" "2003-04-29T15:57:01Z" "eur: since = the largest datestamp"
check_eq "$(state eur resume)" "" "eur: no resumption token left"
good=$(counts eur)
n=$(loglines)
out=$(H eur harvest 2>&1); rc=$?
check_eq "$rc" 0 "eur: incremental run ($out)"
check_contains "$out" "0 seen" "eur: noRecordsMatch is an empty harvest"
check_contains "$(log_since "$n")" "from=2003-04-29T15%3A57%3A01Z -> 200" "eur: the second run asks from= since"
check_eq "$(counts eur)" "$good" "eur: the incremental run changes nothing"
check_eq "$(sqlite3 "$T/data-eur/store.db" "SELECT title || '|' || year || '|' || type FROM publication WHERE pid = 'hdl:1765/311'")" \
    "Railway stations and a geography of networks|2003|Article" "eur: title, year, type"
check_eq "$(sqlite3 "$T/data-eur/store.db" "SELECT count(*) FROM parameter WHERE name = 'language'")" 16 "eur: dc:language kept"
# The provenance keeps each record's bytes exactly as the page had them.
sqlite3 "$T/data-eur/store.db" "SELECT raw FROM provenance WHERE remote_id = 'hdl:1765/311'" | head -c -1 > "$T/raw311"
check grep -qF "$(cat "$T/raw311")" "$D/fake1/00005.xml" -- "eur: raw record as received"
check_eq "$(head -c 53 "$T/raw311")" "<record><header><identifier>hdl:1765/311</identifier>" "eur: raw is the <record>"

# ---- tombstones, paging with tokens --------------------------------------
source_cfg del "from = 2004-01-01T00:00:00Z"
n=$(loglines)
out=$(H del harvest 2>&1); rc=$?
check_eq "$rc" 0 "del: run 1 ($out)"
check_contains "$out" "81 seen, 81 new" "del: 81 records over 5 pages"
check_contains "$out" "invalid earliestDatestamp" "del: Identify's bad earliestDatestamp is a note"
check_eq "$(log_since "$n" | grep -c 'resumptionToken=oai_dc%2F2024-01-01T00%3A00%3A00Z%2F%2Bpage%20.*-> 200')" 4 \
    "del: four tokens sent URL-encoded"
check_eq "$(state del since)" "$max" "del: since = the largest datestamp"
n=$(loglines)
out=$(H del harvest 2>&1); rc=$?
check_eq "$rc" 0 "del: run 2 ($out)"
check_contains "$(log_since "$n")" "from=${max//:/%3A} -> 200" "del: run 2 is incremental"
check_contains "$out" "2 deleted" "del: two deleted records"
check_contains "$out" "79 unchanged" "del: the others unchanged"
check_eq "$(H del status --json | jq '[.entities.publication, .tombstones.publication]' -c)" "[79,2]" "del: 79 live, 2 tombstones"
check_eq "$(sqlite3 "$T/data-del/store.db" "SELECT group_concat(x, ';') FROM (SELECT m.role || ':' || p.full_name AS x FROM member m JOIN person p ON p.id = m.person_id JOIN publication d ON d.id = m.doc_id AND m.doc_kind = 9 WHERE d.pid = 'hdl:1765/9' ORDER BY m.position)")" \
    "author:Jong, G. de;author:Nooteboom, B." "del: creators as authors in order, repeated contributors dropped"

# ---- sickle chain: deletions, a record without identifier ----------------
source_cfg sickle
out=$(H sickle harvest 2>&1); rc=$?
check_eq "$rc" 0 "sickle: harvest ($out)"
check_contains "$out" "1 rejected" "sickle: the deleted header without identifier is rejected"
check_contains "$out" "without identifier" "sickle: the reason"
check_eq "$(H sickle status --json | jq .entities.publication)" 1 "sickle: one record"
check_eq "$(grep -c '/api/sickle?verb=ListRecords' "$T/replay.log")" 4 "sickle: four pages"

# ---- error codes ----------------------------------------------------------
for code in badArgument badVerb cannotDisseminateFormat idDoesNotExist noMetadataFormats noSetHierarchy undefinedError; do
    source_cfg "err-$code"
    out=$(H "err-$code" harvest 2>&1); rc=$?
    check_eq "$rc" 4 "$code: the run fails ($out)"
    check_contains "$out" "$code" "$code: named in the error"
done
check_contains "$(H err-badVerb harvest 2>&1)" "badVerb (Illegal verb)" "badVerb: the message is given"
source_cfg err-several
out=$(H err-several harvest 2>&1)
check_contains "$out" "badArgument (from is bad), noRecordsMatch" "several <error> elements are all named"
check_eq "$(H err-several status --json | jq -r '.sources[0].last_run.state')" failed "several errors: failed"
source_cfg empty
out=$(H empty harvest 2>&1); rc=$?
check_eq "$rc" 0 "empty: noRecordsMatch succeeds ($out)"
check_eq "$(H empty status --json | jq -r '.sources[0].last_run.state')" ok "empty: run ok"

# ---- sets -----------------------------------------------------------------
source_cfg sets "set = bi"
out=$(H sets harvest 2>&1); rc=$?
check_eq "$rc" 0 "sets: a listed set ($out)"
check_contains "$(cat "$T/replay.log")" "/api/sets?verb=ListRecords&metadataPrefix=oai_dc&set=bi -> 200" "sets: set= sent"
sed -i 's/^set = bi/set = nope/' "$T/sets.ini"
out=$(H sets harvest 2>&1); rc=$?
check_eq "$rc" 4 "sets: an unknown set fails"
check_contains "$out" "set = nope is not one of the 131 sets" "sets: clear message"
source_cfg nosets "set = physics"
out=$(H nosets harvest 2>&1); rc=$?
check_eq "$rc" 4 "nosets: fails"
check_contains "$out" "noSetHierarchy" "nosets: names noSetHierarchy"

# ---- broken providers ----------------------------------------------------
for b in bad3 bad4; do
    source_cfg "$b"
    out=$(H "$b" harvest 2>&1); rc=$?
    check_eq "$rc" 4 "$b: Identify not well-formed fails"
    check_contains "$out" "not well-formed XML" "$b: says why"
    check_contains "$out" "/api/$b?verb=Identify" "$b: names the URL"
    check_eq "$(grep -c "/api/$b?verb=Identify" "$T/replay.log")" 2 "$b: fetched twice"
done
source_cfg lower
out=$(H lower harvest 2>&1); rc=$?
check_eq "$rc" 0 "lower: harvest ($out)"
check_contains "$out" "wrong case" "lower: a note on the element names"
check_contains "$out" "invalid datestamp \"2003-13-45T99:00:00Z\" (hdl:1765/308)" "lower: a note on the datestamp"
check_contains "$out" "1 rejected" "lower: the record without title rejected"
check_contains "$out" "hdl:1765/311" "lower: the rejected record named"
check_eq "$(H lower status --json | jq -c '[.entities.publication, .entities.dataset]')" "[1,1]" "lower: a publication and a dataset"
check_eq "$(sqlite3 "$T/data-lower/store.db" "SELECT type FROM link WHERE dst_ref = '10.5281/zenodo.1234'")" "is-related-to" \
    "lower: dc:relation DOI becomes a link"

# ---- oai_datacite and datacite: the DataCite crosswalk -------------------
ents() { H "$1" status --json | jq -c '[.entities.dataset, .entities.instrument, .entities.publication, .tombstones.instrument // 0]'; }
source_cfg dcite "metadata_prefix = oai_datacite"
out=$(H dcite harvest 2>&1); rc=$?
check_eq "$rc" 0 "oai_datacite: harvest ($out)"
check_eq "$(ents dcite)" "[1,1,1,0]" "oai_datacite: a dataset, an instrument, a publication"
check_eq "$(sqlite3 "$T/data-dcite/store.db" "SELECT title FROM dataset WHERE pid = '10.82433/9184-DY35'")" \
    "External Environmental Data, 2010-2020, National Gallery" "oai_datacite: the DOI is the pid, the title mapped"
check_eq "$(sqlite3 "$T/data-dcite/store.db" "SELECT remote_id FROM provenance WHERE kind = 4")" "oai:dc.example:1" \
    "oai_datacite: the OAI identifier is the remote id"
check_eq "$(state dcite since)" "2024-01-03" "oai_datacite: since at day granularity"
out=$(H dcite harvest 2>&1); rc=$?
check_eq "$rc" 0 "oai_datacite: run 2 ($out)"
check_contains "$out" "1 deleted" "oai_datacite: the deleted instrument"
check_eq "$(ents dcite)" "[1,0,1,1]" "oai_datacite: the instrument is a tombstone"
source_cfg dcite2 "metadata_prefix = datacite"
out=$(H dcite2 harvest 2>&1); rc=$?
check_eq "$rc" 0 "datacite: harvest ($out)"
check_eq "$(ents dcite2)" "[1,1,1,0]" "datacite: the same three records"

# ---- arXiv: 503 + Retry-After, arXiv format, day granularity ---------------
write_config "$T/arxiv.ini" "$T/data-arxiv" "[source arxiv]
type = oai-pmh
url = $REPLAY_URL/oai2
metadata_prefix = arXiv
from = 2015-01-01
until = 2015-01-03
retries = 2"
H arxiv init >/dev/null
start=$(date +%s)
out=$(H arxiv harvest 2>&1); rc=$?
check_eq "$rc" 0 "arxiv: harvest through the 503 ($out)"
check_contains "$out" "2 seen, 2 new" "arxiv: two records"
check_eq "$(grep -c 'verb=ListRecords.*-> 503' "$T/replay.log")" 1 "arxiv: one 503"
check test "$(( $(date +%s) - start ))" -ge 1 -- "arxiv: Retry-After waited"
check_eq "$(state arxiv since)" "2015-01-03" "arxiv: since at day granularity"
H arxiv index >/dev/null
start_serve "$T/arxiv.ini"
get "$SERVE_URL/api/Documents/10.4204%2FEPTCS.172.11?filter=%7B%22include%22%3A%5B%7B%22relation%22%3A%22members%22%2C%22scope%22%3A%7B%22include%22%3A%5B%7B%22relation%22%3A%22person%22%7D%5D%7D%7D%5D%7D"
check_eq "$STATUS" 200 "arxiv: the DOI is the pid"
check_eq "$(jq -r .title "$T/body")" "A Kochen-Specker system has at least 22 vectors (extended abstract)" "arxiv: title"
check_eq "$(jq -r '[.members[].person.fullName] | join(";")' "$T/body")" "Sander Uijlen;Bas Westerbaan" "arxiv: authors in order"
check_eq "$(jq -r '.keywords | join(",")' "$T/body")" "cs.DM" "arxiv: categories as keywords"
get "$SERVE_URL/api/Documents/oai%3AarXiv.org%3Ahep-th%2F9504118"
check_eq "$(jq -r .doi "$T/body")" "null" "arxiv: no DOI: the OAI identifier is the pid"
stop_serve
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null

# ---- restarts and resumes (faults count requests: one server each) ----------
# badResumptionToken: the listing restarts from the beginning.
start_replay "$EX"
source_cfg badtoken
out=$(H badtoken harvest 2>&1); rc=$?
check_eq "$rc" 0 "badtoken: harvest ($out)"
check_contains "$out" "badResumptionToken: listing restarted" "badtoken: said"
check_eq "$(grep -c '/api/badtoken?verb=ListRecords&metadataPrefix=oai_dc ' "$T/replay.log")" 2 "badtoken: the first page asked again"
check_eq "$(H badtoken status --json | jq .entities.publication)" 1 "badtoken: the record"
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null

# HTTP 422 on a token (Zenodo's expired token): restart from since. Requests:
# 1 Identify, 2 page 1, 3 token -> 422.
start_replay "$EX" --fault 3:422
source_cfg expired
out=$(H expired harvest 2>&1); rc=$?
check_eq "$rc" 0 "422: harvest ($out)"
check_contains "$out" "HTTP 422" "422: said"
check_eq "$(grep -c '/api/expired?verb=ListRecords&metadataPrefix=oai_dc ' "$T/replay.log")" 2 "422: restarted from the first page"
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null

# A broken page (twice in a row) fails the run; the rerun resumes from the
# checkpointed token and ends with the records of an uninterrupted run.
# Requests: 1 Identify, 2 page 1, 3 page 2, 4 page 3 (badxml), 5 again.
start_replay "$EX" --fault 4-5:badxml
source_cfg del "from = 2004-01-01T00:00:00Z"
out=$(H del harvest 2>&1); rc=$?
check_eq "$rc" 4 "badxml: the run fails ($out)"
check_contains "$out" "not well-formed XML" "badxml: says why"
check_contains "$out" "resumptionToken=oai_dc%2F2024-01-01T00%3A00%3A00Z%2F%2Bpage%202%2F20" "badxml: names the page"
check_eq "$(H del status --json | jq .entities.publication)" 40 "badxml: two pages committed"
check_eq "$(state del resume)" "oai_dc/2024-01-01T00:00:00Z/+page 2/20" "badxml: the token checkpointed"
n=$(loglines)
out=$(H del harvest 2>&1); rc=$?
check_eq "$rc" 0 "badxml: the rerun completes ($out)"
check_contains "$out" "41 seen, 41 new" "badxml: the rerun fetched only the rest"
check_eq "$(log_since "$n" | grep -c 'metadataPrefix=oai_dc')" 0 "badxml: the rerun did not start over"
check_eq "$(H del status --json | jq .entities.publication)" 81 "badxml: all 81, none twice"
check_eq "$(sqlite3 "$T/data-del/store.db" "SELECT count(*) FROM provenance")" 81 "badxml: one provenance per record"
check_eq "$(state del since)" "$max" "badxml: since after the resumed listing"
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null

# kill -9 while the fourth page is being fetched: the rerun resumes from the
# last committed page and ends with exactly the records of an uninterrupted
# run. Requests: 1 Identify, 2-4 pages 1-3, 5 page 4 (stalls).
start_replay "$EX" --fault 5:stall --stall-ms 20000
source_cfg del "from = 2004-01-01T00:00:00Z"
sed -i 's/^timeout_ms = .*/timeout_ms = 30000/' "$T/del.ini"
n=$(loglines)
"$PANSIFT" --quiet --config "$T/del.ini" harvest >"$T/k9.out" 2>&1 &
hp=$!
# A stalled request is logged when it ends: wait for the page before it.
for _ in $(seq 100); do log_since "$n" | grep -q 'page%202%2F20 -> 200' && break; sleep 0.1; done
sleep 1
kill -9 "$hp"; wait "$hp" 2>/dev/null
check_eq "$(H del status --json | jq .entities.publication)" 60 "kill -9: three pages committed"
n=$(loglines)
out=$(H del harvest 2>&1); rc=$?
check_eq "$rc" 0 "kill -9: the rerun completes ($out)"
check_contains "$(log_since "$n" | grep ListRecords | head -1)" "resumptionToken=oai_dc%2F2024-01-01T00%3A00%3A00Z%2F%2Bpage%203%2F20" \
    "kill -9: the rerun starts at the checkpointed token"
check_eq "$(H del status --json | jq .entities.publication)" 81 "kill -9: all 81"
check_eq "$(sqlite3 "$T/data-del/store.db" "SELECT count(*) FROM provenance")" 81 "kill -9: none twice"
check_eq "$(H del status --json | jq -r '.sources[0].last_run.state')" ok "kill -9: last run ok"
finish
