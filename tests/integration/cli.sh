#!/usr/bin/env bash
# cli: the `pansift` program's contract with its users: --help on the
# program and every command; documented exit codes; and bad input (a
# missing or wrong config, an unknown key, a data directory that cannot be
# written, a damaged store, a port in use) gives one line that says what is
# wrong and what to do, a non-zero exit, and no damage.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

out=$("$PANSIFT" --help); rc=$?
check_eq "$rc" 0 "--help exits 0"
for cmd in init harvest index serve status config; do
    check_contains "$out" "$cmd" "--help lists $cmd"
    o=$("$PANSIFT" "$cmd" --help); rc=$?
    check_eq "$rc" 0 "$cmd --help exits 0"
    check_contains "$o" "usage: pansift" "$cmd --help has a usage line"
done
check_contains "$out" "exit status" "--help documents exit codes"
check_contains "$("$PANSIFT" --version)" "pansift 0." "--version"

one_line_error() { # one_line_error EXPECTED_RC NEEDLE MESSAGE -- ARGS...
    local want=$1 needle=$2 msg=$3; shift 4
    local o rc
    o=$(timeout 30 "$PANSIFT" "$@" 2>&1 >/dev/null); rc=$?
    check_eq "$rc" "$want" "$msg: exit code ($o)"
    check_contains "$o" "$needle" "$msg: message"
    check_eq "$(printf '%s\n' "$o" | grep -c .)" 1 "$msg: one line"
}

one_line_error 2 "unknown command 'frobnicate'" "unknown command" -- frobnicate
one_line_error 2 "unknown option '--bogus'" "unknown option" -- status --bogus
one_line_error 2 "cannot read config $T/nope.ini" "missing config" -- --config "$T/nope.ini" status

printf '[server]\nlisten = 127.0.0.1:8080\nlisen = oops\n' > "$T/typo.ini"
one_line_error 2 "$T/typo.ini:3" "unknown key: file and line" -- --config "$T/typo.ini" status
one_line_error 2 "lisen" "unknown key: the key" -- --config "$T/typo.ini" status
printf '[server]\nthreads = many\n' > "$T/bad.ini"
one_line_error 2 "$T/bad.ini:2" "bad value: file and line" -- --config "$T/bad.ini" status
printf '[source x]\ntype = pan\n' > "$T/nourl.ini"
one_line_error 2 "url" "source without url" -- --config "$T/nourl.ini" status
printf '[source x]\ntype = ftp\nurl = http://x\n' > "$T/badtype.ini"
one_line_error 2 "ftp" "unknown source type" -- --config "$T/badtype.ini" status
one_line_error 2 "--data-dir needs a value" "option without value" -- --data-dir

# Data directories that cannot be used.
touch "$T/afile"
one_line_error 3 "cannot create the data directory $T/afile/data" "data dir under a file" -- --data-dir "$T/afile/data" init
one_line_error 3 "pansift init" "status before init" -- --data-dir "$T/empty" status
printf '[pansift]\ndata_dir = %s/empty2\n[source x]\ntype = pan\nurl = http://127.0.0.1:9/api\n' "$T" > "$T/src.ini"
one_line_error 3 "pansift init" "harvest before init" -- --config "$T/src.ini" harvest

# init works and is idempotent; the default config is written and valid.
check "$PANSIFT" --data-dir "$T/d" init -- "init"
check test -s "$T/d/pansift.ini" -- "init writes pansift.ini"
check "$PANSIFT" --data-dir "$T/d" --quiet status >/dev/null -- "status on the new data dir (reads its pansift.ini)"
o=$("$PANSIFT" --data-dir "$T/d" init); rc=$?
check_eq "$rc" 0 "init again"
check_contains "$o" "already initialised" "init again says so"
one_line_error 2 "no sources configured" "harvest without sources" -- --data-dir "$T/d" harvest

