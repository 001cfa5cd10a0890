#!/usr/bin/env bash
# kill9: a kill -9 at any moment leaves the store and the index consistent.
# A generated catalogue is harvested, then `pansift index` is killed with
# SIGKILL at several moments; each time the index must still open, and the
# next `pansift index` must complete with every live record indexed exactly
# once (no missing, no duplicate document). The same for `index --rebuild`
# (the old generation stays in use; leftovers are cleaned) and for a
# harvest (the store passes SQLite's integrity check and the next harvest
# completes the catalogue).
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 2500 --seed 7 --quiet
write_config "$T/pansift.ini" "$T/data" "[index]
batch = 100
[source gen]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
live() { P status --json | jq '.entities.dataset + .entities.instrument + .entities.proposal + .entities.publication'; }
docs() { P status --json | jq '.index.documents'; }

check P init -- "init"

# A harvest killed in the middle: the store stays whole, the next harvest
# completes it.
"$PANSIFT" --quiet --config "$T/pansift.ini" harvest >/dev/null 2>&1 &
hp=$!
sleep 0.7
kill -9 $hp 2>/dev/null
wait $hp 2>/dev/null
check_eq "$(sqlite3 "$T/data/store.db" 'PRAGMA integrity_check')" ok "store intact after kill -9 of a harvest"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "harvest after the kill completes ($out)"
total=$(live)
check test "$total" -gt 2500 -- "catalogue harvested ($total records)"
check_eq "$(P status --json | jq -r '.sources[0].last_run.state')" ok "last run ok"

# Index killed at several moments (at least one must land mid-way, or the
# test proves nothing).
min=$total
for delay in 0.2 0.5 0.9 1.4 2.0; do
    "$PANSIFT" --quiet --config "$T/pansift.ini" index >/dev/null 2>&1 &
    ip=$!
    sleep "$delay"
    kill -9 $ip 2>/dev/null
    wait $ip 2>/dev/null
    n=$(docs)
    check test "$n" -le "$total" -- "after kill at ${delay}s the index opens and has no extra documents ($n)"
    [ "$n" -lt "$min" ] && min=$n
done
check test "$min" -lt "$total" -- "a kill interrupted indexing part-way ($min of $total)"
out=$(P index 2>&1); rc=$?
check_eq "$rc" 0 "index after the kills ($out)"
check_eq "$(docs)" "$total" "every live record indexed exactly once"
check_eq "$(P status --json | jq .index.lag)" 0 "no lag"

# Rebuild killed in the middle: the old generation keeps serving.
gen_before=$(readlink "$T/data/index")
"$PANSIFT" --quiet --config "$T/pansift.ini" index --rebuild >/dev/null 2>&1 &
rp=$!
sleep 1.0
kill -9 $rp 2>/dev/null
wait $rp 2>/dev/null
check_eq "$(readlink "$T/data/index")" "$gen_before" "old generation still current after a killed rebuild"
check_eq "$(docs)" "$total" "old generation intact"
out=$(P index --rebuild 2>&1); rc=$?
check_eq "$rc" 0 "rebuild after the kill ($out)"
check_eq "$(docs)" "$total" "rebuilt index complete"
check test "$(readlink "$T/data/index")" != "$gen_before" -- "new generation swapped in"
check_eq "$(ls -d "$T"/data/index.*.build 2>/dev/null | wc -l)" 0 "no build leftovers"
check_eq "$(ls -d "$T"/data/index.[0-9]* | wc -l)" 2 "current and previous generation kept"

# Searching finds each record once.
start_serve "$T/pansift.ini"
pid=$(jq -r '[.[] | select(.isPublic)][0].pid' "$T/cat/Datasets.json")
get "$SERVE_URL/api/Datasets/count" --data-urlencode "where={\"pid\":\"$pid\"}" -G
check_eq "$(jq .count "$T/body")" 1 "a dataset is found once by pid"
stop_serve
finish
