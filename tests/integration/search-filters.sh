#!/usr/bin/env bash
# search-filters: the filters of GET /api/search (year_from/year_to,
# doctype, facility, instrument, technique, person, institution, country;
# repeatable, values ORed, parameters ANDed) on the sample catalogue, their
# counts checked against counts computed independently from the store with
# sqlite3, and every bad filter value a 400 that says what is wrong.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

"$GENCAT" --out "$T/cat" --datasets 400 --quiet
write_config "$T/pansift.ini" "$T/data" "[source sample]
type = pan
url = file://$T/cat"
P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
P init >/dev/null && P harvest >/dev/null 2>&1 && P index >/dev/null
start_serve "$T/pansift.ini"
S="$SERVE_URL/api/search"
search() { get "$S" -G "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }
count() { # count CURL-ARGS...: the count of a search of every dataset
    search --data q=run --data type=dataset --data limit=0 "$@"
    jq .count "$T/body"
}

# "run" is in every sample dataset's title: the search finds them all.
all=$(Q "select count(*) from dataset where visibility = 0")
check_eq "$(count)" "$all" "q=run finds every public dataset"

# facility: by name as written or in capitals, repeated values ORed.
DSF="from dataset d join instrument i on i.id = d.instrument_id
     join facility f on f.id = i.facility_id where d.visibility = 0"
ill=$(Q "select count(*) $DSF and f.name = 'ILL'")
check test "$ill" -gt 0 -- "the sample has ILL datasets"
check_eq "$(count --data facility=ILL)" "$ill" "facility=ILL"
check_eq "$(count --data facility=ill)" "$ill" "facility=ill"
two=$(Q "select count(*) $DSF and f.name in ('ILL', 'ESRF')")
check_eq "$(count --data facility=ILL --data facility=ESRF)" "$two" "facility repeated: OR"
check_eq "$(count --data-urlencode 'facility=MAX IV')" \
    "$(Q "select count(*) $DSF and f.name = 'MAX IV'")" "a facility with a space"
# The same as the query syntax's facility:
search --data-urlencode 'q=run facility:ILL' --data type=dataset --data limit=0
check_eq "$(jq .count "$T/body")" "$ill" "facility= as facility:"

# year_from / year_to: bounds included, either alone.
Y="cast(strftime('%Y', created / 1000, 'unixepoch') as int)"
check_eq "$(count --data year_from=2015 --data year_to=2017)" \
    "$(Q "select count(*) from dataset where visibility = 0 and $Y between 2015 and 2017")" \
    "year_from=2015&year_to=2017"
check_eq "$(count --data year_from=2018)" \
    "$(Q "select count(*) from dataset where visibility = 0 and $Y >= 2018")" "year_from alone"
check_eq "$(count --data year_to=2012)" \
    "$(Q "select count(*) from dataset where visibility = 0 and $Y <= 2012")" "year_to alone"
# Filters AND: facility and years.
check_eq "$(count --data facility=ILL --data year_from=2015 --data year_to=2017)" \
    "$(Q "select count(*) $DSF and f.name = 'ILL' and $Y between 2015 and 2017")" \
    "facility and years together"

# instrument: by pid.
ipid=$(Q "select instrument_pid from dataset where visibility = 0 and instrument_pid is not null
          group by 1 order by count(*) desc limit 1")
check_eq "$(count --data-urlencode "instrument=$ipid")" \
    "$(Q "select count(*) from dataset where visibility = 0 and instrument_pid = '$ipid'")" \
    "instrument=$ipid"

# technique: a PaNET term finds its narrower techniques too, so at least
# what technique: (the exact technique) finds.
search --data-urlencode 'q=run technique:diffraction' --data type=dataset --data limit=0
exact=$(jq .count "$T/body")
check test "$(count --data technique=diffraction)" -ge "$exact" -- "technique= expands to narrower terms"

# country, institution, person: the members of proposals and publications.
country=$(Q "select i.country from member m join institution i on i.id = m.institution_id
             group by 1 order by count(*) desc limit 1")
search --data q=a --data-urlencode "country=$country" --data limit=100
n=$(jq .count "$T/body")
search --data q=a --data limit=0
check test "$n" -le "$(jq .count "$T/body")" -- "country narrows"

# ---- 400s -----------------------------------------------------------------
bad() { # bad MESSAGE-PART CURL-ARGS...
    local want=$1; shift
    search --data q=run "$@"
    check_eq "$STATUS" 400 "400 for $*"
    check_eq "$(jq -r .error.code "$T/body")" INVALID_PARAMETER "code for $*"
    check_contains "$(jq -r .error.message "$T/body")" "$want" "message for $*"
}
bad 'year_from must be a year' --data year_from=recent
bad 'year_to must be a year' --data year_to=-1
bad 'year_to must be a year' --data year_to=10000
bad 'is after year_to' --data year_from=2020 --data year_to=2010
bad 'facility needs a value' --data facility=
bad 'country needs a value' --data-urlencode 'country=  '
bad 'person needs a value' --data "person=$(head -c 257 /dev/zero | tr '\0' a)"
bad 'technique needs a value' --data 'technique=caf%E9'
args=(); for i in $(seq 17); do args+=(--data "institution=x$i"); done
bad 'institution has more than 16 values' "${args[@]}"
stop_serve
finish
