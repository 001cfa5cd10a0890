#!/usr/bin/env bash
# browser/run.sh: the dashboard's browser tests (CTest browser.dashboard).
# Builds a small catalogue (pansift-gencat, harvested, indexed, matched so
# that match candidates exist, indexed again), starts `pansift serve` on
# 127.0.0.1 port 0, and runs every tests/browser/*.test.mjs with node. Each
# drives Debian's chromium through playwright-core (dashboard/node_modules,
# installed from the lockfile by scripts/setup --test; no browser is ever
# downloaded) and gets:
#   PANSIFT_URL   the server's root (http://127.0.0.1:PORT/)
#   CHROMIUM      the browser (/usr/bin/chromium unless CHROMIUM is set)
#   ARTIFACT_DIR  $PS_BUILD_DIR/browser-artifacts/: screenshots of every
#                 page (PNG) and each test's browser log
#   PS_CONFIG     the server's configuration, PS_DATA its data directory
# Then tests/browser/*.admin.mjs run against the same catalogue served with
# [server] admin_token, given to them as PANSIFT_ADMIN_TOKEN.
# Without chromium the test fails, unless PS_BROWSER_TESTS_OPTIONAL=1, when
# it is skipped (exit 77, CTest's SKIP_RETURN_CODE). CI never sets it.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/../integration/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
DASH="$PS_SOURCE_DIR/dashboard"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ]; then
    if [ "${PS_BROWSER_TESTS_OPTIONAL:-0}" = 1 ]; then
        echo "skipped: no chromium at $CHROMIUM (PS_BROWSER_TESTS_OPTIONAL=1)"
        exit 77
    fi
    fail "no chromium at $CHROMIUM: run scripts/setup --test (it installs Debian's chromium)"
    finish
fi
command -v node >/dev/null || { fail "no node: run scripts/setup"; finish; }
[ -f "$DASH/node_modules/playwright-core/package.json" ] ||
    { fail "playwright-core is not installed in $DASH/node_modules: run scripts/setup --test"; finish; }
# The Node.js playwright-core needs (its package's engines, ">=18").
need=$(node -p "(require('$DASH/node_modules/playwright-core/package.json').engines?.node ?? '0').match(/\d+/)[0]")
have=$(node -p 'process.versions.node.split(".")[0]')
[ "$have" -ge "$need" ] ||
    { fail "node $(node --version) is too old for playwright-core ($need or later)"; finish; }
[ -f "$DASH/vendor/chart.umd.js" ] ||
    { fail "the chart library is not in $DASH/vendor: run scripts/setup"; finish; }

# ---- the catalogue ------------------------------------------------------------
"$GENCAT" --out "$T/cat" --datasets 300 --quiet
write_config "$T/pansift.ini" "$T/data" "dashboard_dir = $DASH
[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null ||
    { fail "the catalogue could not be built"; finish; }
P match >/dev/null || { fail "pansift match failed"; finish; }
P index >/dev/null
candidates=$(P match --list candidate | wc -l)
check [ "$candidates" -ge 2 ] -- "match candidates for the review page: $candidates"

start_serve "$T/pansift.ini"

# ---- the tests ------------------------------------------------------------------
ARTIFACT_DIR="$PS_BUILD_DIR/browser-artifacts"
rm -rf "$ARTIFACT_DIR"
mkdir -p "$ARTIFACT_DIR"
for t in "$HERE"/*.test.mjs; do
    name=$(basename "$t" .test.mjs)
    PANSIFT_URL="$SERVE_URL/" CHROMIUM="$CHROMIUM" ARTIFACT_DIR="$ARTIFACT_DIR" \
        PS_CONFIG="$T/pansift.ini" PS_DATA="$T/data" \
        timeout 120 node "$t"
    rc=$?
    check_eq "$rc" 0 "browser test $name"
done
stop_serve

# ---- the same catalogue behind an admin token: tests/browser/*.admin.mjs --
TOKEN=browser-test-admin-token-0123456789
write_config "$T/admin.ini" "$T/data" "admin_token = $TOKEN
dashboard_dir = $DASH
[source sample]
type = pan
url = file://$T/cat"
start_serve "$T/admin.ini"
for t in "$HERE"/*.admin.mjs; do
    name=$(basename "$t" .admin.mjs)
    PANSIFT_URL="$SERVE_URL/" CHROMIUM="$CHROMIUM" ARTIFACT_DIR="$ARTIFACT_DIR" \
        PANSIFT_ADMIN_TOKEN="$TOKEN" PS_CONFIG="$T/admin.ini" PS_DATA="$T/data" \
        timeout 120 node "$t"
    rc=$?
    check_eq "$rc" 0 "browser test $name (with [server] admin_token)"
done
stop_serve
echo "screenshots: $(ls "$ARTIFACT_DIR"/*.png 2>/dev/null | wc -l) in $ARTIFACT_DIR"
finish
