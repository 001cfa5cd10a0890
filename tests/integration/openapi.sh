#!/usr/bin/env bash
# openapi: the OpenAPI document at {api_prefix}/openapi.json cannot drift
# from the server. On the sample catalogue (scripts/demo's: 2000 datasets,
# seed 42) it checks that the document parses, is OpenAPI 3.0, points
# servers[0].url at the configured prefix (the default and another one);
# that its paths and the route table (GET {api_prefix}) list the same
# endpoints; that its schemas name the fields, relations, operators, filter
# keys and sort fields the filter parser accepts (read back from the
# parser's own 400 messages); that every filter and where example in it is
# accepted by the server; and, with openapi-check.pl, that it is a valid
# OpenAPI 3.0 document whose examples and the server's real answers (200,
# 400, 404; the match review's and collections' writes too) satisfy its
# schemas. Each operation names its page in docs/api/, which must exist.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

if ! perl -MJSON::Validator::Schema::OpenAPIv3 -e 1 2>/dev/null; then
    fail "JSON::Validator is missing: run scripts/setup --test (libjson-validator-perl)"
    finish
fi

"$GENCAT" --out "$T/cat" --datasets 2000 --seed 42 --quiet
write_config "$T/pansift.ini" "$T/data" "[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"
DOC="$T/openapi.json"

# fetch_doc PREFIX: the document into $DOC, with its basic checks.
fetch_doc() {
    local prefix=$1
    local h
    h=$(curl -s -D - -o "$DOC" "$SERVE_URL$prefix/openapi.json")
    check_contains "$h" "HTTP/1.1 200" "GET $prefix/openapi.json"
    check_contains "$h" "Content-Type: application/json" "served as JSON"
    check jq -e . "$DOC" -- "the document parses" >/dev/null
    check_eq "$(jq -r '.openapi | test("^3\\.0\\.[0-9]+$")' "$DOC")" true "OpenAPI 3.0.x"
    check_eq "$(jq -r '.servers[0].url' "$DOC")" "$prefix" "servers[0].url is the API prefix"
}

