#!/usr/bin/env bash
# lb3-to-pan.sh: makes a PaN file:// catalogue (the directory a `type = pan`
# source with a file:// url harvests: Instruments.json, Datasets.json,
# Documents.json) from a LoopBack 3 memory database such as
# shared/corpus/pan-reference/provider1-db.json, so that a plain pansift
# can serve the same records as the reference's test providers. The work is
# done by lb3-to-pan.jq beside it, once per collection.
#
#   lb3-to-pan.sh DB.json OUTDIR
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
if [ $# -ne 2 ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
db=$1
out=$2
prog="$(dirname "$0")/lb3-to-pan.jq"
mkdir -p "$out"
for m in Instruments Datasets Documents; do
    jq -r --arg model "$m" -f "$prog" "$db" > "$out/$m.json.tmp"
    mv "$out/$m.json.tmp" "$out/$m.json"
done
