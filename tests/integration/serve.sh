#!/usr/bin/env bash
# serve: the HTTP server as clients meet it: /health, the endpoint list,
# ceilings on URL, header and body sizes (414, 431, 413 with a JSON error),
# methods a path does not allow (405 with Allow), CORS and preflights, HEAD,
# keep-alive, many requests in parallel, the dashboard's files (and nothing
# outside them), a record harvested while the server runs becoming
# searchable without a restart, and a clean exit on SIGTERM.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 200 --seed 3 --quiet
write_config "$T/pansift.ini" "$T/data" "max_url_bytes = 2048
max_header_bytes = 8192
max_body_bytes = 1024
dashboard_dir = $T/dash
[source gen]
type = pan
url = file://$T/cat"
# The dashboard, plus traps: a directory whose index.html and a file that
# are symbolic links out of it.
cp -r "$PS_SOURCE_DIR/dashboard" "$T/dash"
mkdir -p "$T/dash/trap"
ln -s /etc/passwd "$T/dash/trap/index.html"
ln -s /etc/passwd "$T/dash/passwd.txt"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"

get "$SERVE_URL/health"
check_eq "$STATUS" 200 "health"
check_eq "$(jq -r .status "$T/body")" ok "health status"
check_eq "$(jq -r .index.indexer "$T/body")" running "in-server indexer running"
get "$SERVE_URL/api"
check_contains "$(cat "$T/body")" "/api/{Datasets|Documents|Instruments}/count" "endpoint list"

# Ceilings.
long=$(head -c 3000 /dev/zero | tr '\0' 'a')
get "$SERVE_URL/api/Datasets?filter={\"where\":{\"title\":\"$long\"}}"
check_eq "$STATUS" 414 "URL over max_url_bytes: 414"
check_eq "$(jq .error.statusCode "$T/body")" 414 "414 has a JSON error"
big=$(head -c 9000 /dev/zero | tr '\0' 'b')
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$SERVE_URL/health")
check test "$STATUS" = 431 -o "$STATUS" = 413 -- "headers over max_header_bytes refused ($STATUS)"
STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --data-binary "@$T/cat/Instruments.json" "$SERVE_URL/api/Datasets")
check_eq "$STATUS" 413 "body over max_body_bytes: 413"
h=$(curl -s -D - -o "$T/body" -X DELETE "$SERVE_URL/api/Datasets")
check_contains "$h" "HTTP/1.1 405" "DELETE: 405"
check_contains "$(jq -r .error.message "$T/body")" "(allowed: GET, HEAD)" "405 says what is allowed"
check_contains "$h" "Allow: GET, HEAD" "405 has an Allow header"
# A preflight for a write (the match review, collections) is allowed.
h=$(curl -s -D - -o /dev/null -X OPTIONS -H "Origin: https://x.org" \
    -H "Access-Control-Request-Method: POST" \
    -H "Access-Control-Request-Headers: authorization, content-type" \
    "$SERVE_URL/api/collections")
check_contains "$h" "HTTP/1.1 204" "preflight: 204"
check_contains "$h" "Access-Control-Allow-Methods: GET, HEAD, POST, DELETE, OPTIONS" \
    "preflight: POST and DELETE allowed"
check_contains "$h" "Access-Control-Allow-Headers: authorization, content-type" \
    "preflight: the Authorization header allowed"

# CORS, HEAD, keep-alive.
h=$(curl -s -D - -o /dev/null -H "Origin: https://data.panosc.eu" "$SERVE_URL/api/Instruments/count")
check_contains "$h" "Access-Control-Allow-Origin: *" "CORS: any origin, literally"
case "$h" in *Access-Control-Allow-Credentials*) fail "CORS must not allow credentials";; *) ok;; esac
case "$h" in *"Origin: https://data.panosc.eu"*) fail "CORS must not reflect the origin";; *) ok;; esac
h=$(curl -s -I "$SERVE_URL/api/Instruments/count")
check_contains "$h" "HTTP/1.1 200" "HEAD"
v=$(curl -sv "$SERVE_URL/health" "$SERVE_URL/health" 2>&1 >/dev/null)
check_contains "$v" "Re-using existing connection" "keep-alive"

# Parallel requests.
seq 60 | xargs -P 12 -I{} curl -s -o /dev/null -w '%{http_code}\n' -g \
    "$SERVE_URL/api/Datasets?filter={\"limit\":5,\"skip\":{}}" > "$T/codes"
check_eq "$(sort -u "$T/codes")" 200 "60 parallel requests all answered"
# Relevance queries build Xapian queries in both worker threads at once.
seq 120 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -G \
    --data-urlencode 'filter={"query":"scattering","limit":3,"skip":{}}' \
    "$SERVE_URL/api/Datasets" > "$T/codes"
check_eq "$(sort -u "$T/codes")" 200 "120 parallel relevance queries answered"
check kill -0 "$SERVE_PID" -- "the server survives concurrent queries"

# Dashboard files, and nothing else.
get "$SERVE_URL/"
check_eq "$STATUS" 200 "dashboard /"
check_contains "$(curl -s -D - -o /dev/null "$SERVE_URL/")" "Content-Type: text/html" "index.html type"
get "$SERVE_URL/app.js"
check_eq "$STATUS" 200 "dashboard script"
for bad in "/../../etc/passwd" "/%2e%2e/%2e%2e/etc/passwd" "/.hidden" "/nope.html" \
    "/a%2F..%2F..%2F..%2Fetc%2Fpasswd" "/trap%2F..%2F..%2Fpasswd" "/trap/" "/trap" \
    "/passwd.txt" "/%2Fetc%2Fpasswd" "//etc/passwd"; do
    STATUS=$(curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$SERVE_URL$bad")
    check_eq "$STATUS" 404 "no file outside the dashboard: $bad"
done
get "$SERVE_URL/app.js%00.html"
check_eq "$STATUS" 400 "a NUL in the path is a bad request"
get "$SERVE_URL/api/Nothing"
check_contains "$(jq -r .error.message "$T/body")" "no such endpoint" "unknown API path"

# Freshness: a record harvested while the server runs becomes searchable.
mkdir -p "$T/late"
printf '[\n{"pid":"late/instrument","name":"LATE-1","facility":"TESTLAB"}\n]\n' > "$T/late/Instruments.json"
printf '[\n{"pid":"late/ds1","title":"Freshly harvested dataset","isPublic":true,"creationDate":"2026-01-02T03:04:05.000Z","instrumentId":"late/instrument"}\n]\n' > "$T/late/Datasets.json"
printf '[\n]\n' > "$T/late/Documents.json"
cat >> "$T/pansift.ini" <<INI
[source late]
type = pan
url = file://$T/late
INI
t0=$(date +%s%N)
P harvest late >/dev/null 2>&1
found=0
for _ in $(seq 100); do
    get "$SERVE_URL/api/Datasets" --data-urlencode 'filter={"where":{"text":"freshly"}}' -G
    if [ "$(jq length "$T/body")" = 1 ]; then found=1; break; fi
    sleep 0.1
done
t1=$(date +%s%N)
check_eq "$found" 1 "harvested record becomes searchable while serving"
echo "freshness: searchable $(( (t1 - t0) / 1000000 )) ms after the harvest started" >&2
get "$SERVE_URL/api/Datasets/count" --data-urlencode 'where={"instrumentId":"late/instrument"}' -G
check_eq "$(jq .count "$T/body")" 1 "indexed by its instrument too"

# Clean stop.
stop_serve
check test ! -e "$T/serve.port" -- "port file removed on exit"
finish
