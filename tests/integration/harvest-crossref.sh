#!/usr/bin/env bash
# harvest-crossref: the crossref source harvests the real Crossref works of
# the shared corpus (shared/corpus/crossref, one /works/{doi} answer per
# file), served by ps-replay as cursor-paged /works answers built at test
# time (tests/tools/crossref-pages.sh). It checks the crosswalk through the
# PaN API and the store (authors with ORCID in order, affiliations with
# ROR, journal, year, abstract without JATS, references and relations as
# links), the options and mailto= in the requests, the incremental second
# run (from-index-date), resuming from the checkpointed cursor after a
# fault, a stale cursor restarting the listing, 429 then 200 with a capped
# Retry-After, X-Rate-Limit-* spacing the requests, a broken JSON page, and
# a malformed work skipped and reported.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CORPUS="$PS_SOURCE_DIR/../shared/corpus/crossref"
PAGES="$PS_SOURCE_DIR/tests/tools/crossref-pages.sh"
[ -d "$CORPUS" ] || { echo "no corpus at $CORPUS"; exit 1; }

P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }
status_json() { P status --json; }

# The works: every file of the corpus. Two files are versions of the same
# DOI (10.1103/physrevd.93.016005, its type changed): the first run lists
# one, the third (incremental) run the other. To cover what the corpus
# lacks, one author affiliation gets a ROR id, another author a second
# affiliation, and one work a relation to a
# facility dataset (ILL's prefix 10.5291) and an abstract and a subtitle
# with the JATS markup and entities Crossref abstracts carry, and a copy of
# a work without its DOI and title is the malformed work.
jq -s '[.[].message]' "$CORPUS/2018.3804742.json" "$CORPUS/9781316535783.011.json" \
    "$CORPUS/PhysRevB.33.3547.2.json" "$CORPUS/s1463-4988(99)00060-3.json" \
    "$CORPUS/sample_crossref_record.json" "$CORPUS/tasc.2017.2776938.json" |
jq '(.[0].author[0].affiliation[0].id) = [{"id": "https://ror.org/02n742c10", "id-type": "ROR", "asserted-by": "publisher"}]
    | (.[0].author[2].affiliation) += [{"name": "Second affiliation"}]
    | (.[2].relation) = {"is-supplemented-by": [{"id-type": "doi", "id": "10.5291/ILL-DATA.5-21-1097", "asserted-by": "subject"}],
                         "has-preprint": [{"id-type": "arxiv", "id": "cond-mat/0001", "asserted-by": "subject"}]}
    | (.[2].abstract) = "<jats:title>Abstract</jats:title>\n<jats:p>H<jats:sub>2</jats:sub>O &amp; D<jats:sub>2</jats:sub>O at 10&#x2009;K,\n  a &lt; b</jats:p><jats:p>Second.</jats:p>"
    | (.[2].subtitle) = ["With <i>italics</i>"]
    | .[:3] + [.[1] | del(.DOI, .title)] + .[3:]' > "$T/works.json"
check_eq "$(jq length "$T/works.json")" 7 "seven works in the listing (one malformed)"
jq '[.message]' "$CORPUS/sample_crossref_record_with_unknown_type.json" > "$T/update.json"
echo '[]' > "$T/none.json"

FILTER='from-pub-date:1980,prefix:10.1155,prefix:10.1017,prefix:10.1103,prefix:10.1016,prefix:10.1109'
enc() { jq -rn --arg v "$1" '$v | @uri'; }
query() { # query [SINCE]: what the harvester must send besides the cursor
    local f=$FILTER
    [ -n "${1:-}" ] && f="$f,from-index-date:$1"
    echo "rows=2&filter=$(enc "$f")&mailto=$(enc ops@example.org)"
}
# pages NAME WORKS [SINCE] [RATE]: a directory with the exchanges.
pages() {
    mkdir -p "$T/$1"
    bash "$PAGES" "$2" 2 "$(query "${3:-}")" "${4:-50}" > "$T/$1/works.json"
}
replay() { # replay DIR [ARGS...]: (re)start ps-replay on DIR
    if [ -n "${REPLAY_PID:-}" ]; then kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null; fi
    rm -f "$T/replay.log"
    start_replay "$@"
}
config() { # config DATA_DIR [EXTRA]
    write_config "$T/pansift.ini" "$1" "[source xref]
type = crossref
url = $REPLAY_URL
contact = ops@example.org
page_size = 2
filter = from-pub-date:1980
prefix = 10.1155, 10.1017,10.1103 ,10.1016,10.1109
timeout_ms = 5000
retries = 1
${2:-}"
}
log_cursors() { sed -n 's/.*[?&]cursor=\([^& ]*\).*-> \([0-9]*\).*/\1 \2/p' "$T/replay.log" | tr '\n' ' '; }

