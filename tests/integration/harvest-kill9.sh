#!/usr/bin/env bash
# harvest-kill9: two sources harvested in parallel (a SciCat catalogue and
# a PaN provider, both real recorded data replayed on loopback, slowed down
# so that a run lasts a few seconds) are killed with SIGKILL at several
# moments; after each kill the store passes SQLite's integrity check, and
# a rerun ends with exactly the records, files, parameters and links of an
# uninterrupted run: none lost, none twice. Each rerun resumes from the
# checkpoints the killed run committed (it does not start over).
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CORPUS="$PS_SOURCE_DIR/../shared/corpus/scicat"
if [ ! -f "$CORPUS/Dataset.json" ]; then
    echo "SKIP: no shared corpus at $CORPUS"
    exit 0
fi
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
DB() { sqlite3 "$T/data/store.db" "$@"; }
# What a user sees of the store: every live record, its children and links.
snapshot() {
    DB "SELECT 'ds', pid, title, size, deleted FROM dataset ORDER BY pid;
        SELECT 'in', pid, name FROM instrument ORDER BY pid;
        SELECT 'pr', pid, title FROM proposal ORDER BY pid;
        SELECT 'pu', pid, title FROM publication ORDER BY pid;
        SELECT 'files', count(*) FROM file; SELECT 'params', count(*) FROM parameter;
        SELECT 'prov', count(*), count(DISTINCT source_id || kind || remote_id) FROM provenance;
        SELECT 'link', type, src_ref, dst_ref FROM link ORDER BY 2, 3, 4;"
}

# The SciCat answers (2 records a page: about 30 requests) and a second
# replay for the PaN reference provider.
mkdir -p "$T/ex"
bash "$PS_SOURCE_DIR/tests/tools/scicat-recordings.sh" "$CORPUS" "$T/ex/scicat.json" 2 ||
    { fail "scicat recordings"; finish; }
"$REPLAY" --dir "$T/ex" --port-file "$T/sc.port" >/dev/null 2>"$T/sc.err" &
PIDS+=($!)
wait_file "$T/sc.port" || { fail "replay (scicat) did not start"; finish; }
start_replay "$PS_TEST_DATA/pan-reference/recorded"
config() { # config DATA_DIR
    write_config "$T/pansift.ini" "$1" "[harvest]
parallel = 2
batch = 3
[source psi]
type = scicat
url = http://127.0.0.1:$(cat "$T/sc.port")/api
page_size = 2
delay_ms = 60
facility = PSI
[source ess]
type = pan
url = $REPLAY_URL
page_size = 2
delay_ms = 60"
}

# The reference: one uninterrupted run.
config "$T/ref"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "uninterrupted parallel harvest ($out)"
check_contains "$out" "psi: ok" "scicat ran"
check_contains "$out" "ess: ok" "pan ran"
mv "$T/ref" "$T/data"
ref=$(snapshot)
rm -rf "$T/data"
check test "$(echo "$ref" | grep -c '^ds|')" -ge 10 -- "the reference has datasets"

# The sources a rerun must finish: those whose last run did not end (a
# SciCat source that did finish would go on incrementally, asking for
# updatedAt > its start, which the recordings do not hold).
unfinished() {
    local done
    # finished: a run ended ok, or the listing completed (since set, no
    # resume point) just before the kill recorded the run's end
    done=$(P status --json | jq -r '.sources[] | select(.last_run.state == "ok"
        or (.checkpoint.since != null and .checkpoint.resume == null)) | .name')
    for s in psi ess; do echo "$done" | grep -qx "$s" || echo "$s"; done
}

# Kill at several moments of fresh harvests, then rerun until it finishes.
config "$T/data"
for delay in 0.3 0.9 1.6 2.4; do
    rm -rf "$T/data"
    P init >/dev/null
    "$PANSIFT" --quiet --config "$T/pansift.ini" harvest >/dev/null 2>&1 &
    hp=$!
    sleep "$delay"
    kill -9 $hp 2>/dev/null
    wait $hp 2>/dev/null
    check_eq "$(DB 'PRAGMA integrity_check')" ok "store intact after kill -9 at ${delay}s"
    committed=$(DB "SELECT count(*) FROM provenance")
    # A second kill during the resumed run, then a run to the end.
    # shellcheck disable=SC2046
    "$PANSIFT" --quiet --config "$T/pansift.ini" harvest $(unfinished) >/dev/null 2>&1 &
    hp=$!
    sleep 0.4
    kill -9 $hp 2>/dev/null
    wait $hp 2>/dev/null
    left=$(unfinished)
    out=ok; rc=0
    # shellcheck disable=SC2086
    [ -n "$left" ] && { out=$(P harvest $left 2>&1); rc=$?; }
    check_eq "$rc" 0 "rerun after kills at ${delay}s completes ($out)"
    check_eq "$(snapshot)" "$ref" "after kills at ${delay}s: exactly the records of an uninterrupted run ($committed provenance rows had been committed)"
done

# A resumed run starts from its checkpoint: kill mid-way, then the rerun
# asks SciCat for fewer pages than a whole run does.
rm -rf "$T/data"
P init >/dev/null
"$PANSIFT" --quiet --config "$T/pansift.ini" harvest psi >/dev/null 2>&1 &
hp=$!
sleep 1.2
kill -9 $hp 2>/dev/null
wait $hp 2>/dev/null
ck=$(P status --json | jq -r '.sources[] | select(.name == "psi") | .checkpoint | length')
check test "${ck:-0}" -ge 1 -- "the killed run left a checkpoint ($ck keys)"
out=$(P --log-level info harvest psi 2>&1); rc=$?
check_eq "$rc" 0 "resumed run ($out)"
seen=$(echo "$out" | sed -n 's/.* \([0-9]*\) seen.*/\1/p' | head -1)
full=$(echo "$ref" | grep -c '^\(ds\|in\|pr\|pu\)|')
check test "${seen:-0}" -lt "$full" -- "the resumed run saw fewer records ($seen) than the catalogue holds ($full): it resumed"
finish
