#!/usr/bin/env bash
# analytics: the facet counts of GET /api/search and the analytics endpoints
# (/api/analytics/breakdown, country-pairs, instrument, facility) on the
# sample catalogue, checked against numbers computed independently from the
# store with sqlite3; browsing without words (answered from the facet
# tables' bitmaps) against the same search through Xapian's matcher; the
# browse orders; and every bad parameter a 400 that says what is wrong.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 400 --quiet
# Extension members with values that make no sense: the records stay, the
# values are dropped (docs/harvesting.md).
jq -c '. + [{"pid":"bad/prop","type":"proposal","isPublic":true,"title":"Bad status",
             "status":"maybe","code":42},
            {"pid":"bad/pub","type":"publication","isPublic":true,"title":"Bad numbers",
             "journal":["not","text"],"citationCount":-5},
            {"pid":"bad/pub2","type":"publication","isPublic":true,"title":"Text count",
             "citationCount":"many","status":"accepted"}]' "$T/cat/Documents.json" >"$T/docs.json"
mv "$T/docs.json" "$T/cat/Documents.json"
write_config "$T/pansift.ini" "$T/data" "[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"
S="$SERVE_URL/api/search"
A="$SERVE_URL/api/analytics"
search() { get "$S" -G -D "$T/headers" "$@"; }
an() { local what=$1; shift; get "$A/$what" -G "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }
# Rows as "value<TAB>count", sorted, from an answer's array at jq path $1.
rows() { jq -r "$1 | .[] | \"\\(.value)\\t\\(.count)\"" "$T/body" | sort; }
sqlrows() { Q -separator $'\t' "$1" | sort; }
# check_rows ACTUAL EXPECTED MESSAGE: equal, and not both empty.
check_rows() {
    check test "$(printf '%s' "$2" | grep -c .)" -gt 1 -- "$3: the store has rows"
    check_eq "$1" "$2" "$3"
}

check_eq "$(Q "select count(*) || ':' || count(status) || ':' || count(code) from proposal where pid = 'bad/prop'")" \
    "1:0:0" "a proposal with a status not in the list and a numeric code: kept, both dropped"
check_eq "$(Q "select count(*) || ':' || count(journal) || ':' || count(citation_count) from publication
               where pid in ('bad/pub', 'bad/pub2')")" \
    "2:0:0" "publications with a non-text journal and a negative or text citation count: kept, dropped"

# ---- facets of a browse (no q): every record the public may see ---------
search --data limit=0 --data facet_limit=100
check_eq "$STATUS" 200 "a browse answers"
for k in dataset:dataset proposal:proposal publication:publication instrument:instrument; do
    table=${k%%:*}
    check_eq "$(jq "[.facets.type[] | select(.value == \"${k#*:}\") | .count] | add // 0" "$T/body")" \
        "$(Q "select count(*) from $table where visibility = 0 and deleted = 0")" \
        "type facet: $table"
done
check_eq "$(jq .count "$T/body")" "$(jq '[.facets.type[].count] | add' "$T/body")" \
    "the type facet adds up to the count"

# Datasets per facility and per year, as the store has them.
search --data type=dataset --data limit=0 --data facet_limit=100
check_rows "$(rows .facets.facility)" "$(sqlrows "select f.name, count(*) from dataset d
    join instrument i on i.id = d.instrument_id join facility f on f.id = i.facility_id
    where d.visibility = 0 and d.deleted = 0 group by 1")" "facility facet of datasets"
Y="strftime('%Y', created / 1000, 'unixepoch')"
check_rows "$(rows .facets.year)" "$(sqlrows "select $Y, count(*) from dataset
    where visibility = 0 and deleted = 0 and created is not null group by 1")" \
    "year facet of datasets"
check_rows "$(rows .facets.instrument)" "$(sqlrows "select instrument_pid, count(*) from dataset
    where visibility = 0 and deleted = 0 and instrument_pid is not null group by 1")" \
    "instrument facet of datasets"

# Authors of publications: the commonest, against the store's members.
search --data type=publication --data limit=0 --data facets=author --data facet_limit=5
top=$(jq -r '.facets.author[0].value' "$T/body")
check_eq "$(jq '.facets.author[0].count' "$T/body")" \
    "$(Q "select count(distinct m.doc_id) from member m join person p on p.id = m.person_id
          join publication u on u.id = m.doc_id and m.doc_kind = 9
          where p.pid = '$top' and u.visibility = 0 and u.deleted = 0")" \
    "the top author's publications"
check_eq "$(jq -r '.facets.author[0].label' "$T/body")" \
    "$(Q "select full_name from person where pid = '$top'")" "an author's label is the name"
check_eq "$(jq '.facets | keys' -c "$T/body")" '["author"]' "facets= picks facets"
search --data limit=0 --data facets=institution --data facet_limit=1
inst=$(jq -r '.facets.institution[0].value' "$T/body")
check_eq "$(jq -r '.facets.institution[0].country' "$T/body")" \
    "$(Q "select country from institution where pid = '$inst'")" "an institution's own country"
search --data facets=none --data limit=0
check_eq "$(jq 'has("facets")' "$T/body")" false "facets=none leaves them out"

# ---- browsing (bitmaps) and searching (Xapian) agree ---------------------
# "run" is in every sample dataset's title: q=run and no q are the same set.
ipid=$(Q "select instrument_pid from dataset where visibility = 0 group by 1
          order by count(*) desc limit 1")
country=$(Q "select i.country from member m join institution i on i.id = m.institution_id
             group by 1 order by count(*) desc limit 1")
for f in "facility=ILL" "instrument=$ipid" "technique=diffraction" \
         "year_from=2015&year_to=2018" "facility=ill&facility=ESRF"; do
    IFS='&' read -ra kv <<<"$f"
    args=(); for x in "${kv[@]}"; do args+=(--data-urlencode "$x"); done
    search --data type=dataset --data limit=0 --data facets=facility "${args[@]}"
    browse=$(jq -c '[.count, .facets]' "$T/body")
    search --data q=run --data type=dataset --data limit=0 --data facets=facility "${args[@]}"
    check_eq "$browse" "$(jq -c '[.count, .facets]' "$T/body")" "browse = search for $f"
done
search --data-urlencode "country=$country" --data limit=0 --data facets=type
browse=$(jq -c '[.count, .facets]' "$T/body")
search --data q=a --data limit=0 --data facets=type --data-urlencode "country=$country"
words=$(jq .count "$T/body")
check test "$words" -le "$(jq '.[0]' <<<"$browse")" -- "country: a search within the browse"
check_eq "$(jq '.[0]' <<<"$browse")" \
    "$(Q "select count(*) from (select distinct m.doc_kind, m.doc_id from member m
          join institution i on i.id = m.institution_id
          left join proposal p on m.doc_kind = 3 and p.id = m.doc_id
          left join publication u on m.doc_kind = 9 and u.id = m.doc_id
          where i.country = '$country' and coalesce(p.visibility, u.visibility) = 0
          and coalesce(p.deleted, u.deleted) = 0)")" "country= browse against the store"

# ---- browse orders -------------------------------------------------------
search --data type=dataset --data limit=50
check_eq "$(jq '[.results[].created] | . == (sort | reverse)' "$T/body")" true "browse: newest first"
search --data type=dataset --data limit=50 --data sort=-date
check_eq "$(jq '[.results[].created] | . == sort' "$T/body")" true "sort=-date: oldest first"
search --data type=publication --data limit=20 --data sort=citations
check_eq "$(jq '[.results[].citations] | . == (sort | reverse)' "$T/body")" true \
    "sort=citations: most cited first"
check_eq "$(jq '.results[0].citations' "$T/body")" \
    "$(Q "select max(citation_count) from publication where visibility = 0")" "the most cited first"
search --data type=dataset --data limit=5 --data skip=5
p2=$(jq -c '[.results[].pid]' "$T/body")
search --data type=dataset --data limit=10
check_eq "$(jq -c '[.results[5:][].pid]' "$T/body")" "$p2" "browse paging"

# ---- breakdown -------------------------------------------------------------
an breakdown --data by=year --data type=dataset
check_eq "$STATUS" 200 "breakdown answers"
check_eq "$(jq -r '.rows[] | select(.count > 0) | "\(.value)\t\(.count)"' "$T/body" | sort)" \
    "$(sqlrows "select $Y, count(*) from dataset where visibility = 0 and deleted = 0
        and created is not null group by 1")" "breakdown by year = the store's"
check_eq "$(jq '[.rows[].value | tonumber] | . == [range(.[0]; .[-1] + 1)]' "$T/body")" true \
    "years come as a continuous range"
an breakdown --data by=instrument --data type=dataset --data metric=volume --data limit=1000
check_rows "$(rows .rows)" "$(sqlrows "select instrument_pid, sum(size) from dataset
    where visibility = 0 and deleted = 0 and size is not null group by 1")" \
    "data volume per instrument = the store's sums"
check_eq "$(jq .total "$T/body")" \
    "$(Q "select sum(size) from dataset where visibility = 0 and deleted = 0")" "volume total"
an breakdown --data by=year --data type=publication --data metric=citations
check_eq "$(jq .total "$T/body")" \
    "$(Q "select sum(citation_count) from publication where visibility = 0 and deleted = 0")" \
    "citations total"
an breakdown --data by=journal --data type=publication --data limit=100
check_rows "$(rows .rows)" "$(sqlrows "select journal, count(*) from publication
    where visibility = 0 and deleted = 0 and journal is not null group by 1")" "publications by journal"
an breakdown --data by=institution --data limit=3
check_eq "$(jq -r '.rows[0].country' "$T/body")" \
    "$(Q "select country from institution where pid = '$(jq -r '.rows[0].value' "$T/body")'")" \
    "breakdown rows of institutions carry their country"
an breakdown --data by=year --data split=type
check_eq "$(jq '[.rows[] | .count == ([.split[].count] | add // 0)] | all' "$T/body")" true \
    "a split adds up to its row (one kind per record)"
an breakdown --data by=facility --data type=dataset --data-urlencode 'q=run' --data facility=ILL
check_eq "$(jq -c '[.rows[].value]' "$T/body")" '["ILL"]' "breakdown takes the search's filters"

# ---- country pairs ---------------------------------------------------------
DC="with dc as (select distinct m.doc_kind k, m.doc_id d, i.country c from member m
      join institution i on i.id = m.institution_id
      left join proposal p on m.doc_kind = 3 and p.id = m.doc_id
      left join publication u on m.doc_kind = 9 and u.id = m.doc_id
      where i.country is not null and coalesce(p.visibility, u.visibility) = 0
      and coalesce(p.deleted, u.deleted) = 0)"
an country-pairs --data limit=1000
check_rows "$(jq -r '.pairs[] | "\(.a)\t\(.b)\t\(.count)"' "$T/body" | sort)" \
    "$(Q -separator $'\t' "$DC select a.c, b.c, count(*) from dc a join dc b on a.k = b.k
        and a.d = b.d and a.c < b.c group by 1, 2" | sort)" "country pairs = the store's"
check_eq "$(jq .documents "$T/body")" \
    "$(Q "$DC select count(*) from (select k, d from dc group by 1, 2 having count(*) > 1)")" \
    "multi-country documents"

# ---- instrument and facility ----------------------------------------------
an instrument --data-urlencode "pid=$ipid"
check_eq "$STATUS" 200 "instrument answers"
check_eq "$(jq .totals.datasets "$T/body")" \
    "$(Q "select count(*) from dataset where visibility = 0 and deleted = 0 and instrument_pid = '$ipid'")" \
    "instrument: datasets"
check_eq "$(jq .totals.volume "$T/body")" \
    "$(Q "select sum(size) from dataset where visibility = 0 and deleted = 0 and instrument_pid = '$ipid'")" \
    "instrument: volume"
check_eq "$(jq .totals.proposals "$T/body")" \
    "$(Q "select count(distinct p.id) from proposal p join link l on l.type = 'dataset-of-proposal'
          and l.dst_kind = 3 and l.dst_id = p.id join dataset d on d.id = l.src_id
          where d.instrument_pid = '$ipid' and p.visibility = 0 and d.deleted = 0")" \
    "instrument: proposals with its data"
check_eq "$(jq .totals.accepted "$T/body")" "$(jq .totals.proposals "$T/body")" \
    "instrument: the sample's proposals are accepted"
check test "$(jq .totals.publications "$T/body")" -gt 0 -- "instrument: it has publications"
check_eq "$(jq .totals.publications "$T/body")" \
    "$(Q "select count(distinct u.id) from publication u join link l on l.src_kind = 9
          and l.src_id = u.id and l.type = 'publication-cites-data' join dataset d on
          d.id = l.dst_id where d.instrument_pid = '$ipid' and u.visibility = 0")" \
    "instrument: publications citing its data"
check_eq "$(jq -r '.names[0].name' "$T/body")" \
    "$(Q "select name from instrument where pid = '$ipid'")" "instrument: its name"
fac=$(Q "select f.name from instrument i join facility f on f.id = i.facility_id where i.pid = '$ipid'")
an facility --data-urlencode "name=$fac"
check_eq "$(jq '.instruments | length' "$T/body")" \
    "$(Q "select count(*) from instrument i join facility f on f.id = i.facility_id
          where f.name = '$fac' and i.deleted = 0")" "facility: its instruments"
check_eq "$(jq --arg p "$ipid" '.instruments[] | select(.pid == $p) | .datasets' "$T/body")" \
    "$(Q "select count(*) from dataset where visibility = 0 and deleted = 0 and instrument_pid = '$ipid'")" \
    "facility: an instrument's datasets"

# ---- collection=: a search and its charts over a collection ----------------
cpid=$(curl -s -X POST "$SERVE_URL/api/collections" -H 'Content-Type: application/json' \
    -d '{"name":"analytics test"}' | jq -r .pid)
search --data type=dataset --data facility=ILL --data limit=7 --data facets=none
items=$(jq -c '{items: [.results[] | {type: .kind, pid}]}' "$T/body")
curl -s -X POST "$SERVE_URL/api/collections/$cpid/items" -H 'Content-Type: application/json' \
    -d "$items" >/dev/null
search --data "collection=$cpid" --data limit=100 --data facets=facility
check_eq "$(jq -c '[.results[].pid] | sort' "$T/body")" "$(jq -c '[.items[].pid] | sort' <<<"$items")" \
    "collection=: its members"
check_eq "$(jq -c .facets.facility "$T/body")" '[{"value":"ILL","label":"ILL","count":7}]' \
    "collection=: its facets"
search --data "collection=$cpid" --data q=run --data limit=0
check_eq "$(jq .count "$T/body")" 7 "collection= with words"
an breakdown --data by=facility --data "collection=$cpid"
check_eq "$(jq -c '[.rows[] | [.value, .count]]' "$T/body")" '[["ILL",7]]' "a collection's chart"
search --data collection=c-000000000000
check_eq "$STATUS" 404 "an unknown collection is a 404"

# ---- format=: the result set as a file -------------------------------------
search --data type=publication --data format=csv --data limit=5
check_eq "$STATUS" 200 "csv export"
check_eq "$(grep -ci '^content-type: text/csv' "$T/headers")" 1 "csv content type"
check_eq "$(grep -ci '^content-disposition: attachment' "$T/headers")" 1 "an export is a download"
check_eq "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1])))))' "$T/body")" 6 \
    "csv: a header row and 5 records"
search --data type=publication --data format=bibtex --data limit=5
check_eq "$(grep -c '^@' "$T/body")" 5 "bibtex: 5 entries"
search --data type=publication --data format=ris --data limit=5
check_eq "$(grep -c '^ER  -' "$T/body")" 5 "ris: 5 records"
search --data type=publication --data format=json --data limit=5 --data sort=citations
check_eq "$(jq -c '[.[].citations]' "$T/body")" \
    "$(Q "select json_group_array(c) from (select citation_count c from publication
          where visibility = 0 order by c desc limit 5)")" "json export: in the search's order"
search --data type=dataset --data format=csv
check_eq "$(($(wc -l <"$T/body") - 1))" "$(Q "select min(1000, count(*)) from dataset where visibility = 0")" \
    "an export's default: 1000 records"

# ---- 400s and 404s ---------------------------------------------------------
bad() { # bad STATUS MESSAGE-PART ENDPOINT CURL-ARGS...
    local status=$1 want=$2 what=$3; shift 3
    an "$what" "$@"
    check_eq "$STATUS" "$status" "$status for $what $*"
    check_contains "$(jq -r .error.message "$T/body")" "$want" "message for $what $*"
}
bad 400 "by is required" breakdown
bad 400 'is not one of year' breakdown --data by=colour
bad 400 'is not one of year' breakdown --data by=year --data split=shape
bad 400 "metric must be" breakdown --data by=year --data metric=mass
bad 400 "limit must be" breakdown --data by=year --data limit=0
bad 400 "limit must be" country-pairs --data limit=5000
bad 400 "AND must come between two terms" breakdown --data by=year --data-urlencode 'q=neutron AND'
bad 400 "year_from must be a year" breakdown --data by=year --data year_from=soon
bad 400 "pid is required" instrument
bad 404 "no instrument" instrument --data pid=nowhere:X
bad 400 "name is required" facility
bad 404 "no facility" facility --data name=Atlantis
search --data format=xls
check_eq "$STATUS" 400 "format=xls is a 400"
search --data format=csv --data limit=10001
check_eq "$STATUS" 400 "an export of more than 10,000 is a 400"
stop_serve
finish