pages full "$T/works.json"

# ---- a full listing --------------------------------------------------------
replay "$T/full"
config "$T/data"
P init >/dev/null
t0=$(date +%s%N)
out=$(P harvest 2>&1); rc=$?
t1=$(date +%s%N)
check_eq "$rc" 0 "full harvest ($out)"
check_contains "$out" "7 seen, 6 new" "six works stored"
check_contains "$out" "1 rejected" "the malformed work is rejected"
check_contains "$out" "a work without a DOI" "the rejection says why"
check_eq "$(status_json | jq -r '.sources[0].last_run.state')" partial "run state partial (one rejected)"
check_eq "$(status_json | jq '.entities.publication')" 6 "six publications"
check_eq "$(log_cursors)" '%2A 200 AoJ%2Bpage%2F1%3D%3D 200 AoJ%2Bpage%2F2%3D%3D 200 AoJ%2Bpage%2F3%3D%3D 200 ' \
    "cursor=* then each next-cursor, URL-encoded, until the short page"
check_contains "$(head -1 "$T/replay.log")" "mailto=ops%40example.org" "mailto= sent (polite pool)"
check_contains "$(head -1 "$T/replay.log")" "rows=2" "rows = page_size"
check_contains "$(head -1 "$T/replay.log")" "$(enc "$FILTER")" "filter, prefix options ANDed in one filter"
since=$(Q "SELECT value FROM source_state WHERE key = 'since'" 2>/dev/null)
check_eq "$since" "$(date -u +%F)" "since checkpoint: the day the listing started"
check_eq "$(Q "SELECT count(*) FROM source_state WHERE key IN ('resume', 'listing_started') AND value IS NOT NULL")" 0 "no resume checkpoint after a complete listing"
echo "full harvest: 7 works in $(( (t1 - t0) / 1000000 )) ms"

# ---- the crosswalk, in the store and through the PaN API ------------------
pub() { Q "SELECT $2 FROM publication WHERE pid = '$1'"; }
check_eq "$(pub 10.1109/tasc.2017.2776938 "journal || '|' || year || '|' || type || '|' || doi")" \
    "IEEE Transactions on Applied Superconductivity|2018|journal-article|10.1109/tasc.2017.2776938" "journal, year, type, doi"
check_eq "$(pub 10.1155/2018/3804742 "journal || '|' || year || '|' || license")" \
    "Abstract and Applied Analysis|2018|http://creativecommons.org/licenses/by/4.0/" "journal, year and licence (expected.yml)"
check_eq "$(pub 10.1103/physrevb.33.3547.2 "journal || '|' || year")" "Physical Review B|1986" "erratum: journal and year"
check_eq "$(pub 10.1103/physrevb.33.3547.2 "volume || '|' || pages || '|' || citation_count")" "33|3547-3548|1" "volume, pages and times cited (is-referenced-by-count)"
check_eq "$(pub 10.1103/physrevb.33.3547.2 "title || '|' || abstract")" \
    "$(jq -rn '"Erratum: Polaronic behavior of electrons on a liquid-helium film: With italics|H2O & D2O at 10\u2009K, a < b Second."')" \
    "subtitle joined to the title; JATS title dropped, tags removed, entities decoded"
check_eq "$(pub 10.1016/s1463-4988\(99\)00060-3 "journal || '|' || year")" "Aquatic Ecosystem Health and Management|2000" "year 2000 (expected.yml)"
check_eq "$(pub 10.1017/9781316535783.011 "coalesce(year, 'none') || '|' || type")" "none|book-chapter" "empty issued: no year (expected.yml year: empty)"
cites() { Q "SELECT count(*) FROM link l JOIN publication p ON l.src_kind = 9 AND l.src_id = p.id WHERE p.pid = '$1' AND l.type = '${2:-cites}'"; }
check_eq "$(cites 10.1155/2018/3804742)" 22 "22 references with a DOI become cites links (expected.yml)"
check_eq "$(cites 10.1016/s1463-4988\(99\)00060-3)" 16 "16 cites links (expected.yml)"
want=$(jq '[.[5].reference[]?.DOI // empty] | unique | length' "$T/works.json")
check_eq "$(cites 10.1103/physrevd.93.016005)" "$want" "every distinct reference DOI of the APS record"
check_eq "$(Q "SELECT dst_kind || ' ' || dst_ref FROM link WHERE type = 'cites' AND dst_ref = '10.1007/bf01210689'")" \
    "9 10.1007/bf01210689" "a cited DOI is a publication, as given"
