#!/usr/bin/env bash
# units: parameter scopes (PaN spec §4.5, §4.6). Name, value and unit of a
# group match one parameter row; a group with a unit compares in SI
# (parameters stored in eV, keV, K, celsius, angstrom, nm) and the matching
# parameter comes back in the query's unit; several parameter includes are
# ANDed and show the parameters each matched; an unknown unit, or one that
# cannot describe the parameter, is a 400 that says so.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

write_config "$T/pansift.ini" "$T/data" "[source units]
type = pan
url = file://$PS_TEST_DATA/units"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
check P init -- "init"
check P harvest --index -- "harvest"
start_serve "$T/pansift.ini"

# find INCLUDES-JSON: the answer in $T/body.
find() {
    local f
    f=$(jq -cn --argjson i "$1" '{include: $i}')
    get "$SERVE_URL/api/Datasets" --data-urlencode "filter=$f" -G
}
# scope WHERE...: one parameters include per WHERE.
scope() {
    local incs='[]' w
    for w in "$@"; do
        incs=$(jq -cn --argjson a "$incs" --argjson w "$w" '$a + [{relation: "parameters", scope: {where: $w}}]')
    done
    find "$incs"
}
pids() { jq -r '[.[].pid] | join(" ")' "$T/body"; }

scope '{"and": [{"name": "photon_energy"}, {"value": {"between": [0.9, 1]}}, {"unit": "keV"}]}'
check_eq "$STATUS" 200 "keV range"
check_eq "$(pids)" "ds/a" "930 eV is between 0.9 and 1 keV"
check_eq "$(jq -c '.[0].parameters | map([.name, .value, .unit])' "$T/body")" '[["photon_energy",0.93,"keV"]]' "the parameter comes back in keV"

scope '{"and": [{"name": "photon_energy"}, {"value": {"gt": 5000}}, {"unit": "eV"}]}'
check_eq "$(pids)" "ds/b ds/c" "12 keV and 8000 eV are above 5000 eV"
check_eq "$(jq -c '[.[].parameters[0].value]' "$T/body")" '[12000,8000]' "shown in eV"

scope '{"and": [{"name": "temperature"}, {"value": {"gte": 0}}, {"unit": "celsius"}]}'
check_eq "$(pids)" "ds/a ds/b" "affine units: 293.15 K and 20 celsius are at or above 0 celsius, 4 K is not"
check_eq "$(jq -c '[.[].parameters[0].value]' "$T/body")" '[20,20]' "both shown as 20 celsius"

scope '{"and": [{"name": "wavelength"}, {"value": 0.154}, {"unit": "nm"}]}'
check_eq "$(pids)" "ds/a" "equality across units: 1.54 angstrom is 0.154 nm"

scope '{"and": [{"name": "photon_energy"}, {"value": {"between": [930, 930]}}, {"unit": "eV"}]}'
check_eq "$(pids)" "ds/a" "a range closed on the value itself"
scope '{"and": [{"name": "photon_energy"}, {"value": {"gte": 12}}, {"unit": "keV"}]}'
check_eq "$(pids)" "ds/b" "gte includes its bound"
scope '{"and": [{"name": "photon_energy"}, {"value": {"lt": 0.93}}, {"unit": "keV"}]}'
check_eq "$(pids)" "" "lt excludes its bound"
scope '{"and": [{"name": "photon_energy"}, {"value": {"lte": 0.93}}, {"unit": "keV"}]}'
check_eq "$(pids)" "ds/a" "lte includes it"
scope '{"and": [{"name": "magnetic_field"}, {"value": {"between": [-1, 0]}}, {"unit": "T"}]}'
check_eq "$(pids)" "ds/c" "negative values"
scope '{"and": [{"name": "magnetic_field"}, {"value": {"gt": -600}}, {"unit": "mT"}]}'
check_eq "$(pids)" "ds/c" "negative values, prefixed unit, open range"
scope '{"and": [{"name": "magnetic_field"}, {"value": {"lt": -600}}, {"unit": "mT"}]}'
check_eq "$(pids)" "" "and the other side"

scope '{"name": "photon_energy", "value": {"gt": 900}}'
check_eq "$(pids)" "ds/a ds/c" "without a unit, values compare as stored, as numbers"
scope '{"and": [{"name": "sample_state"}, {"value": "solid"}]}'
check_eq "$(pids)" "ds/c" "string values"
scope '{"and": [{"name": "temperature"}, {"value": 4}, {"unit": "K"}]}' '{"and": [{"name": "photon_energy"}, {"value": {"gt": 5}}, {"unit": "keV"}]}'
check_eq "$(pids)" "ds/c" "two parameter includes are ANDed"
check_eq "$(jq -c '.[0].parameters | map([.name, .value, .unit])' "$T/body")" '[["photon_energy",8,"keV"],["temperature",4,"K"]]' "and show the parameters each matched, each in its unit"
scope '{"or": [{"and": [{"name": "photon_energy"}, {"value": {"gt": 10}}, {"unit": "keV"}]}, {"and": [{"name": "temperature"}, {"value": {"lt": 5}}, {"unit": "K"}]}]}'
check_eq "$(pids)" "ds/b ds/c" "groups combined by or"
scope '{"and": [{"name": "temperature"}, {"value": 300}, {"unit": "K"}]}'
check_eq "$(pids)" "" "a value stored without a unit is not a kelvin"
scope '{"and": [{"name": "temperature"}, {"value": 4}, {"unit": "K"}, {"name": "photon_energy"}]}'
check_eq "$(pids)" "" "name, value and unit are about the same parameter"

scope '{"and": [{"name": "temperature"}, {"value": 300}, {"unit": "m"}]}'
check_eq "$STATUS" 400 "a temperature asked in metres"
check_contains "$(jq -r .error.message "$T/body")" '"temperature" is measured in K' "the message says what the parameter is measured in"
scope '{"and": [{"name": "temperature"}, {"value": 300}, {"unit": "furlongz"}]}'
check_eq "$STATUS" 400 "an unknown unit"
check_contains "$(jq -r .error.message "$T/body")" 'unknown unit "furlongz"' "the message names it"
finish
