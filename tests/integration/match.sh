#!/usr/bin/env bash
# match: `pansift match` on the JOSE papers of the shared corpus
# (shared/corpus/pdf/jose, harvested with the pdf source) and proposals made
# at test time from them as a PaN file:// catalogue: for each paper a
# proposal of its authors with its title and abstract (soft evidence, a
# true match), one whose dataset has a DOI only that paper cites (hard, a
# true match), and decoys (the same team starting after the paper, the same
# team on another subject, a same-surname member with another initial,
# grant numbers from the acknowledgements as proposal ids); plus generated
# proposal-code mentions (a true code, and a code of a proposal that starts
# after the paper). It checks the tiers, the filters, confirm and reject
# through the CLI, the incremental runs, and that precision on the
# labelled set is at least 0.95 for hard evidence; it prints the
# per-tier figures (docs/benchmarks.md). MATCH_KEEP=DIR keeps the store,
# the catalogue and the labels there.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

JOSE="$PS_SOURCE_DIR/../shared/corpus/pdf/jose"
[ -d "$JOSE" ] || { echo "no corpus at $JOSE"; exit 1; }
command -v jq >/dev/null || { echo "jq missing"; exit 1; }

P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }

# ---- the papers ----------------------------------------------------------
mkdir -p "$T/papers" "$T/cat"
cp "$JOSE"/*.pdf "$T/papers/"
write_config "$T/pansift.ini" "$T/data" "[source papers]
type = pdf
url = file://$T/papers
jobs = 2
timeout = 20000"
P init >/dev/null
out=$(P harvest 2>&1)
check_eq "$?" 0 "pdf harvest ($out)"

# ---- proposals derived from the papers ------------------------------------
# One row per paper: pid, title, year, abstract head, authors, and a DOI in
# its references that no other paper cites.
Q -json "SELECT u.pid, u.title, u.year, substr(coalesce(u.abstract, ''), 1,
  600) AS abstract, (SELECT json_group_array(full_name) FROM (SELECT
  p.full_name FROM member m JOIN person p ON p.id = m.person_id WHERE
  m.doc_kind = 9 AND m.doc_id = u.id ORDER BY m.position)) AS authors,
  (SELECT r.doi FROM publication_reference r WHERE r.publication_id = u.id
  AND r.doi IS NOT NULL AND NOT EXISTS (SELECT 1 FROM publication_reference
  o WHERE o.doi = r.doi COLLATE NOCASE AND o.publication_id != u.id)
  ORDER BY r.position LIMIT 1) AS refdoi FROM publication u WHERE u.year IS
  NOT NULL ORDER BY u.pid" > "$T/papers.json"
npapers=$(jq length "$T/papers.json")
check [ "$npapers" -ge 30 ] -- "papers with a year: $npapers"

jq -c '
  def team($p; n): [$p.authors // "[]" | fromjson | to_entries[] | {role: "co-proposer",
    person: {id: ("a\(n)-\(.key)"), fullName: .value,
      lastName: (.value | split(" ") | last),
      firstName: (.value | split(" ") | .[:-1] | join(" "))}}];
  def prop(pid; title; summary; year; members; ds): {pid: pid, type:
    "proposal", title: title, summary: summary, startDate: "\(year)-03-01",
    members: members, datasets: ds};
  [to_entries[] | .key as $n | .value as $p | ($p.authors // "[]" | fromjson) as $a
   | (if ($a[0] // "" | startswith("Q")) then "Xavier" else "Quentin"
      end) as $o
   | (if ($a | length) > 0 then
       prop("soft-\($n)"; $p.title; $p.abstract; $p.year - 1; team($p; $n); []),
       prop("older-\($n)"; $p.title; $p.abstract; $p.year + 1; team($p; $n); []),
       prop("team-\($n)"; "Zeolite catalysis under pressure";
            "Operando diffraction of zeolites"; $p.year - 1; team($p; $n); []),
       prop("surname-\($n)"; $p.title; $p.abstract; $p.year - 1;
            [{role: "principal investigator", person: {id: "s\($n)",
              fullName: ($o + " " + ($a[0] | split(" ") | last)),
              firstName: $o, lastName: ($a[0] | split(" ") | last)}}];
            [])
     else empty end),
     (if $p.refdoi then prop("hard-\($n)"; "Beamtime \($n)"; null;
        $p.year - 1; []; [$p.refdoi]) else empty end),
     prop("gen-\($n)"; "Allocated beamtime \($n)"; null; $p.year - 1; []; []),
     prop("genlate-\($n)"; "Later beamtime \($n)"; null; $p.year + 2; [];
          [])]
  + [("UF130329", "STU0149", "1845117", "P-2020-13988") as $g |
     prop($g; "Grant look-alike \($g)"; null; 2010; []; [])]' \
    "$T/papers.json" > "$T/cat/Documents.json"
jq -c '[to_entries[] | select(.value.refdoi) | {pid: .value.refdoi,
  title: "Data of beamtime \(.key)"}]' \
    "$T/papers.json" > "$T/cat/Datasets.json"
echo '[]' > "$T/cat/Instruments.json"
nprops=$(jq length "$T/cat/Documents.json")

# Labels: publication, proposal, 1|0, expected tier.
jq -r 'to_entries[] | .key as $n | .value as $p | ($p.authors // "[]" |
  fromjson | length) as $na |
  (if $na > 0 then "\($p.pid)\tsoft-\($n)\t1\tsoft",
     "\($p.pid)\tolder-\($n)\t0\t-", "\($p.pid)\tteam-\($n)\t0\t-",
     "\($p.pid)\tsurname-\($n)\t0\t-" else empty end),
  (if $p.refdoi then "\($p.pid)\thard-\($n)\t1\thard" else empty end),
  "\($p.pid)\tgen-\($n)\t1\thard", "\($p.pid)\tgenlate-\($n)\t0\t-"' \
    "$T/papers.json" > "$T/labels.tsv"
for g in UF130329 STU0149 1845117 P-2020-13988; do
    printf '10.21105/jose.00019\t%s\t0\t-\n' "$g" >> "$T/labels.tsv"
done

write_config "$T/pansift.ini" "$T/data" "[source papers]
type = pdf
url = file://$T/papers
jobs = 2
timeout = 20000
[source cat]
type = pan
url = file://$T/cat"
out=$(P harvest 2>&1)
check_eq "$?" 0 "catalogue harvest ($out)"
check_eq "$(Q "SELECT count(*) FROM proposal")" "$nprops" "$nprops proposals"

# Generated mentions, as the pdf source writes them: each paper names its
# own proposal gen-N in its acknowledgements, and genlate-N (a proposal that
# starts two years after the paper) in its text.
jq -r 'to_entries[] | "INSERT INTO mention (publication_id, kind, value,
  matched, section, offset, length, context, context_at, confidence) SELECT
  id, '\''proposal'\'', '\''gen-\(.key)'\'', '\''gen-\(.key)'\'',
  '\''acknowledgements'\'', 0, 6, '\''under proposal gen-\(.key)'\'', 15, 0.9
  FROM publication WHERE pid = '\''\(.value.pid)'\'';
  INSERT INTO mention (publication_id, kind, value, matched, section, offset,
  length, context, context_at, confidence) SELECT id, '\''proposal'\'',
  '\''genlate-\(.key)'\'', '\''genlate-\(.key)'\'', '\''text'\'', 0, 10,
  '\''experiment genlate-\(.key)'\'', 11, 0.9 FROM publication WHERE pid =
  '\''\(.value.pid)'\'';"' "$T/papers.json" | Q

# ---- the matcher -----------------------------------------------------------
check_contains "$(P match --help)" "--evaluate" "match --help"
P match --bogus >/dev/null 2>&1
check_eq "$?" 2 "unknown option is a usage error"
P match --confirm abc >/dev/null 2>&1
check_eq "$?" 2 "a bad link id is a usage error"
out=$(P match --json)
check_eq "$?" 0 "first run"
check_eq "$(echo "$out" | jq .publications)" \
    "$(Q "SELECT count(*) FROM publication")" "every publication examined"
check [ "$(echo "$out" | jq .filtered_year)" -ge "$npapers" ] -- \
    "older papers filtered ($out)"
out2=$(P match --json)
check_eq "$(echo "$out2" | jq .publications)" 0 "second run: nothing changed"

soft0=$(Q "SELECT count(*) FROM link WHERE dst_ref LIKE 'soft-%'")
check [ "$soft0" -ge 20 ] -- "soft matches of the papers' teams: $soft0"
# No decoy of a paper is linked to that paper (another paper of the same
# team may match it: that is counted in the figures below).
P match --list all | cut -f5,6 | sort > "$T/links.tsv"
awk -F'\t' '$3 == "0" {print $1 "\t" $2}' "$T/labels.tsv" | sort > "$T/neg.tsv"
check_eq "$(comm -12 "$T/links.tsv" "$T/neg.tsv" | wc -l)" 0 \
    "no decoy linked to its paper"
check_eq "$(Q "SELECT count(*) FROM link WHERE dst_ref LIKE 'gen-%' AND
  score >= 0.9")" "$npapers" "every generated code is a hard match"
ev=$(Q "SELECT evidence FROM link WHERE dst_ref = 'hard-0'")
check_eq "$(echo "$ev" | jq -r '.[0].kind + "/" + .[0].via')" \
    "data-doi/reference" "data DOI evidence says where it was found ($ev)"
ev=$(Q "SELECT evidence FROM link WHERE dst_ref = 'soft-0'")
check_eq "$(echo "$ev" | jq -r '[.[].kind] | unique | join(",")')" \
    "member,similarity" "soft evidence: members and similarity"

# Confirm and reject through the CLI; later runs respect both.
lid=$(Q "SELECT id FROM link WHERE dst_ref = 'soft-0'")
rid=$(Q "SELECT id FROM link WHERE dst_ref = 'gen-0'")
P match --confirm "$lid" >/dev/null
check_eq "$?" 0 "confirm"
P match --reject "$rid" >/dev/null
check_eq "$?" 0 "reject"
P match --reject 999999 >/dev/null 2>&1
check_eq "$?" 1 "rejecting an unknown link fails"
out=$(P match --json)
check [ "$(echo "$out" | jq .publications)" -ge 1 ] -- \
    "the judged records are looked at again"
P match --full >/dev/null
check_eq "$(Q "SELECT state || '/' || provenance FROM link WHERE id = $lid")" \
    "1/3" "confirmed stays confirmed"
check_eq "$(Q "SELECT state || '/' || provenance FROM link WHERE id = $rid")" \
    "2/3" "rejected stays rejected"
check_eq "$(P match --list rejected | cut -f1)" "$rid" "--list rejected"
check_eq "$(P match --list all --json | jq 'length > 0')" true "--list --json"

# ---- precision and recall ---------------------------------------------------
# Evaluate on the links as the matcher made them (the rejection above is a
# judgement, not the matcher's output: undo it).
Q "UPDATE link SET state = 0, provenance = 1 WHERE id = $rid"
res=$(P match --evaluate "$T/labels.tsv" --json)
check_eq "$?" 0 "evaluate"
echo "labels: $(wc -l < "$T/labels.tsv") pairs over $npapers papers, $nprops proposals"
P match --evaluate "$T/labels.tsv"
check_eq "$(echo "$res" | jq '.hard.precision >= 0.95')" true \
    "hard precision >= 0.95 ($res)"
check_eq "$(echo "$res" | jq '.all.recall >= 0.8')" true "recall >= 0.8 ($res)"
printf 'x\ty\tmaybe\n' > "$T/bad.tsv"
P match --evaluate "$T/bad.tsv" >/dev/null 2>&1
check_eq "$?" 2 "a malformed labels file is a usage error"
if [ -n "${MATCH_KEEP:-}" ]; then
    mkdir -p "$MATCH_KEEP" && cp -r "$T/data" "$T/cat" "$T/labels.tsv" \
        "$MATCH_KEEP/"
fi
finish