check_eq "$(cites 10.1103/physrevb.33.3547.2 is-supplemented-by)" 1 "relation{} key becomes the link type"
check_eq "$(cites 10.1103/physrevb.33.3547.2 publication-cites-data)" 1 "a facility data DOI also gets publication-cites-data"
check_eq "$(Q "SELECT dst_kind FROM link WHERE type = 'publication-cites-data'")" 4 "its target is a dataset"
check_eq "$(cites 10.1103/physrevb.33.3547.2 has-preprint)" 0 "relations without a DOI are not links"

P index >/dev/null
start_serve "$T/pansift.ini"
inc='{"include":[{"relation":"members","scope":{"include":[{"relation":"person"},{"relation":"affiliation"}]}}]}'
get "$SERVE_URL/api/Documents/$(enc 10.1109/tasc.2017.2776938)?filter=$(enc "$inc")"
check_eq "$STATUS" 200 "the work is served by the PaN API"
check_eq "$(jq -r '.title' "$T/body")" "Quench Protection Heater Study With the 2-m Model Magnet of Beam Separation Dipole for the HL-LHC Upgrade" "title"
check_eq "$(jq -r '.type + "|" + .doi + "|" + .releaseDate' "$T/body")" "journal-article|10.1109/tasc.2017.2776938|2018-04-01T00:00:00.000Z" "type, doi, release date (2018-04)"
check_eq "$(jq '.members | length' "$T/body")" 15 "15 authors"
check_eq "$(jq -r '[.members[].person.fullName] | join("|")' "$T/body")" \
    "$(sed -n 's/^[- ] full_name: //p' "$CORPUS/tasc.2017.2776938_expected.yml" | paste -sd'|')" \
    "authors in order (expected.yml)"
check_eq "$(jq -r '[.members[] | .person.orcid // "-"] | join(" ")' "$T/body")" \
    "0000-0002-4869-9338 0000-0001-9577-2385 - - - - - - - - - - - 0000-0002-1688-7561 0000-0001-5518-4191" "ORCIDs where given (expected.yml)"
check_eq "$(jq -r '.members[0].person.id + "|" + .members[0].role + "|" + .members[0].person.lastName' "$T/body")" \
    "https://orcid.org/0000-0002-4869-9338|author|Suzuki" "person pid is the ORCID IRI, role author"
check_eq "$(jq -r '.keywords | join("|")' "$T/body")" "Electrical and Electronic Engineering|Electronic, Optical and Magnetic Materials|Condensed Matter Physics" "subjects are keywords"
get "$SERVE_URL/api/Documents/$(enc 10.1155/2018/3804742)?filter=$(enc "$inc")"
check_eq "$(jq -r '.summary' "$T/body" | cut -c1-60)" "We characterize the existence of (weak) Pareto optimal solut" "abstract without JATS tags"
check_eq "$(jq -r '.summary' "$T/body")" "$(jq -r '.[0].abstract' "$T/works.json" | sed 's/<[^>]*>//g')" "the whole abstract, tags removed (expected.yml)"
check_eq "$(jq -r '.summary | test("<|jats")' "$T/body")" false "no markup left in the abstract"
check_eq "$(jq -r '[.members[] | .person.fullName] | join("|")' "$T/body")" "Bevilacqua, Paolo|Bosi, Gianni|Zuanon, Magalì|Zuanon, Magalì" "authors (expected.yml), one member per affiliation"
check_eq "$(jq -r '[.members[2:][] | .affiliation.name] | join("|")' "$T/body")" "DEM, Università di Brescia, 25122 Brescia, Italy|Second affiliation" "two affiliations: two members"
check_eq "$(jq -r '.members[0].affiliation.name' "$T/body")" "DIA, Università di Trieste, 34127 Trieste, Italy" "affiliation name"
check_eq "$(jq -r '.members[1].person.orcid' "$T/body")" "0000-0002-3799-4630" "Bosi's ORCID (expected.yml)"
check_eq "$(Q "SELECT i.pid || '|' || i.ror FROM member m JOIN institution i ON i.id = m.institution_id JOIN publication p ON p.id = m.doc_id AND m.doc_kind = 9 WHERE p.pid = '10.1155/2018/3804742' AND m.position = 0")" \
    "https://ror.org/02n742c10|https://ror.org/02n742c10" "affiliation with a ROR id: the institution's pid is the ROR IRI"
