#!/usr/bin/env bash
# collections: the collections API on the sample catalogue, without an
# admin token (writes open to all, as a single-user install has them):
# create (201, Location, a generated url-safe pid, UTF-8 names) and every
# malformed body (400 with a JSON error), list, read with items and their
# titles (paged), add records by type and pid (duplicates counted once,
# unknown and restricted pids reported, the per-request ceiling a 413),
# remove them, delete (204, then 404), and collections surviving a restart.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "jq missing"; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 1; }

"$GENCAT" --out "$T/cat" --datasets 200 --seed 5 --quiet
write_config "$T/pansift.ini" "$T/data" "[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"
C="$SERVE_URL/api/collections"

send() { # send METHOD URL [BODY]: status in STATUS, headers in $T/headers
    local args=(-s -D "$T/headers" -o "$T/body" -w '%{http_code}' -X "$1" "$2")
    if [ $# -ge 3 ]; then
        # Through a file: some bodies are too long for an argument.
        printf '%s' "$3" > "$T/request"
        args+=(-H 'Content-Type: application/json' --data-binary "@$T/request")
    fi
    STATUS=$(curl "${args[@]}")
}

# ---- creating --------------------------------------------------------------
get "$C"
check_eq "$STATUS" 200 "GET /api/collections"
check_eq "$(jq -c . "$T/body")" '{"results":[]}' "none yet"
send POST "$C" '{"name":"Spin ice ❄ Sammlung","description":"For the\nannual report"}'
check_eq "$STATUS" 201 "create: 201"
pid=$(jq -r .pid "$T/body")
check_eq "$(grep -c '^c-[0-9a-f]\{12\}$' <<<"$pid")" 1 "a generated url-safe pid ($pid)"
check_contains "$(cat "$T/headers")" "Location: /api/collections/$pid" "Location"
check_eq "$(jq -r .name "$T/body")" "Spin ice ❄ Sammlung" "the name, UTF-8"
check_eq "$(jq -r .description "$T/body")" "For the
annual report" "the description"
check_eq "$(jq .count "$T/body")" 0 "empty"
check_eq "$(jq -r '.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z$")' "$T/body")" true "created_at"

bad() { # bad STATUS MESSAGE-PART METHOD URL BODY
    send "$3" "$4" "$5"
    check_eq "$STATUS" "$1" "$1 for $3 ${4#"$SERVE_URL"} ${5:0:60}"
    check_contains "$(jq -r .error.message "$T/body")" "$2" "message for ${5:0:60}"
}
bad 400 "needs a JSON object" POST "$C" ''
bad 400 "not JSON" POST "$C" '{"name":'
bad 400 "must be a JSON object" POST "$C" '"a name"'
bad 400 "needs a name" POST "$C" '{"description":"x"}'
bad 400 "needs a name" POST "$C" '{"name":7}'
bad 400 "needs a name" POST "$C" '{"name":""}'
bad 400 "must not be blank" POST "$C" '{"name":"   "}'
bad 400 "no control characters" POST "$C" '{"name":"a\tb"}'
bad 400 "at most 200 bytes" POST "$C" "{\"name\":\"$(printf 'é%.0s' $(seq 101))\"}"
bad 400 "at most 4000 bytes" POST "$C" "{\"name\":\"n\",\"description\":\"$(head -c 4001 /dev/zero | tr '\0' d)\"}"
bad 400 "description is a string" POST "$C" '{"name":"n","description":[]}'
bad 400 'unknown member "owner"' POST "$C" '{"name":"n","owner":"me"}'
bad 400 "not JSON" POST "$C" '{"name":"a","name":"b"}'
check_eq "$(Q "SELECT count(*) FROM collection")" 1 "bad requests create nothing"
send POST "$C" "{\"name\":\"$(printf 'é%.0s' $(seq 100))\"}"
check_eq "$STATUS" 201 "a name of 200 bytes"
other=$(jq -r .pid "$T/body")

# ---- items -------------------------------------------------------------------
read -r pub1 pub2 < <(Q "SELECT pid FROM publication WHERE visibility = 0 ORDER BY pid LIMIT 2" | paste -sd' ')
ds=$(Q "SELECT pid FROM dataset WHERE visibility = 0 ORDER BY pid LIMIT 1")
ins=$(Q "SELECT pid FROM instrument ORDER BY pid LIMIT 1")
secret=$(Q "SELECT pid FROM proposal WHERE visibility = 2 LIMIT 1")
check test -n "$secret" -- "the sample has a restricted proposal"
items=$(jq -cn --arg p1 "$pub1" --arg p2 "$pub2" --arg d "$ds" --arg i "$ins" --arg s "$secret" \
  '{items: [{type: "publication", pid: $p1, note: "the key paper"},
    {type: "publication", pid: $p2, title: "extra members are ignored"},
    {type: "dataset", pid: $d}, {type: "instrument", pid: $i},
    {type: "publication", pid: $p1}, {type: "dataset", pid: "no/such"},
    {type: "dataset", pid: "no/such"}, {type: "proposal", pid: $s},
    {type: "proposal", pid: $p2}]}')
send POST "$C/$pid/items" "$items"
check_eq "$STATUS" 200 "add items"
check_eq "$(jq -c '[.added, .already, .count]' "$T/body")" "[4,1,4]" "added, already, count"
check_eq "$(jq -c '.unknown' "$T/body")" "$(jq -cn --arg s "$secret" --arg p "$pub2" '[$p, $s, "no/such"] | sort')" \
    "unknown pids, each once (a restricted one, a wrong type, none)"
