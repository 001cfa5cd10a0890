#!/usr/bin/env bash
# techniques: technique scopes are "deep" and judged per dataset (PaN spec
# §5.2). The ten datasets and ten queries of the PaN requirement document
# (panosc-eu/search-api doc/dataset-techniques-requirements.md) with their
# expected answers, against the PaNET ontology shipped with pansift; half
# the datasets name their technique by a local pid plus panetId (the
# reference's way), half by the IRI as pid (SciCat's). Also: by IRI, by
# synonym, inq/nin, the techniques shown, pagination after the scope, and a
# dataset without techniques never matching.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

write_config "$T/pansift.ini" "$T/data" "[source tech]
type = pan
url = file://$PS_TEST_DATA/techniques"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
check P init -- "init (imports the shipped PaNET)"
check P harvest --index -- "harvest"
start_serve "$T/pansift.ini"

# pids WHERE: the dataset numbers a technique scope returns, e.g. "2 3 9".
pids() {
    local f
    f=$(jq -cn --argjson w "$1" '{include: [{relation: "techniques", scope: {where: $w}}]}')
    get "$SERVE_URL/api/Datasets" --data-urlencode "filter=$f" -G
    if [ "$STATUS" != 200 ]; then echo "status $STATUS: $(cat "$T/body")"; return; fi
    jq -r '[.[].pid | ltrimstr("ds/") | tonumber | tostring] | join(" ")' "$T/body"
}
q() { check_eq "$(pids "$1")" "$2" "$3"; }

XES='{"name": "x-ray emission spectroscopy"}'
SAS='{"name": "small angle scattering"}'
MAG='{"name": "magnetism technique"}'
XRAY='{"name": "x-ray probe"}'
q "$XES" "7 8 9 10" "query 1: x-ray emission spectroscopy"
q "$SAS" "2 3 4 5 9 10" "query 2: small angle scattering and its descendants"
q '{"name": {"neq": "x-ray emission spectroscopy"}}' "1 2 3 4 5 6" "query 3: not XES (a dataset with XES and more is out)"
q '{"name": {"neq": "small angle scattering"}}' "1 6 7 8" "query 4: not SAS"
q "{\"and\": [$SAS, $MAG]}" "" "query 5: SAS and magnetism: none"
q "{\"or\": [$SAS, $MAG]}" "2 3 4 5 6 8 9 10" "query 6: SAS or magnetism"
q "{\"and\": [$SAS, $XRAY]}" "2 3 4 5 9 10" "query 7: SAS and x-ray probe"
q "{\"or\": [$SAS, $XRAY]}" "1 2 3 4 5 6 7 8 9 10" "query 8: SAS or x-ray probe"
q "{\"and\": [$SAS, {\"name\": {\"neq\": \"x-ray probe\"}}]}" "" "query 9: SAS but not x-ray probe"
q "{\"and\": [$SAS, {\"name\": {\"neq\": \"magnetism technique\"}}]}" "2 3 4 5 9 10" "query 10: SAS but not magnetism"

# By IRI, as pid (the requirement's form) and as panetId, long form too.
q '{"pid": "http://purl.org/pan-science/PaNET/PaNET01124"}' "2 3 4 5 9 10" "SAS by IRI as pid"
q '{"panetId": {"eq": "http://purl.org/pan-science/PaNET/PaNET01124"}}' "2 3 4 5 9 10" "SAS by IRI as panetId"
q '{"pid": {"inq": ["http://purl.org/pan-science/PaNET/PaNET01200", "http://purl.org/pan-science/PaNET/PaNET00207"]}}' "6 7 8 9 10" "inq: XES or magnetism"
q '{"pid": {"nin": ["http://purl.org/pan-science/PaNET/PaNET01200", "http://purl.org/pan-science/PaNET/PaNET00207"]}}' "1 2 3 4 5" "nin: neither XES nor magnetism"
q '{"name": "XES"}' "7 8 9 10" "by synonym"
q '{"name": "Small Angle Scattering"}' "2 3 4 5 9 10" "names in any letter case"
q '{"pid": "tech/xes"}' "7 9" "a local pid the ontology does not know matches literally"
q '{"name": {"like": "tomography"}}' "6 8" "like on names, per dataset"

# The techniques shown: those in the named set, not the dataset's others.
f='{"include": [{"relation": "techniques", "scope": {"where": {"name": "small angle scattering"}}}], "where": {"pid": "ds/09"}}'
get "$SERVE_URL/api/Datasets" --data-urlencode "filter=$f" -G
check_eq "$(jq -c '[.[0].techniques[].name]' "$T/body")" '["grazing incidence small angle x-ray scattering"]' "only the matching technique is shown"
f='{"include": [{"relation": "techniques", "scope": {"where": {"name": {"neq": "magnetism technique"}}}}], "where": {"pid": "ds/09"}}'
get "$SERVE_URL/api/Datasets" --data-urlencode "filter=$f" -G
check_eq "$(jq '.[0].techniques | length' "$T/body")" 2 "a negative scope shows all the dataset's techniques"

# Pagination after the scope: pages are full, in pid order.
f='{"include": [{"relation": "techniques", "scope": {"where": {"name": "small angle scattering"}}}], "skip": 2, "limit": 3}'
get "$SERVE_URL/api/Datasets" --data-urlencode "filter=$f" -G
check_eq "$(jq -c '[.[].pid]' "$T/body")" '["ds/04","ds/05","ds/09"]' "skip and limit count datasets that pass the scope"

# Nested: the techniques scope of datasets of an instrument-less query, and
# an unknown technique name matches nothing rather than failing.
q '{"name": "no such technique"}' "" "an unknown technique matches nothing"
get "$SERVE_URL/api/Datasets/count"
check_eq "$(jq .count "$T/body")" 11 "all eleven datasets are served"
finish