check_eq "$(Q "SELECT p.pid FROM member m JOIN person p ON p.id = m.person_id JOIN publication d ON d.id = m.doc_id AND m.doc_kind = 9 WHERE d.pid = '10.1155/2018/3804742' AND m.position = 2")" \
    "crossref:10.1155/2018/3804742#author-3" "an author without ORCID gets a pid scoped to the work"
check_eq "$(Q "SELECT json_extract(raw, '$.\"is-referenced-by-count\"') || '|' || json_extract(raw, '$.funder[0].name') || '|' || json_extract(raw, '$.link[0].\"content-type\"') FROM provenance WHERE remote_id = '10.1103/physrevd.93.016005'" 2>/dev/null)" \
    "7|U.S. Department of Energy|application/pdf" "is-referenced-by-count, funder[] and the PDF link stay in the raw record"
stop_serve

# ---- an incremental run: from-index-date, nothing changes -------------------
pages incr "$T/none.json" "$since"
replay "$T/incr"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
before=$(status_json | jq -c '[.entities, .max_seq]')
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "incremental harvest ($out)"
check_contains "$out" "0 seen" "nothing changed since"
check_contains "$(cat "$T/replay.log")" "from-index-date%3A$since" "asks only for what was indexed since the last listing"
check_eq "$(wc -l < "$T/replay.log")" 1 "one request (an empty page ends the listing)"
check_eq "$(status_json | jq -c '[.entities, .max_seq]')" "$before" "store unchanged"

# A work that changed (its type) comes back in the next incremental list.
pages upd "$T/update.json" "$since"
replay "$T/upd"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "incremental harvest with an update ($out)"
check_contains "$out" "1 seen, 0 new, 1 updated" "the changed work is updated"
check_eq "$(pub 10.1103/physrevd.93.016005 type)" "something-unknown" "its new type is stored"
check_eq "$(status_json | jq '.entities.publication')" 6 "still six publications"
check_eq "$(status_json | jq '.entities.publication')" 6 "nothing swept by an incremental run"

# ---- a fault mid-listing, then a rerun resumes from the cursor ------------
replay "$T/full" --fault 3-9:500
config "$T/data2"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "a page that keeps failing fails the run ($out)"
check_contains "$out" "HTTP 500" "the message says why"
check_eq "$(sqlite3 "$T/data2/store.db" "SELECT value FROM source_state WHERE key = 'resume'")" "AoJ+page/2==" "resume checkpoint: the cursor of the failed page"
check_eq "$(sqlite3 "$T/data2/store.db" "SELECT count(*) FROM publication")" 3 "the first two pages are kept (three works and the malformed one)"
replay "$T/full"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "rerun ($out)"
check_eq "$(log_cursors)" 'AoJ%2Bpage%2F2%3D%3D 200 AoJ%2Bpage%2F3%3D%3D 200 ' "the rerun resumes from the checkpointed cursor"
check_contains "$out" "3 seen, 3 new" "only the rest is fetched"
check_eq "$(sqlite3 "$T/data2/store.db" "SELECT sum(seen) FROM harvest_run")" 7 "every work seen once over both runs"
dump() { sqlite3 "$1" "SELECT pid, title, journal, year, type, license FROM publication ORDER BY pid; SELECT type, dst_ref FROM link ORDER BY 1, 2"; }
check_eq "$(dump "$T/data2/store.db" | md5sum)" "$(dump "$T/data/store.db" | sed 's/something-unknown/journal-article/' | md5sum)" \
    "the resumed harvest has exactly the records of an uninterrupted one"

# ---- a stale cursor: Crossref forgot it (404), the listing restarts --------
replay "$T/full" --fault 3-9:500
config "$T/data3"
P init >/dev/null
P harvest >/dev/null 2>&1
mkdir -p "$T/stale"
# The cursor's first request gets a 404 (a.json), the next one its page
# (b.json: exchanges matching one request are served in sequence).
jq -n --arg q "$(query)" '[{method: "GET", path: "/works?\($q)&cursor=\("AoJ+page/2==" | @uri)", status: 404,
    headers: {"Content-Type": "text/plain"}, body: "Resource not found."}]' > "$T/stale/a.json"
