#!/usr/bin/env bash
# harvest-pdf: the pdf source turns the JOSE papers of the shared corpus
# (shared/corpus/pdf/jose) into publication records: from a folder walked
# recursively and from a list of PDF URLs served by ps-replay. It checks the
# records (title, DOI, authors, full text, acknowledgements, references and
# the mentions with offsets that point at the text they name), that each
# PDF is read once (a second run, a touched file, the same bytes under
# another name), that a damaged, an empty and a missing PDF are per-file
# errors that do not stop the run, that a PDF gone from the folder takes
# its record with it, that Crossref's metadata wins over the PDF's while
# the PDF's text stays, and that a run killed with SIGKILL resumes to the
# same store as an uninterrupted one.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

JOSE="$PS_SOURCE_DIR/../shared/corpus/pdf/jose"
PAGES="$PS_SOURCE_DIR/tests/tools/crossref-pages.sh"
[ -d "$JOSE" ] || { echo "no corpus at $JOSE"; exit 1; }

P() { "$PANSIFT" --quiet --config "$T/pansift.ini" "$@"; }
Q() { sqlite3 "$T/data/store.db" "$@"; }
npdf=$(ls "$JOSE"/*.pdf | wc -l)

# ---- a folder ------------------------------------------------------------
mkdir -p "$T/papers/more"
cp "$JOSE"/*.pdf "$T/papers/"
cp "$JOSE/jose.00019.pdf" "$T/papers/more/copy-of-19.pdf"     # same bytes
head -c 4000 "$JOSE/jose.00027.pdf" > "$T/papers/more/broken.pdf" # truncated
cp "$T/papers/more/broken.pdf" "$T/papers/more/broken-copy.pdf"    # same, broken
ln -s .. "$T/papers/more/up"                                      # a loop
: > "$T/papers/empty.pdf"
echo "not a pdf" > "$T/papers/notes.txt"                          # not listed
cp "$JOSE/jose.00032.pdf" "$T/papers/.hidden.pdf"                 # not listed
write_config "$T/pansift.ini" "$T/data" "[source papers]
type = pdf
url = file://$T/papers
jobs = 2
timeout = 20000"
P init >/dev/null
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "folder harvest ($out)"
listed=$((npdf + 4))
check_contains "$out" "$listed seen, $npdf new, 0 updated, 1 unchanged, 0 deleted, 3 rejected" \
    "every PDF a record; the copy read once; three rejected; the link loop walked once"
check_contains "$out" "broken.pdf: damaged or truncated PDF" "the truncated PDF's error names it and says why"
check_contains "$out" "empty.pdf: " "the empty file's error names it"
check_contains "$out" "same content as another" "the copy is noted"
check_eq "$(Q "SELECT count(*) FROM publication WHERE deleted = 0")" "$npdf" "$npdf publications"
check_eq "$(Q "SELECT count(*) FROM publication WHERE length(full_text) > 2000")" "$npdf" "each with its full text"
check_eq "$(Q "SELECT title FROM publication WHERE doi = '10.21105/jose.00015'")" \
    "Pynamical: Model and visualize discrete nonlinear dynamical systems, chaos, and fractals" "title from the PDF"
check_eq "$(Q "SELECT pid FROM publication WHERE doi = '10.21105/jose.00015'")" "10.21105/jose.00015" "the DOI is the pid"
check_eq "$(Q "SELECT group_concat(p.full_name, '|') FROM member m JOIN person p ON p.id = m.person_id JOIN publication u ON u.id = m.doc_id AND m.doc_kind = 9 WHERE u.doi = '10.21105/jose.00015' ORDER BY m.position")" \
    "Geoff Boeing" "authors from the PDF"
check_eq "$(Q "SELECT count(*) FROM publication WHERE acknowledgements IS NOT NULL")" \
    "$(Q "SELECT count(*) FROM publication WHERE full_text LIKE '%Acknowledg%'")" \
    "acknowledgements kept where the paper has them"
check_contains "$(Q "SELECT acknowledgements FROM publication WHERE doi = '10.21105/jose.00019'")" \
    "Diamond Light Source" "acknowledgements text"
check_eq "$(Q "SELECT kind || '|' || value || '|' || section FROM mention m JOIN publication u ON u.id = m.publication_id WHERE u.doi = '10.21105/jose.00019' AND kind = 'facility'")" \
    "facility|Diamond|acknowledgements" "the facility mention with its section"
# Every mention's offset and length point at the text it names (bytes).
bad=$(Q "SELECT count(*) FROM mention m JOIN publication u ON u.id = m.publication_id
         WHERE CAST(m.matched AS BLOB) IS NOT substr(CAST(CASE m.section
           WHEN 'acknowledgements' THEN u.acknowledgements WHEN 'funding' THEN u.funding
           WHEN 'text' THEN u.full_text END AS BLOB), m.offset + 1, m.length)
           AND m.section IN ('acknowledgements', 'funding', 'text')")
check_eq "$bad" 0 "mention offsets point at the mentioned text"
check_eq "$(Q "SELECT count(*) FROM mention WHERE context IS NULL OR instr(context, matched) = 0")" 0 "each mention keeps the text around it"
nref=$(Q "SELECT count(*) FROM publication_reference WHERE doi IS NOT NULL")
[ "$nref" -gt 200 ] && ok || fail "references with DOIs: $nref"
check_eq "$(Q "SELECT count(*) > 200 FROM link WHERE type = 'references' AND src_kind = 9")" 1 "reference DOIs become links"
check_eq "$(Q "SELECT state || ':' || count(*) FROM pdf_file GROUP BY state ORDER BY state" | tr '\n' ' ')" \
    "0:$((npdf + 1)) 2:3 " "ledger: extracted (the copy too) and failed"
check_eq "$(Q "SELECT count(*) FROM pdf_file WHERE state = 0 AND publication_id IS NULL")" 0 "the copy points at the record"
check_contains "$out" "broken-copy.pdf: damaged" "the broken copy is reported with the same reason"
check_contains "$(Q "SELECT message FROM pdf_file WHERE location LIKE '%broken.pdf'")" "damaged" "the ledger keeps the reason"
check_eq "$(P status --json | jq -c '.sources[0].pdfs')" "{\"extracted\":$((npdf + 1)),\"no_text\":0,\"failed\":3}" "status counts the ledger"

# ---- each PDF read once --------------------------------------------------
at=$(Q "SELECT extracted_at FROM pdf_file WHERE location LIKE '%/jose.00034.pdf'")
seq=$(Q "SELECT max(seq) FROM change")
touch "$T/papers/jose.00034.pdf"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "second run ($out)"
check_contains "$out" "$listed seen, 0 new, 0 updated, $((npdf + 1)) unchanged, 0 deleted, 3 rejected" \
    "nothing read again; the broken files reported again"
check_eq "$(Q "SELECT extracted_at FROM pdf_file WHERE location LIKE '%/jose.00034.pdf'")" "$at" "a touched file is not extracted again"
check_eq "$(Q "SELECT max(seq) FROM change")" "$seq" "no record rewritten"

# ---- a PDF gone takes its record ------------------------------------------
rm "$T/papers/jose.00034.pdf" "$T/papers/more/broken.pdf"
mv "$T/papers/jose.00044.pdf" "$T/papers/more/renamed.pdf"
out=$(P harvest 2>&1); rc=$?
check_eq "$rc" 0 "third run ($out)"
check_contains "$out" "1 deleted" "the removed PDF's record goes"
check_eq "$(Q "SELECT deleted FROM publication WHERE doi = '10.21105/jose.00044'")" 0 "a renamed PDF keeps its record"
out=$(P harvest 2>&1)
check_contains "$out" "0 deleted" "and keeps it on the next run"
check_eq "$(Q "SELECT deleted FROM publication WHERE doi = '10.21105/jose.00044'")" 0 "still there"
check_eq "$(Q "SELECT deleted FROM publication WHERE doi = '10.21105/jose.00034'")" 1 "a tombstone"
check_eq "$(Q "SELECT count(*) FROM pdf_file WHERE location LIKE '%/jose.00034.pdf' OR location LIKE '%broken.pdf'")" 0 "the ledger forgets them"

# ---- a list of PDF URLs ----------------------------------------------------
mkdir -p "$T/web"
# ps-replay serves under /api: one URL absolute from the root, one relative
# to the list's own URL.
printf '# papers\n/api/pdf/jose.00044.pdf\npdf/jose.00049.pdf\n\n/api/pdf/missing.pdf\nftp://example.org/x.pdf\n' > "$T/list.txt"
jq -n --rawfile list "$T/list.txt" --arg a "$JOSE/jose.00044.pdf" --arg b "$JOSE/jose.00049.pdf" \
    --arg c "$JOSE/jose.00015.pdf" --arg d "$JOSE/jose.00019.pdf" \
    '[{method: "GET", path: "/lists/papers.txt", headers: {"Content-Type": "text/plain"}, body: $list},
      {method: "GET", path: "/pdf/jose.00044.pdf", headers: {"Content-Type": "application/pdf"}, body_file: $a},
      {method: "GET", path: "/lists/pdf/jose.00049.pdf", headers: {"Content-Type": "application/pdf"}, body_file: $b},
      {method: "GET", path: "/pdf/missing.pdf", status: 404, body: "not here"},
      {method: "GET", path: "/pdf/jose.00015.pdf", headers: {"Content-Type": "application/pdf"}, body_file: $c},
      {method: "GET", path: "/pdf/jose.00019.pdf", headers: {"Content-Type": "application/pdf"}, body_file: $d}]' > "$T/web/site.json"
start_replay "$T/web"
WEB_URL=$REPLAY_URL
write_config "$T/web.ini" "$T/webdata" "[source site]
type = pdf
url = $REPLAY_URL/lists/papers.txt
retries = 0"
W() { "$PANSIFT" --quiet --config "$T/web.ini" "$@"; }
W init >/dev/null
out=$(W harvest 2>&1); rc=$?
check_eq "$rc" 0 "URL list harvest ($out)"
check_contains "$out" "3 seen, 2 new" "two PDFs from the list, absolute and relative"
check_contains "$out" "missing.pdf" "the missing one is reported"
check_contains "$out" "not http(s) URLs" "the ftp line is skipped, with a note"
check_eq "$(sqlite3 "$T/webdata/store.db" "SELECT count(*) FROM publication WHERE url LIKE 'http://127.0.0.1:%/pdf/jose.00044.pdf' AND length(full_text) > 2000")" 1 \
    "the record keeps the PDF's URL and its text"
n1=$(grep -c 'jose.00044.pdf' "$T/replay.log")
out=$(W harvest 2>&1)
check_eq "$(grep -c 'jose.00044.pdf' "$T/replay.log")" "$n1" "a fetched PDF is not fetched again"

# ---- Crossref's metadata wins, the PDF's text stays ------------------------
deposit() { perl -0ne 'print $1 if /<'"$2"'>(.*?)<\/'"$2"'>/s' "$JOSE/$1.crossref.xml"; }
work() { # work NAME DOI: a Crossref work made from the paper's deposit XML
    jq -n --arg doi "$2" --arg title "$(deposit "$1" title) (as deposited)" \
        --arg given "$(deposit "$1" given_name)" --arg family "$(deposit "$1" surname)" \
        --arg pdf "$WEB_URL/pdf/$1.pdf" \
        '{DOI: $doi, type: "journal-article", title: [$title],
          link: [{URL: "https://example.org/landing", "content-type": "text/html"},
                 {URL: $pdf, "content-type": "application/pdf", "intended-application": "text-mining"}],
          "container-title": ["Journal of Open Source Education"],
          author: [{given: $given, family: $family, sequence: "first", affiliation: []}],
          issued: {"date-parts": [[2018, 1, 1]]}, "is-referenced-by-count": 3}'
}
{ work jose.00015 10.21105/jose.00015; work jose.00019 10.21105/JOSE.00019; } | jq -s . > "$T/works.json"
mkdir -p "$T/xref"
bash "$PAGES" "$T/works.json" 2 "rows=2&filter=prefix%3A10.21105" > "$T/xref/works.json"
start_replay "$T/xref"
write_config "$T/pansift.ini" "$T/data" "[source papers]
type = pdf
url = file://$T/papers
jobs = 2
[source xref]
type = crossref
url = $REPLAY_URL
page_size = 2
prefix = 10.21105"
out=$(P harvest xref 2>&1); rc=$?
check_eq "$rc" 0 "crossref harvest ($out)"
check_eq "$(Q "SELECT count(*) FROM publication WHERE deleted = 0")" "$((npdf - 1))" "crossref's works are the PDFs' records (one per DOI)"
check_contains "$(Q "SELECT title || '|' || journal FROM publication WHERE doi = '10.21105/jose.00015'")" \
    "(as deposited)|Journal of Open Source Education" "crossref's title and journal win"
check_eq "$(Q "SELECT length(full_text) > 2000 FROM publication WHERE doi = '10.21105/jose.00015'")" 1 "the PDF's full text stays"
check_eq "$(Q "SELECT count(*) > 0 FROM mention m JOIN publication u ON u.id = m.publication_id WHERE lower(u.doi) = '10.21105/jose.00019'")" 1 "mentions stay"
check_contains "$(Q "SELECT acknowledgements FROM publication WHERE lower(doi) = '10.21105/jose.00019'")" "Diamond" "acknowledgements stay"
cp "$JOSE/jose.00015.pdf" "$T/papers/again-15.pdf"
touch "$T/papers/jose.00015.pdf"
out=$(P harvest papers 2>&1); rc=$?
check_eq "$rc" 0 "pdf run after crossref ($out)"
check_contains "$(Q "SELECT title FROM publication WHERE doi = '10.21105/jose.00015'")" "(as deposited)" \
    "a later PDF run does not overwrite crossref's metadata"


# ---- the PDF links of harvested publications -------------------------------
# Crossref first, then a pdf source that fetches the works' PDF links.
mkdir -p "$T/nothing"
write_config "$T/l.ini" "$T/ldata" "[source xref]
type = crossref
url = $REPLAY_URL
page_size = 2
prefix = 10.21105
[source links]
type = pdf
url = file://$T/nothing
publications = yes"
L() { "$PANSIFT" --quiet --config "$T/l.ini" "$@"; }
L init >/dev/null
out=$(L harvest xref 2>&1); check_eq "$?" 0 "crossref first ($out)"
check_eq "$(sqlite3 "$T/ldata/store.db" "SELECT count(*) FROM pdf_link")" 2 "one PDF link per work (the HTML link is not one)"
out=$(L harvest links 2>&1); rc=$?
check_eq "$rc" 0 "the links' PDFs ($out)"
check_contains "$out" "2 seen," "the two works gain their PDFs"
check_eq "$(sqlite3 "$T/ldata/store.db" "SELECT count(*) FROM publication")" 2 "no new records: the works are the PDFs' records"
check_eq "$(sqlite3 "$T/ldata/store.db" "SELECT count(*) FROM publication WHERE title LIKE '%(as deposited)' AND length(full_text) > 2000")" 2 \
    "crossref's metadata, the PDF's text"
check_contains "$(sqlite3 "$T/ldata/store.db" "SELECT acknowledgements FROM publication WHERE lower(doi) = '10.21105/jose.00019'")" "Diamond" \
    "the acknowledgements of the linked PDF"
kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null
# ---- proposal-code grammars from the config ---------------------------------
mkdir -p "$T/one"
cp "$JOSE/jose.00019.pdf" "$T/one/"
printf '# a grammar of our own\nDiamond\tstudentships?\tstudentship\n' > "$T/codes.tsv"
write_config "$T/g.ini" "$T/gdata" "[source one]
type = pdf
url = file://$T/one
proposal_codes = $T/codes.tsv"
G() { "$PANSIFT" --quiet --config "$T/g.ini" "$@"; }
G init >/dev/null
out=$(G harvest 2>&1); check_eq "$?" 0 "harvest with our grammar ($out)"
check_eq "$(sqlite3 "$T/gdata/store.db" "SELECT value || '|' || facility || '|' || section FROM mention WHERE kind = 'proposal'")" \
    "studentship|Diamond|acknowledgements" "the configured grammar finds its codes"
printf 'Diamond\t(unclosed\tx\n' > "$T/codes.tsv"
out=$(G harvest 2>&1); rc=$?
[ "$rc" -ne 0 ] && ok || fail "a bad grammar fails the run"
check_contains "$out" "codes.tsv" "the error names the grammar file"

# ---- options that make no sense: a clear error, nothing written ------------
for bad in "jobs = 0:jobs" "timeout = soon:timeout" "publications = maybe:use yes or no" "max_text = 1:max_text"; do
    write_config "$T/b.ini" "$T/bdata" "[source one]
type = pdf
url = file://$T/one
${bad%%:*}"
    "$PANSIFT" --quiet --config "$T/b.ini" init >/dev/null 2>&1
    out=$("$PANSIFT" --quiet --config "$T/b.ini" harvest 2>&1); rc=$?
    [ "$rc" -ne 0 ] && ok || fail "bad option ${bad%%:*} accepted"
    check_contains "$out" "${bad#*:}" "bad option ${bad%%:*}: the error names it"
    check_eq "$(sqlite3 "$T/bdata/store.db" "SELECT count(*) FROM publication")" 0 "bad option ${bad%%:*}: nothing written"
    rm -rf "$T/bdata"
done
out=$(write_config "$T/b.ini" "$T/bdata" "[source one]
type = pdf
url = file://$T/no-such-folder"; "$PANSIFT" --quiet --config "$T/b.ini" init >/dev/null 2>&1; "$PANSIFT" --quiet --config "$T/b.ini" harvest 2>&1)
check_contains "$out" "no-such-folder" "a missing folder is named"

# ---- kill -9 -----------------------------------------------------------------
write_config "$T/k.ini" "$T/kdata" "[source papers]
type = pdf
url = file://$JOSE
jobs = 1
[harvest]
batch = 3"
K() { "$PANSIFT" --quiet --config "$T/k.ini" "$@"; }
K init >/dev/null
"$PANSIFT" --quiet --config "$T/k.ini" harvest >/dev/null 2>&1 &
kpid=$!
for _ in $(seq 1 100); do
    [ "$(sqlite3 "$T/kdata/store.db" "SELECT count(*) FROM pdf_file" 2>/dev/null || echo 0)" -ge 6 ] && break
    sleep 0.1
done
kill -9 "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
partial=$(sqlite3 "$T/kdata/store.db" "SELECT count(*) FROM publication")
echo "killed with $partial of $npdf PDFs stored"
out=$(K harvest 2>&1); rc=$?
check_eq "$rc" 0 "the run after SIGKILL ($out)"
check_eq "$(sqlite3 "$T/kdata/store.db" "SELECT count(*) || ':' || count(DISTINCT doi) || ':' || sum(length(full_text) > 2000) FROM publication")" \
    "$npdf:$npdf:$npdf" "after the kill ($partial stored): each PDF exactly once, with its text"
check_eq "$(sqlite3 "$T/kdata/store.db" "SELECT count(*) FROM pdf_file WHERE state = 0 AND publication_id IS NOT NULL")" "$npdf" "the ledger agrees"
check "$PANSIFT" --config "$T/k.ini" status -- "status reads the store after the kill"

finish