# The route table (GET PREFIX) and the document's paths as "METHOD /full/path"
# lines: model placeholders expanded, /* written as the document's /{file}.
routes_of_table() {
    curl -s "$SERVE_URL$1" | jq -r '.[] | .method as $m
        | .path | sub("^/\\*$"; "/{file}")
        | if test("\\{Datasets\\|Documents\\|Instruments\\}")
          then (("Datasets", "Documents", "Instruments") as $x
                | sub("\\{Datasets\\|Documents\\|Instruments\\}"; $x))
          else . end
        | "\($m) \(.)"' | sort
}
routes_of_doc() {
    jq -r '.servers[0].url as $root | .paths | to_entries[]
        | .key as $p | ((.value.servers // [])[0].url // $root) as $s
        | .value | keys[] | select(IN("get", "put", "post", "delete", "options",
                                      "head", "patch", "trace"))
        | "\(ascii_upcase) \(($s | rtrimstr("/")) + $p | if . == "" then "/" else . end
                                | if length > 1 then rtrimstr("/") else . end)"' "$DOC" | sort
}
compare_routes() {
    routes_of_table "$1" > "$T/routes.table"
    routes_of_doc > "$T/routes.doc"
    check test -s "$T/routes.table" -- "the route table is not empty"
    local missing extra
    missing=$(comm -23 "$T/routes.table" "$T/routes.doc" | tr '\n' ';')
    extra=$(comm -13 "$T/routes.table" "$T/routes.doc" | tr '\n' ';')
    check_eq "$missing" "" "routes missing from the OpenAPI paths ($1)"
    check_eq "$extra" "" "OpenAPI paths that are not routes ($1)"
}

fetch_doc /api
compare_routes /api

# Each operation names its page in docs/api/, and the page exists.
for page in $(jq -r '.paths[][] | objects | select(has("responses")) | .["x-doc-page"] // "MISSING"' "$DOC"); do
    check test -f "$PS_SOURCE_DIR/$page" -- "documentation page $page of an operation"
done

# ---- the schemas say what the filter parser accepts -------------------------

# parser_list PATH PARAM JSON: the list in the parser's 400 message, e.g.
# "(fields: pid, title, or text)" -> "pid\ntitle", sorted.
parser_list() {
    get "$SERVE_URL$1" -G --data-urlencode "$2=$3"
    jq -r '.error.message' "$T/body" |
        sed -n 's/.*(\(fields\|relations\|operators\|keys\|sortable\): \([^)]*\)).*/\2/p' |
        sed 's/, or text$//' | tr ',' '\n' | sed 's/^ *//' | grep -v '^none$' | sort
}
doc_list() { jq -r "$1" "$DOC" | sort; }
check_same() { # check_same ACTUAL EXPECTED WHAT
    check_eq "$(echo "$1" | tr '\n' ' ')" "$(echo "$2" | tr '\n' ' ')" "$3"
}

# Model -> a request that reaches a where clause or an include on it.
declare -A WHERE_AT=(
    [Dataset]='/api/Datasets|{"where":{"nope":1}}'
    [Document]='/api/Documents|{"where":{"nope":1}}'
    [Instrument]='/api/Instruments|{"where":{"nope":1}}'
    [File]='/api/Datasets|{"include":[{"relation":"files","scope":{"where":{"nope":1}}}]}'
    [Parameter]='/api/Datasets|{"include":[{"relation":"parameters","scope":{"where":{"nope":1}}}]}'
    [Sample]='/api/Datasets|{"include":[{"relation":"samples","scope":{"where":{"nope":1}}}]}'
    [Technique]='/api/Datasets|{"include":[{"relation":"techniques","scope":{"where":{"nope":1}}}]}'
    [Member]='/api/Documents|{"include":[{"relation":"members","scope":{"where":{"nope":1}}}]}'
    [Person]='/api/Documents|{"include":[{"relation":"members","scope":{"include":[{"relation":"person","scope":{"where":{"nope":1}}}]}}]}'
    [Affiliation]='/api/Documents|{"include":[{"relation":"members","scope":{"include":[{"relation":"affiliation","scope":{"where":{"nope":1}}}]}}]}'
)
declare -A INCLUDE_AT=(
    [Dataset]='/api/Datasets|{"include":["nope"]}'
    [Document]='/api/Documents|{"include":["nope"]}'
    [Instrument]='/api/Instruments|{"include":["nope"]}'
    [Member]='/api/Documents|{"include":[{"relation":"members","scope":{"include":["nope"]}}]}'
)
for m in "${!WHERE_AT[@]}"; do
    spec=${WHERE_AT[$m]}
    fields=$(parser_list "${spec%%|*}" filter "${spec#*|}")
    check test -n "$fields" -- "$m: the parser lists its fields"
    check_same "$(doc_list ".components.schemas.${m}Where.properties | keys[] | select(IN(\"and\", \"or\", \"text\") | not)")" \
        "$fields" "$m: ${m}Where has the parser's fields"
    rels=""
    if [ -n "${INCLUDE_AT[$m]:-}" ]; then
        spec=${INCLUDE_AT[$m]}
        rels=$(parser_list "${spec%%|*}" filter "${spec#*|}")
        check test -n "$rels" -- "$m: the parser lists its relations"
        check_same "$(doc_list ".components.schemas.${m}Include.oneOf[0].enum[]")" "$rels" \
            "$m: ${m}Include has the parser's relations"
    else
        check_eq "$(jq ".components.schemas | has(\"${m}Include\")" "$DOC")" false \
            "$m has no relations, and no ${m}Include"
    fi
    check_same "$(doc_list ".components.schemas.${m}.properties | keys[]")" \
        "$( (echo "$fields"; [ -n "$rels" ] && echo "$rels") | sort)" \
        "$m: the record schema has its fields and relations"
done
check_same "$(doc_list '.components.schemas.Operator.properties | keys[]')" \
    "$(parser_list /api/Datasets filter '{"where":{"title":{"nope":1}}}')" "Operator has the parser's operators"
for m in Dataset Document Instrument; do
    check_same "$(doc_list ".components.schemas.${m}Filter.properties | keys[] | select(. != \"offset\")")" \
        "$(parser_list "/api/${m}s" filter '{"nope":1}')" "${m}Filter has the parser's keys"
    # score is a field but not sortable without a query: the 400 lists
    # the sortable ones.
    sortable=$(parser_list "/api/${m}s" filter '{"order":"score DESC"}')
    check_same "$(jq -r ".components.schemas.${m}Filter.properties.order.anyOf[0].pattern" "$DOC" |
        sed 's/^[^(]*(\([^)]*\)).*/\1/' | tr '|' '\n' | grep -v '^score$' | sort)" \
        "$sortable" "${m}Filter.order names the sortable fields"
done
get "$SERVE_URL/api/Datasets/count" -G --data-urlencode 'where={"nope":1}'
check_eq "$STATUS" 400 "count checks its where clause too"

# ---- every example request is accepted ----------------------------------------

# Lines "DOC-PATH<TAB>URL-PATH<TAB>PARAM<TAB>JSON" for every example of a
# filter or where parameter, {pid} replaced by the parameter's example
# (percent-encoded). The answers are checked against the schemas below.
jq -r '.servers[0].url as $root | .paths | to_entries[] | .key as $p | .value as $item
    | ($item.parameters // [] | map(select(.in == "path")) | .[0].example // "") as $pid
    | $item.get.parameters[]? | select(.content) | .name as $n
    | .content["application/json"].examples // {} | to_entries[]
    | [$p, $root + ($p | sub("\\{pid\\}"; $pid | @uri)), $n, (.value.value | tojson)] | @tsv' \
    "$DOC" > "$T/examples.tsv"
check test "$(wc -l < "$T/examples.tsv")" -ge 15 -- "the document has filter and where examples"
: > "$T/cases"
n=0
while IFS=$'\t' read -r doc_path path name json; do
    n=$((n + 1))
    get "$SERVE_URL$path" -G --data-urlencode "$name=$json"
    check_eq "$STATUS" 200 "example $name=$json on $path"
    cp "$T/body" "$T/example$n.json"
    echo "GET $doc_path $STATUS $T/example$n.json" >> "$T/cases"
done < "$T/examples.tsv"

# ---- real answers satisfy the schemas -------------------------------------------

# answer METHOD DOC-PATH STATUS URL [CURL ARGS]: fetch, check the status,
# and queue the body for openapi-check.pl.
k=0
answer() {
    local method=$1 path=$2 status=$3 url=$4
    shift 4
    k=$((k + 1))
    STATUS=$(curl -s -g -o "$T/answer$k.json" -w '%{http_code}' "$SERVE_URL$url" "$@")
    check_eq "$STATUS" "$status" "$method $url"
    echo "$method $path $status $T/answer$k.json" >> "$T/cases"
}
ALL_DS='{"include":["parameters","files","samples","techniques","instrument",{"relation":"documents","scope":{"include":["members"]}}],"limit":3}'
ALL_DOC='{"include":[{"relation":"datasets","scope":{"include":["instrument"]}},"parameters",{"relation":"members","scope":{"include":["person","affiliation"]}}],"limit":5}'
DS=10.5286%2FISIS.E.RB1200198%2Fds1
answer GET /Datasets 200 /api/Datasets -G --data-urlencode "filter=$ALL_DS"
answer GET /Datasets 200 /api/Datasets -G --data-urlencode 'filter={"query":"lysozyme","limit":5}'
answer GET /Datasets 400 /api/Datasets -G --data-urlencode 'filter={"limit":-1}'
answer GET /Datasets/count 200 /api/Datasets/count
answer GET /Datasets/count 400 /api/Datasets/count -G --data-urlencode 'where={"where":{}}'
answer GET '/Datasets/{pid}' 200 "/api/Datasets/$DS" -G --data-urlencode "filter=$ALL_DS"
answer GET '/Datasets/{pid}' 404 /api/Datasets/no%2Fsuch
answer GET '/Datasets/{pid}/files' 200 "/api/Datasets/$DS/files"
answer GET '/Datasets/{pid}/files' 400 "/api/Datasets/$DS/files" -G --data-urlencode 'filter={"order":"name"}'
answer GET '/Datasets/{pid}/files' 404 /api/Datasets/no%2Fsuch/files
answer GET '/Datasets/{pid}/files/count' 200 "/api/Datasets/$DS/files/count"
answer GET '/Datasets/{pid}/files/count' 404 /api/Datasets/no%2Fsuch/files/count
answer GET /Documents 200 /api/Documents -G --data-urlencode "filter=$ALL_DOC"
answer GET /Documents 200 /api/Documents -G --data-urlencode 'filter={"where":{"type":{"neq":"proposal"}},"include":["members"],"limit":5}'
answer GET /Documents/count 200 /api/Documents/count
answer GET '/Documents/{pid}' 200 /api/Documents/10.5286%2FISIS.E.RB1200198 -G --data-urlencode "filter=$ALL_DOC"
answer GET '/Documents/{pid}' 404 /api/Documents/nope
answer GET /Instruments 200 /api/Instruments -G --data-urlencode 'filter={"include":[{"relation":"datasets","scope":{"include":["techniques"]}}],"limit":2}'
answer GET /Instruments/count 200 /api/Instruments/count
answer GET '/Instruments/{pid}' 200 /api/Instruments/isis%3AWISH
answer GET '/Instruments/{pid}' 404 /api/Instruments/nope
answer GET /search 200 /api/search -G --data-urlencode 'q=crystal structure' --data-urlencode limit=5
answer GET /search 200 /api/search -G --data-urlencode 'q=perovskite' --data-urlencode type=proposal,publication
answer GET /search 400 /api/search -G --data-urlencode 'q=neutron AND'
answer GET /search 400 /api/search -G --data-urlencode 'q=neutron' --data-urlencode type=paper
# The match review and the collections (this server has no admin token).
J=(-H 'Content-Type: application/json')
answer GET /matches 200 /api/matches -G --data-urlencode state=all --data-urlencode limit=3
mid=$(jq -r '.results[0].id // empty' "$T/answer$k.json")
answer GET /matches 400 /api/matches -G --data-urlencode state=maybe
if [ -n "$mid" ]; then
    answer POST '/matches/{id}' 200 "/api/matches/$mid" -X POST "${J[@]}" -d '{"state":"confirmed"}'
    answer POST '/matches/{id}' 200 "/api/matches/$mid" -X POST "${J[@]}" -d '{"state":"candidate"}'
fi
answer POST '/matches/{id}' 404 /api/matches/99999999 -X POST "${J[@]}" -d '{"state":"confirmed"}'
answer POST '/matches/{id}' 400 /api/matches/1 -X POST "${J[@]}" -d '{"state":"maybe"}'
answer POST /collections 201 /api/collections -X POST "${J[@]}" -d '{"name":"OpenAPI","description":null}'
cpid=$(jq -r .pid "$T/answer$k.json")
answer POST /collections 400 /api/collections -X POST "${J[@]}" -d '{"nom":"x"}'
answer POST '/collections/{pid}/items' 200 "/api/collections/$cpid/items" -X POST "${J[@]}" \
    -d '{"items":[{"type":"instrument","pid":"isis:WISH","note":"n"},{"type":"dataset","pid":"no/such"}]}'
answer POST '/collections/{pid}/items' 400 "/api/collections/$cpid/items" -X POST "${J[@]}" \
    -d '{"items":[{"type":"person","pid":"x"}]}'
answer DELETE '/collections/{pid}/items' 200 "/api/collections/$cpid/items" -X DELETE "${J[@]}" \
    -d '{"items":[{"type":"dataset","pid":"no/such"}]}'
answer GET '/collections/{pid}' 200 "/api/collections/$cpid"
answer GET '/collections/{pid}' 404 /api/collections/c-000000000000
answer GET /collections 200 /api/collections
answer GET /health 200 /health
answer GET / 200 /api
out=$(perl "$PS_SOURCE_DIR/tests/integration/openapi-check.pl" "$DOC" "$T/cases" 2>&1)
rc=$?
check_eq "$rc" 0 "openapi-check.pl: a valid OpenAPI 3.0 document, examples and answers match its schemas: $out"

# ---- another prefix ---------------------------------------------------------------

stop_serve
write_config "$T/pansift.ini" "$T/data" "api_prefix = /panosc/search-api
[source sample]
type = pan
url = file://$T/cat"
start_serve "$T/pansift.ini"
fetch_doc /panosc/search-api
compare_routes /panosc/search-api
get "$SERVE_URL/panosc/search-api/Instruments/count"
check_eq "$STATUS" 200 "the API answers under the new prefix"
stop_serve
finish
