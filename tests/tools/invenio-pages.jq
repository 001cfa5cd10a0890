# invenio-pages.jq: turn the CERN Open Data records of the shared corpus
# (shared/corpus/invenio-cern/*.json, each a record or an array of records)
# into the paged answers of an Invenio v3 records REST API, as ps-replay
# exchanges: GET /records?size=N&sort=updated-asc, then links.next page by
# page. Records are put in recid order and every one becomes a hit {id,
# created, updated, metadata, links} with `updated` one minute after the
# previous one, so a listing sorted by updated-asc is in recid order.
#
# Arguments (jq --argjson): size (records per page), window (the search
# window: the first query ends without links.next after this many hits,
# as Elasticsearch's 10k window; the harvester must go on with
# q=updated:[<last updated> TO *]), broken (index of a record whose title
# is removed: it must be rejected). Use: jq -n -c --argjson size 100 ...
#   -f invenio-pages.jq FILES... > exchanges.json
# SPDX-License-Identifier: GPL-2.0-or-later
def host: "https://opendata.cern.ch";
def stamp($i): (1704067200 + $i * 60) | todate;
def hit($i; $r):
  {id: ($r.recid | tonumber), created: stamp($i), updated: stamp($i),
   metadata: (if $i == $broken then $r | del(.title) else $r end),
   links: {self: "\(host)/api/records/\($r.recid)"}};
def page_path($q; $page):
  "/records?" + ([(if $q then "q=\($q | @uri)" else empty end),
                  (if $page > 1 then "page=\($page)" else empty end),
                  "size=\($size)", "sort=updated-asc"] | join("&"));
# One query chain: hits[from:to], all of it announced as total.
def chain($q; $hits; $total; $total_json):
  [range(0; ($hits | length); $size) as $off
   | ($off / $size + 1) as $page
   | {method: "GET", path: page_path($q; $page), status: 200,
      headers: {"Content-Type": "application/json"},
      body: {hits: {hits: $hits[$off:$off + $size], total: $total_json},
             links: ({self: (host + "/api" + page_path($q; $page))}
                     + (if $off + $size < ($hits | length)
                        then {next: (host + "/api" + page_path($q; $page + 1))}
                        else {} end))}}];
[inputs | if type == "array" then .[] else . end]
| sort_by(.recid | tonumber) as $recs
| [range(0; $recs | length) as $i | hit($i; $recs[$i])] as $hits
| ($hits | length) as $n
| $hits[$window - 1].updated as $floor
| chain(null; $hits[0:$window]; $n; $n)
  + chain("updated:[\($floor) TO *]"; $hits[$window - 1:];
          $n - $window + 1; {value: ($n - $window + 1), relation: "eq"})
