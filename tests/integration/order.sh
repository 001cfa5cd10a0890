#!/usr/bin/env bash
# order: the default order (pid ascending) is exact and pages are complete,
# whatever mix of documents the index holds. After a rebuild the index
# reads documents in docid order (they were written in pid order) and
# merges them with documents written since (new records whose pids fall
# between the old ones, and a record rewritten after the rebuild). Paging
# through a filter, an inexact filter and the whole listing must give
# exactly the matching pids, sorted, each once.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 400 --seed 11 --quiet
write_config "$T/pansift.ini" "$T/data" "[source gen]
type = pan
url = file://$T/cat
[source more]
type = pan
url = file://$T/more"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null
P harvest gen >/dev/null 2>&1
check P index --rebuild -- "rebuild (documents in pid order)"

# The busiest instrument, and new public datasets on it whose pids fall
# between existing ones.
ins=$(jq -r '[.[] | .instrumentId] | group_by(.) | max_by(length) | .[0]' "$T/cat/Datasets.json")
mkdir -p "$T/more"
jq -c --arg ins "$ins" '[.[] | select(.instrumentId == $ins and .isPublic)
    | {pid: (.pid + "~new"), title: ("Later " + .title), isPublic: true,
       creationDate: .creationDate, instrumentId: .instrumentId}] | .[0:25]' \
    "$T/cat/Datasets.json" > "$T/more/Datasets.json"
echo '[]' > "$T/more/Instruments.json"
echo '[]' > "$T/more/Documents.json"
check P harvest more -- "harvest the later datasets"
# Rewrite one rebuilt record (its document loses the rebuild's mark).
first=$(jq -r --arg ins "$ins" '[.[] | select(.instrumentId == $ins and .isPublic)][3].pid' "$T/cat/Datasets.json")
jq --arg p "$first" 'map(if .pid == $p then .title = "Retitled dataset" else . end)' \
    "$T/cat/Datasets.json" > "$T/ds.json" && mv "$T/ds.json" "$T/cat/Datasets.json"
out=$(P harvest gen 2>&1)
# jq re-formatted every record; only the retitled one changed.
check_contains "$out" ", 1 updated," "a re-formatted record is not a change ($out)"
check P index -- "incremental index of the new and changed records"

start_serve "$T/pansift.ini"
expected=$( { jq -r --arg ins "$ins" '.[] | select(.instrumentId == $ins and .isPublic) | .pid' "$T/cat/Datasets.json";
              jq -r '.[].pid' "$T/more/Datasets.json"; } | LC_ALL=C sort)
n=$(echo "$expected" | wc -l)
check test "$n" -gt 30 -- "enough records to page ($n)"

page_all() { # page_all WHERE-JSON PAGE-SIZE: every pid, page by page
    local where=$1 size=$2 skip=0
    while :; do
        get "$SERVE_URL/api/Datasets" --data-urlencode \
            "filter={\"where\":$where,\"fields\":[\"pid\"],\"limit\":$size,\"skip\":$skip}" -G
        [ "$STATUS" = 200 ] || { fail "page at skip $skip: $STATUS"; return; }
        local got
        got=$(jq -r '.[].pid' "$T/body")
        [ -z "$got" ] && break
        echo "$got"
        skip=$((skip + size))
    done
}
got=$(page_all "{\"instrumentId\":\"$ins\"}" 7)
check_eq "$(echo "$got" | wc -l)" "$n" "every match once (exact filter, pages of 7)"
check_eq "$got" "$expected" "pid order across rebuilt and later documents"
got=$(page_all "{\"and\":[{\"instrumentId\":\"$ins\"},{\"title\":{\"like\":\"\"}}]}" 5)
check_eq "$got" "$expected" "same with a filter checked record by record"
get "$SERVE_URL/api/Datasets" --data-urlencode "filter={\"where\":{\"instrumentId\":\"$ins\"},\"fields\":[\"pid\"],\"limit\":3,\"skip\":10}" -G
check_eq "$(jq -r '.[].pid' "$T/body")" "$(echo "$expected" | sed -n '11,13p')" "a page in the middle"

all=$( { jq -r '.[] | select(.isPublic) | .pid' "$T/cat/Datasets.json"; jq -r '.[].pid' "$T/more/Datasets.json"; } | LC_ALL=C sort)
got=$(page_all '{"isPublic":true}' 97)
check_eq "$got" "$all" "the whole listing in pid order"
stop_serve

# Ceilings: one answer holds at most max_results records, whatever limit
# asks; a query still running at query_timeout_ms stops with a 503 that
# says how to narrow it; a backreference is refused before it runs.
write_config "$T/cap.ini" "$T/data" "max_results = 10
max_body_bytes = 0"
start_serve "$T/cap.ini" --no-indexer
curl -s -g -D "$T/headers" -o "$T/body" -G "$SERVE_URL/api/Datasets" \
    --data-urlencode 'filter={"limit":50,"fields":["pid"]}'
check_eq "$(jq length "$T/body")" 10 "limit 50 capped at max_results 10"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --data-binary 'x' "$SERVE_URL/api/Datasets")
check_eq "$STATUS" 413 "max_body_bytes 0 refuses any body"
check_contains "$(cat "$T/headers")" "X-Result-Truncated: true" "capped answer marked truncated"
get "$SERVE_URL/api/Datasets" -G --data-urlencode 'filter={"where":{"title":{"regexp":"(a)\\1"}}}'
check_eq "$STATUS" 400 "backreference refused"
check_contains "$(jq -r .error.message "$T/body")" "backreferences" "backreference: message"
stop_serve
write_config "$T/slow.ini" "$T/data" "query_timeout_ms = 1"
start_serve "$T/slow.ini" --no-indexer
get "$SERVE_URL/api/Datasets/count" -G --data-urlencode 'where={"title":{"like":"no such title"}}'
check_eq "$STATUS" 503 "a scan past the deadline is stopped"
check_contains "$(jq -r .error.message "$T/body")" "narrow it" "deadline: message"
get "$SERVE_URL/api/Datasets/count"
check_eq "$STATUS" 200 "the server answers the next query"
stop_serve
finish