# A damaged store is refused and left as it is.
check "$PANSIFT" --data-dir "$T/c" init -- "init c"
head -c 100000 /dev/urandom > "$T/c/store.db"
before=$(sha256sum < "$T/c/store.db")
one_line_error 3 "damaged or is not a pansift store" "corrupt store" -- --data-dir "$T/c" status
one_line_error 3 "restore it from a backup" "corrupt store: advice" -- --data-dir "$T/c" index
check_eq "$(sha256sum < "$T/c/store.db")" "$before" "corrupt store untouched"

# A port in use.
write_config "$T/p.ini" "$T/d"
start_serve "$T/p.ini"
port=${SERVE_URL##*:}
one_line_error 1 "Address already in use" "port in use" -- --config "$T/p.ini" serve --listen "127.0.0.1:$port"
one_line_error 2 "not a valid ADDR:PORT" "bad --listen" -- --config "$T/p.ini" serve --listen "127.0.0.1:99999"
# Two writers of the index: the second is told who holds it.
o=$("$PANSIFT" --config "$T/p.ini" index 2>&1); rc=$?
check_eq "$rc" 5 "index while serve indexes: exit 5 ($o)"
check_contains "$o" "being written by another process" "index busy: message"
stop_serve

# The index belongs to its store: a store swapped for another one is not
# served with the old index; `pansift index` rebuilds it. A missing index
# link is rebuilt into a generation never used before.
check "$PANSIFT" --data-dir "$T/e" init -- "init e"
cp "$T/e/store.db" "$T/d/store.db"
rm -f "$T/d/store.db-wal" "$T/d/store.db-shm"
one_line_error 3 "built from another store" "serve refuses another store's index" -- --config "$T/p.ini" serve --listen 127.0.0.1:0
o=$("$PANSIFT" --config "$T/p.ini" index 2>&1); rc=$?
check_eq "$rc" 0 "index rebuilds for the new store ($o)"
check_contains "$o" "rebuilding the index" "index says it rebuilds"
gens_before=$(ls -d "$T/d"/index.* | sort -t. -k2 -n | tail -1)
rm "$T/d/index"
o=$("$PANSIFT" --config "$T/p.ini" index 2>&1); rc=$?
check_eq "$rc" 0 "index rebuilds a missing index ($o)"
new=$(readlink "$T/d/index")
check_eq "$((${new#index.} > ${gens_before##*index.}))" 1 "a new generation ($new after ${gens_before##*/})"
start_serve "$T/p.ini"
get "$SERVE_URL/api/Datasets/count"
check_eq "$STATUS" 200 "serve works on the rebuilt index"
stop_serve

# The environment and the command line override the file.
o=$(PANSIFT_LOG_LEVEL=debug "$PANSIFT" --config "$T/p.ini" config)
check_contains "$o" "log_level = debug" "PANSIFT_LOG_LEVEL overrides the file"
o=$(PANSIFT_DATA_DIR=/env "$PANSIFT" --config "$T/p.ini" --data-dir /cli config)
check_contains "$o" "data_dir = /cli" "--data-dir overrides the environment"
# A source type's option with a value it cannot use: that source fails with
# a message naming the option, before any request; the store is untouched.
printf '[pansift]\ndata_dir = %s\n[source s]\ntype = scicat\nurl = http://127.0.0.1:9/api\napi_version = seven\n' \
    "$T/optdata" > "$T/opt.ini"
"$PANSIFT" --quiet --config "$T/opt.ini" init >/dev/null
o=$("$PANSIFT" --quiet --config "$T/opt.ini" harvest 2>&1); rc=$?
check_eq "$rc" 4 "bad type option: the source fails ($o)"
check_contains "$o" 'api_version = "seven" is not a whole number from 3 to 4' "bad type option: the message names it"
check_eq "$("$PANSIFT" --config "$T/opt.ini" status --json | jq '.entities.dataset')" 0 "bad type option: nothing stored"

finish