send POST "$C/$pid/items" "$items"
check_eq "$(jq -c '[.added, .already, .count]' "$T/body")" "[0,5,4]" "all there already"

get "$C/$pid"
check_eq "$STATUS" 200 "GET a collection"
check_eq "$(jq .count "$T/body")" 4 "count"
check_eq "$(jq -r '[.items[] | .type + ":" + .pid] | join(" ")' "$T/body")" \
    "instrument:$ins dataset:$ds publication:$pub1 publication:$pub2" "the items"
check_eq "$(jq -r --arg p "$pub1" '.items[] | select(.pid == $p) | .title' "$T/body")" \
    "$(Q "SELECT title FROM publication WHERE pid = '$pub1'")" "an item's title"
check_eq "$(jq -r --arg i "$ins" '.items[] | select(.pid == $i) | .title' "$T/body")" \
    "$(Q "SELECT name FROM instrument WHERE pid = '$ins'")" "an instrument's name as its title"
check_eq "$(jq -r --arg p "$pub1" '.items[] | select(.pid == $p) | .note' "$T/body")" \
    "the key paper" "a note"
get "$C/$pid?limit=2&skip=1"
check_eq "$(jq -r '[.items[].pid] | join(" ")' "$T/body")" "$ds $pub1" "a page of items"
get "$C/$pid?limit=0"
check_eq "$STATUS" 400 "limit=0: 400"
get "$C/c-000000000000"
check_eq "$STATUS" 404 "an unknown collection: 404"
check_eq "$(jq .error.statusCode "$T/body")" 404 "404 is JSON"
get "$C"
check_eq "$(jq -r '.results[0].pid' "$T/body")" "$pid" "the list: the last changed first"
check_eq "$(jq -r --arg p "$pid" '.results[] | select(.pid == $p) | .count' "$T/body")" 4 \
    "the list's count"

bad 400 "items is an array" POST "$C/$pid/items" '{"items":{}}'
bad 400 'unknown member "item"' POST "$C/$pid/items" '{"item":[]}'
bad 400 "items[0].type is publication, proposal, dataset or instrument, not \"person\"" \
    POST "$C/$pid/items" '{"items":[{"type":"person","pid":"x"}]}'
bad 400 "items[1].pid is a record's pid" POST "$C/$pid/items" \
    "{\"items\":[{\"type\":\"dataset\",\"pid\":\"$ds\"},{\"type\":\"dataset\"}]}"
bad 400 "items[0] is not an object" POST "$C/$pid/items" '{"items":["x"]}'
bad 400 "items[0].note is a string" POST "$C/$pid/items" \
    "{\"items\":[{\"type\":\"dataset\",\"pid\":\"$ds\",\"note\":5}]}"
bad 400 "has at most 1000 bytes" POST "$C/$pid/items" \
    "{\"items\":[{\"type\":\"dataset\",\"pid\":\"$ds\",\"note\":\"$(head -c 1001 /dev/zero | tr '\0' n)\"}]}"
many=$(jq -cn '{items: [range(10001) | {type: "dataset", pid: "d\(.)"}]}')
bad 413 "at most 10000 items per request (10001 sent)" POST "$C/$pid/items" "$many"
many=$(jq -cn '{items: [range(10000) | {type: "dataset", pid: "d\(.)"}]}')
send POST "$C/$pid/items" "$many"
check_eq "$STATUS" 200 "10,000 items at once"
check_eq "$(jq '.unknown | length' "$T/body")" 10000 "... all unknown"
bad 404 "no collection" POST "$C/c-000000000000/items" "$items"

# Removing.
rm=$(jq -cn --arg d "$ds" --arg p "$pub2" --arg s "$secret" \
  '{items: [{type: "dataset", pid: $d}, {type: "dataset", pid: $d},
    {type: "publication", pid: $p}, {type: "publication", pid: "no/such"},
    {type: "proposal", pid: $s}]}')
send DELETE "$C/$pid/items" "$rm"
check_eq "$STATUS" 200 "remove items"
check_eq "$(jq -c '[.removed, .absent, .count]' "$T/body")" "[2,1,2]" "removed, absent, count"
check_eq "$(jq -c '.unknown' "$T/body")" "$(jq -cn --arg s "$secret" '["no/such", $s] | sort')" \
    "unknown on removal (a hidden record is not told apart from none)"

# ---- surviving a restart, and deleting ------------------------------------------
stop_serve
start_serve "$T/pansift.ini"
C="$SERVE_URL/api/collections"
get "$C/$pid"
check_eq "$(jq -r '[.items[].pid] | join(" ")' "$T/body")" "$ins $pub1" "kept across a restart"
send DELETE "$C/$pid"
check_eq "$STATUS" 204 "delete: 204"
check_eq "$(wc -c < "$T/body")" 0 "no body"
get "$C/$pid"
check_eq "$STATUS" 404 "deleted: 404"
send DELETE "$C/$pid"
check_eq "$STATUS" 404 "delete again: 404"
check_eq "$(Q "SELECT count(*) FROM collection_item WHERE collection_id NOT IN (SELECT id FROM collection)")" 0 \
    "its items went with it"
get "$C"
check_eq "$(jq -r '[.results[].pid] | join(" ")' "$T/body")" "$other" "one collection left"
send PUT "$C/$other"
check_eq "$STATUS" 405 "PUT: 405"
check_contains "$(cat "$T/headers")" "Allow: GET, HEAD, DELETE" "405 names GET and DELETE"
stop_serve
finish
