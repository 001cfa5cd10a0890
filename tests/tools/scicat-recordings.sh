#!/usr/bin/env bash
# scicat-recordings.sh: turn SciCat's seed catalogue (the MongoDB seed files
# of scicatlive: Dataset.json, Instrument.json, Proposal.json, Sample.json,
# OrigDatablock.json, PublishedData.json, with {"$date": ...} dates and
# _id keys) into the answers a SciCat backend gives, as ps-replay exchange
# recordings: every page the "scicat" harvester asks for at PAGE records a
# page (v3 routes, and the v4 public datasets route), ordered by the key the
# harvester orders by, up to the empty page after the last, plus the
# OrigDatablocks and Samples of each page of datasets. With SINCE, the pages
# of an incremental run (updatedAt > SINCE) instead. jq only.
#   scicat-recordings.sh SEED_DIR OUT.json PAGE [SINCE]
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 SEED_DIR OUT.json PAGE [SINCE]" >&2; exit 2; }
seed=$1 out=$2 page=$3 since=${4:-}

jq -n --arg since "$since" --argjson page "$page" \
    --slurpfile ds "$seed/Dataset.json" --slurpfile ins "$seed/Instrument.json" \
    --slurpfile pr "$seed/Proposal.json" --slurpfile sa "$seed/Sample.json" \
    --slurpfile ob "$seed/OrigDatablock.json" --slurpfile pd "$seed/PublishedData.json" '
# MongoDB seed -> API shape: dates as ISO strings, _id as the model id.
def api($id): walk(if type == "object" and has("$date") then .["$date"] else . end)
    | map(if has("_id") then (.[$id] = ._id | del(._id)) else . end);
def newer: if $since == "" then . else map(select((.updatedAt // "") > $since)) end;
def where($w): ($w + (if $since == "" then [] else ["\"updatedAt\":{\"gt\":\"\($since)\"}"] end))
    | if length == 0 then "" else "\"where\":{\(join(","))}," end;
def where4: if $since == "" then "" else "\"where\":{\"updatedAt\":{\"$gt\":\"\($since)\"}}," end;
def filter($w; $skip; $key): "{\($w)\"limits\":{\"limit\":\($page),\"skip\":\($skip),\"order\":\"\($key):asc\"}}";
def ex($route; $filter; $body): {method: "GET", path: "/api/\($route)?filter=\($filter | @uri)", status: 200, body: $body};
# the pages of a listing as the harvester asks for them: skip advances by
# the records received, up to the empty page after the last
def pages($recs; $route; $w; $key):
    [0 | recurse(if . < ($recs | length) then [. + $page, ($recs | length)] | min else empty end)
     | ex($route; filter($w; .; $key); $recs[.:. + $page])];
def uniq: reduce .[] as $x ([]; if any(.[]; . == $x) then . else . + [$x] end);
# files and samples of one page of datasets
def extras($p; $blocks; $samples):
    ([$p[] | .pid // empty]) as $ids
    | ([$p[] | .sampleId // empty, (.sampleIds // [])[]] | uniq) as $sids
    | (if ($ids | length) > 0 then [ex("v3/OrigDatablocks"; "{\"where\":{\"datasetId\":{\"inq\":\($ids | tojson)}}}";
          [$blocks[] | select(.datasetId as $d | $ids | index([$d]))])] else [] end)
    + (if ($sids | length) > 0 then [ex("v3/Samples"; "{\"where\":{\"sampleId\":{\"inq\":\($sids | tojson)}}}";
          [$samples[] | select(.sampleId as $s | $sids | index([$s]))])] else [] end);
($ob[0] | api("id")) as $blocks
| ($sa[0] | api("sampleId")) as $samples
| ($ds[0] | api("pid") | sort_by(.creationTime) | newer) as $datasets
| ($datasets | map(select(.isPublished == true))) as $public
| (pages($ins[0] | api("pid") | sort_by(.pid) | newer; "v3/Instruments"; where([]); "pid"))
+ (pages($pr[0] | api("proposalId") | sort_by(.proposalId) | newer; "v3/Proposals"; where([]); "proposalId"))
+ (pages($public; "v3/Datasets"; where(["\"isPublished\":true"]); "creationTime"))
+ ([range(0; $public | length; $page) as $s | extras($public[$s:$s + $page]; $blocks; $samples)] | add // [])
+ (pages($public; "v4/datasets/public"; where4; "creationTime"))
+ (pages($pd[0] | api("doi") | map(select(.status == "registered")) | sort_by(.doi) | newer;
        "v3/PublishedData"; where(["\"status\":\"registered\""]); "doi"))
' > "$out"
