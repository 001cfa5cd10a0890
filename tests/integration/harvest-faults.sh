#!/usr/bin/env bash
# harvest-faults: a harvest that meets a 503 with Retry-After, a truncated
# body or a dropped connection retries and loses nothing; a source that
# answers garbage, errors or stalls fails with a one-line error, a non-zero
# exit and no damage to the store (nothing deleted, nothing half-written);
# a record the source no longer lists becomes a tombstone after a complete
# run; an interrupted harvest keeps what it committed. The source is the
# recorded reference provider, replayed with injected faults.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
counts() { P status --json | jq -c '[.entities.dataset, .entities.instrument, .entities.proposal, .entities.publication, .max_seq]'; }
setup() { # setup [REPLAY ARGS...]: a fresh data dir harvesting a new replay
    [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null && wait "$REPLAY_PID" 2>/dev/null
    start_replay "$RECORDED" "$@"
    write_config "$T/pansift.ini" "$T/data" "[source ess]
type = pan
url = $REPLAY_URL
timeout_ms = 2000
retries = 2
$EXTRA"
}
EXTRA=""

# 503 with Retry-After on the instruments page, then a truncated datasets
# page, then a dropped connection on the documents page: all retried.
setup --fault 2:503 --fault 4:truncate --fault 6:close
P init >/dev/null
start=$(date +%s)
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "harvest through 503, truncation and a dropped connection ($out)"
check_contains "$out" "21 seen, 21 new" "nothing lost"
check_eq "$(grep -c 'fault' "$T/replay.log")" 3 "three faults were served"
check test "$(grep -A1 'fault 503' "$T/replay.log" | grep -c 'Instruments?filter.* -> 200$')" -eq 1 -- "the instruments page is fetched again after the 503"
check test "$(( $(date +%s) - start ))" -ge 1 -- "Retry-After: 1 was honoured"
good=$(counts)
check_eq "$good" "[4,15,1,1,$(P status --json | jq .max_seq)]" "4 datasets, 15 instruments, 2 documents"

# A provider that caps its pages below the asked limit: short pages are not
# the last ones; everything is harvested and nothing is tombstoned.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$RECORDED" --max-page 3
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "capped pages: harvest ($out)"
check_contains "$out" "21 seen" "capped pages: every record listed"
check_contains "$out" "0 deleted" "capped pages: nothing tombstoned"
check_eq "$(counts)" "$good" "capped pages: store unchanged"
check test "$(grep -c 'Datasets?filter' "$T/replay.log")" -ge 2 -- "capped pages: paged on past a short page"

# Garbage from the source: one-line error, exit 4, store unchanged.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$RECORDED" --fault all:garbage
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "garbage: exit 4"
check_contains "$out" "not JSON" "garbage: the message says what is wrong"
check_eq "$(echo "$out" | grep -c '^pansift: ')" 1 "garbage: one error line"
check_eq "$(counts)" "$good" "garbage: store unchanged, nothing deleted"
check_eq "$(P status --json | jq -r '.sources[0].last_run.state')" failed "run recorded as failed"

# Errors that do not go away: retried, then a clear failure.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$RECORDED" --fault all:500
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "500s: exit 4"
check_contains "$out" "HTTP 500" "500s: message"
check_contains "$out" "after 3 attempts" "500s: retried as configured"
check_eq "$(counts)" "$good" "500s: store unchanged"

# A stalled source costs its timeout, not more.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$RECORDED" --fault all:stall --stall-ms 20000
sed -i "s|^url = .*|url = $REPLAY_URL|;s|^retries = .*|retries = 0|" "$T/pansift.ini"
start=$(date +%s)
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 4 "stall: exit 4"
check_contains "$out" "timed out" "stall: message"
check test "$(( $(date +%s) - start ))" -le 8 -- "stall: bounded by the timeouts"
check_eq "$(counts)" "$good" "stall: store unchanged"

# Interrupted while stalled: exit 130, what was committed stays.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$RECORDED" --fault 4:stall --stall-ms 20000
sed -i "s|^url = .*|url = $REPLAY_URL|;s|^timeout_ms = .*|timeout_ms = 30000|" "$T/pansift.ini"
"$PANSIFT" --quiet --config "$T/pansift.ini" harvest >"$T/int.out" 2>&1 &
hp=$!
for _ in $(seq 50); do grep -q 'fault stall' "$T/replay.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
kill -INT $hp
start=$(date +%s)
wait $hp; rc=$?
check_eq "$rc" 130 "interrupted harvest exits 130 ($(cat "$T/int.out"))"
check test "$(( $(date +%s) - start ))" -le 3 -- "interrupt is prompt"
check_contains "$(cat "$T/int.out")" "interrupted" "interrupt: message"
check_eq "$(P status --json | jq -r '.sources[0].last_run.state')" interrupted "run recorded as interrupted"
check_eq "$(counts)" "$good" "interrupt: store unchanged"

# The source stops listing dataset 4: a complete run tombstones it, and the
# API stops serving it once indexed.
mkdir -p "$T/less"
cp "$RECORDED"/*.json "$T/less/"
jq '.body |= map(select(.pid != "20.500.12269/panosc-dataset4"))' \
    "$RECORDED/harvest-datasets.json" > "$T/less/harvest-datasets.json"
jq '.body |= map(.datasets |= map(select(.pid != "20.500.12269/panosc-dataset4")))' \
    "$RECORDED/harvest-documents.json" > "$T/less/harvest-documents.json"
# First the provider still counts 4 datasets while listing 3: the run is
# incomplete, so nothing may be deleted.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$T/less"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "count disagrees: harvest ($out)"
check_contains "$out" "3 of the 4 records the provider counts" "count disagrees: the message says why"
check_contains "$out" "0 deleted" "count disagrees: nothing deleted"
jq '.body.count = 3' "$RECORDED/datasets-count.json" > "$T/less/datasets-count.json"
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null
start_replay "$T/less"
sed -i "s|^url = .*|url = $REPLAY_URL|" "$T/pansift.ini"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "harvest of the smaller source ($out)"
check_contains "$out" "1 deleted" "one tombstone"
check_eq "$(P status --json | jq .entities.dataset)" 3 "3 live datasets"
check_eq "$(P status --json | jq .tombstones.dataset)" 1 "1 tombstone"
P index >/dev/null
start_serve "$T/pansift.ini"
get "$SERVE_URL/api/Datasets/count"
check_eq "$(jq .count "$T/body")" 3 "API counts 3"
get "$SERVE_URL/api/Datasets/20.500.12269%2Fpanosc-dataset4"
check_eq "$STATUS" 404 "deleted dataset is gone from the API"
get "$SERVE_URL/api/Documents/10.5072%2Fpanosc-document2?filter={\"include\":[{\"relation\":\"datasets\"}]}"
check_eq "$(jq '.datasets | length' "$T/body")" 1 "the proposal lists one dataset now"
stop_serve
finish