cp "$T/full/works.json" "$T/stale/b.json"
replay "$T/stale"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "stale cursor: the harvest restarts and completes ($out)"
check_contains "$out" "cursor refused (HTTP 404): listing restarted" "stale cursor: the message says so"
check_eq "$(log_cursors)" 'AoJ%2Bpage%2F2%3D%3D 404 %2A 200 AoJ%2Bpage%2F1%3D%3D 200 AoJ%2Bpage%2F2%3D%3D 200 AoJ%2Bpage%2F3%3D%3D 200 ' \
    "stale cursor: 404, then from cursor=*"
check_eq "$(sqlite3 "$T/data3/store.db" "SELECT count(*) FROM publication")" 6 "stale cursor: all six works"

# ---- 429 with a long Retry-After (capped), then 200 -------------------------
mkdir -p "$T/busy"
jq '[.[0] | .status = 429 | .headers = {"Retry-After": "3600", "Content-Type": "text/plain"} | .body = "Too Many Requests"] + .' \
    "$T/full/works.json" > "$T/busy/works.json"
replay "$T/busy" --retry-after-max 1
config "$T/data4"
P init >/dev/null
t0=$(date +%s%N)
out=$(P harvest 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "$rc" 0 "429 then 200 ($out)"
check_eq "$(log_cursors | cut -d' ' -f1-4)" "%2A 429 %2A 200" "the first page is asked again after the 429"
check test "$ms" -ge 900 -a "$ms" -lt 20000 -- "Retry-After (capped to 1 s by the server) was waited for (${ms} ms)"
check_eq "$(sqlite3 "$T/data4/store.db" "SELECT count(*) FROM publication")" 6 "429: nothing lost"

# ---- X-Rate-Limit-Limit: 2 per 1s spaces the requests >= 500 ms apart -------
pages slow "$T/works.json" "" 2
replay "$T/slow"
config "$T/data5"
P init >/dev/null
t0=$(date +%s%N)
out=$(P harvest 2>&1); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check_eq "$rc" 0 "rate-limited harvest ($out)"
check_eq "$(wc -l < "$T/replay.log")" 4 "four pages"
check test "$ms" -ge 1500 -- "four requests at 2 per second take >= 1.5 s (${ms} ms)"

# ---- a broken JSON page fails the run; the rerun finishes it ---------------
replay "$T/full" --fault 2:garbage
config "$T/data6"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "broken JSON page: exit 4 ($out)"
check_contains "$out" "not JSON" "broken JSON page: the message says what is wrong"
check_eq "$(sqlite3 "$T/data6/store.db" "SELECT count(*) FROM publication")" 2 "broken JSON page: the first page is kept"
replay "$T/full"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "broken JSON page: rerun ($out)"
check_eq "$(sqlite3 "$T/data6/store.db" "SELECT count(*) FROM publication")" 6 "broken JSON page: all six works after the rerun"

# ---- a refused filter: Crossref's 400 message is passed on -----------------
mkdir -p "$T/bad"
jq -n --arg q "$(query)" '[{method: "GET", path: "/works?\($q)&cursor=%2A", status: 400,
    body: {status: "failed", "message-type": "validation-failure",
           message: [{type: "filter-not-available", value: "from-pub-date",
                      message: "Filter from-pub-date specified but there is no such filter for this route."}]}}]' > "$T/bad/works.json"
replay "$T/bad"
config "$T/data7"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "bad filter: exit 4"
check_contains "$out" "no such filter for this route" "bad filter: Crossref's message is shown"

# ---- a server that ignores the cursor: the repeated page is an error -------
mkdir -p "$T/stuck"
jq '[.[0], (.[0] | .path = "\(.path | sub("cursor=.*"; ""))cursor=\("AoJ+page/1==" | @uri)")]' "$T/full/works.json" > "$T/stuck/works.json"
replay "$T/stuck"
config "$T/data8"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "repeated page: exit 4 ($out)"
check_contains "$out" "repeats the page before it" "repeated page: the message says so"
check_eq "$(wc -l < "$T/replay.log")" 2 "repeated page: not asked forever"
finish
