#!/usr/bin/env bash
# crossref-pages.sh: turns Crossref works into the cursor-paged answers of
# the Crossref REST API's /works list, as ps-replay exchanges (see
# tests/tools/README.md), so that the crossref harvester can be tested on
# real works without the network. It is not a Crossref emulator: it serves
# the works it is given in the order given, whatever the filter says.
#
#   crossref-pages.sh WORKS.json ROWS QUERY [RATE_LIMIT] > exchanges.json
#
# WORKS.json: a JSON array of work objects (the "message" of /works/{doi}).
# ROWS: items per page (the harvester's page_size). QUERY: the query string
# the harvester sends without its cursor, e.g.
# "rows=2&filter=prefix%3A10.1155&mailto=ops%40example.org". RATE_LIMIT:
# the X-Rate-Limit-Limit each answer announces per 1s interval (default 50,
# what Crossref announced for years). Page k (from 0) answers the request
# with cursor "*" (k = 0) or "AoJ+page/k==" (a cursor with characters that
# must be URL-encoded), and names "AoJ+page/(k+1)==" as its next-cursor.
# When the works fill the last page exactly, an empty page follows, as
# Crossref answers past the end.
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
works=$1 rows=$2 query=$3 limit=${4:-50}
jq -c --argjson rows "$rows" --arg q "$query" --arg limit "$limit" '
  def cur(k): if k == 0 then "*" else "AoJ+page/\(k)==" end;
  . as $w | ($w | length) as $n
  | ((($n + $rows - 1) / $rows | floor) + (if $n % $rows == 0 then 1 else 0 end)) as $pages
  | [range(0; $pages) as $k
     | {method: "GET",
        path: "/works?\($q)&cursor=\(cur($k) | @uri)",
        status: 200,
        headers: {"Content-Type": "application/json;charset=UTF-8",
                  "X-Rate-Limit-Limit": $limit,
                  "X-Rate-Limit-Interval": "1s"},
        body: {status: "ok", "message-type": "work-list",
               "message-version": "1.0.0",
               message: {facets: {}, "total-results": $n,
                         items: $w[$k * $rows : ($k + 1) * $rows],
                         "items-per-page": $rows,
                         "next-cursor": cur($k + 1),
                         query: {"start-index": 0, "search-terms": null}}}}]
' "$works"
