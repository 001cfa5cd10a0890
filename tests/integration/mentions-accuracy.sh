#!/usr/bin/env bash
# mentions-accuracy: `pansift mentions-accuracy` over the annotated
# acknowledgement statements of the shared corpus, with the hand-annotated
# supplementary gold of tests/data/mentions. The floors are the figures
# measured when the matcher was written (docs/mentions.md) minus a small
# margin, so that a change of the tables or rules that costs precision or
# recall fails here. Also: the command's usage errors.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

CORPUS="$PS_SOURCE_DIR/../shared/corpus"
GOLD="$PS_TEST_DATA/mentions/facility-acknowledgements.gold.tsv"
[ -f "$CORPUS/acknowledgements/facility-acknowledgements.xml" ] ||
    { echo "no corpus at $CORPUS"; exit 1; }

out=$("$PANSIFT" mentions-accuracy --json --corpus "$CORPUS" --gold "$GOLD")
check_eq "$?" 0 "mentions-accuracy runs"
check_eq "$(jq .statements <<<"$out")" 49 "49 statements"
# at_least KIND FIELD FLOOR
at_least() {
    local v
    v=$(jq ".kinds.$1.$2" <<<"$out")
    if jq -e --argjson v "$v" "\$v >= $3" <<<null >/dev/null; then ok; else
        fail "$1 $2 $v < $3"; fi
}
# Measured: facility P 1.00 R 0.889; instrument P 1.00 R 0.818;
# proposal P 1.00 R 1.00 (one gold mention).
at_least facility precision 0.95
at_least facility recall 0.85
at_least instrument precision 0.95
at_least instrument recall 0.75
at_least proposal precision 0.99
at_least proposal recall 0.99

# The text form, and --min-confidence: only cue-backed mentions.
txt=$("$PANSIFT" mentions-accuracy --corpus "$CORPUS" --gold "$GOLD" --min-confidence 0.9)
check_contains "$txt" "facility" "text table"

# Usage errors: exit 2 with a message.
"$PANSIFT" mentions-accuracy >/dev/null 2>&1
check_eq "$?" 2 "no FILE: usage error"
"$PANSIFT" mentions-accuracy --min-confidence 2 --corpus "$CORPUS" >/dev/null 2>&1
check_eq "$?" 2 "bad --min-confidence"
printf '99\tfacility\tESRF\n' > "$T/bad.tsv"
"$PANSIFT" mentions-accuracy --corpus "$CORPUS" --gold "$T/bad.tsv" >/dev/null 2>&1
check_eq "$?" 2 "gold line out of range"
"$PANSIFT" mentions-accuracy --help | grep -q 'precision' && ok || fail "--help"
finish
