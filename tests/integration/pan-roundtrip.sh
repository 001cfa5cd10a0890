#!/usr/bin/env bash
# pan-roundtrip: a PaN provider configured as a source is harvested into
# the store and served back. The provider is the PaNOSC reference
# implementation, replayed from its recorded responses by a loopback
# server; pansift harvests it page by page (two records a page, so paging is
# exercised), indexes it, and must then answer every recorded request the
# way the reference did: same status, same JSON (person ids aside, which
# pansift scopes by source), and a LoopBack error body for errors.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

start_replay "$RECORDED"
write_config "$T/pansift.ini" "$T/data" "[source ess]
type = pan
url = $REPLAY_URL
page_size = 2"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }

check P init -- "init"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "harvest exits 0 ($out)"
check_contains "$out" "ess: ok" "harvest summary"
check_contains "$out" "21 seen, 21 new" "all 21 records harvested"
check grep -q 'skip%22%3A2' "$T/replay.log" -- "harvester pages with limit/skip"

# Harvesting the same source again changes nothing.
seq1=$(P status --json | jq .max_seq)
out=$(P harvest 2>&1)
check_contains "$out" "0 new, 0 updated, 21 unchanged" "re-harvest is a no-op ($out)"
seq2=$(P status --json | jq .max_seq)
check_eq "$seq2" "$seq1" "re-harvest writes no change"
check P index -- "index"
check_eq "$(P status --json | jq .index.lag)" 0 "index has no lag"

start_serve "$T/pansift.ini"
norm='walk(if type == "string" and startswith("ess:panosc-person") then .[4:] else . end)'
for rec in "$RECORDED"/*.json; do
    name=$(basename "$rec" .json)
    req=$(jq -r .request "$rec")
    path=${req#GET }
    want_status=$(jq .status "$rec")
    get "$SERVE_URL/api$path"
    check_eq "$STATUS" "$want_status" "$name: status"
    if [ "$want_status" = 200 ]; then
        want=$(jq -S "$norm" <(jq .body "$rec"))
        got=$(jq -S "$norm" "$T/body" 2>/dev/null)
        if [ "$want" != "$got" ]; then
            fail "$name: body differs"
            diff <(echo "$want") <(echo "$got") | head -20 >&2
        else
            ok
        fi
    else
        check_eq "$(jq .error.statusCode "$T/body")" "$want_status" "$name: LoopBack error body"
        check_eq "$(jq -r .error.name "$T/body")" "Error" "$name: error name"
        check_contains "$(jq -r .error.message "$T/body")" "" "$name: error message"
    fi
    check_contains "$(curl -s -g -D - -o /dev/null "$SERVE_URL/api$path")" \
        "Content-Type: application/json; charset=utf-8" "$name: content type"
done
stop_serve
finish
