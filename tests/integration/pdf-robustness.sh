#!/usr/bin/env bash
# pdf-robustness: the bad-input guarantees of issue 5 for `pansift
# pdf-extract` (the real binary, each PDF read in a forked child with a
# deadline and a memory ceiling). Over every file of the robustness corpus
# beside the checkout (../shared/corpus/pdf/robustness, skipped when
# absent), truncated copies of each (several cut points) and copies with
# bytes changed (deterministic), and over PDFs made here by
# tests/fuzz/mkpdf.pl: a zero-page PDF, an image-only one (warning
# no_text), encrypted ones (qpdf: a user password gives the "encrypted"
# error, an owner password alone reads), an enormous one (2,000 pages: the
# page ceiling cuts with pages_cut and the memory stays that of 500 pages,
# the text ceiling cuts with text_cut), one whose content inflates to
# hundreds of MiB (stopped at the memory ceiling) and one that keeps poppler
# busy for minutes (stopped at the deadline). Per file: the exit status, an
# error message a user can act on, no sanitizer report. A run over several
# files (--jobs) goes on after a bad one and reports every file, and no
# child process outlives a run.
# SPDX-License-Identifier: GPL-2.0-or-later
. "$(dirname "$0")/lib.sh"

ROBUST="$PS_SOURCE_DIR/../shared/corpus/pdf/robustness"
MKPDF="$PS_SOURCE_DIR/tests/fuzz/mkpdf.pl"
G="$T/gen"
mkdir -p "$G"

# What an error may say: each names the problem in words a user can act on.
DAMAGED='damaged or truncated PDF|the PDF has no pages|not a PDF'

# run FILE [ARGS...]: pansift pdf-extract --no-text ARGS FILE; sets RC, OUT
# (stdout), ERR (stderr) and RSS (the run's largest resident set in KiB,
# its children included, from /usr/bin/time).
run() {
    local f=$1
    shift
    /usr/bin/time -o "$T/rss" -f %M "$PANSIFT" pdf-extract --no-text "$@" "$f" \
        >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
    RSS=$(tail -n 1 "$T/rss")
}

# no_sanitizer WHAT: the run printed no sanitizer report.
no_sanitizer() {
    CHECKS=$((CHECKS + 1))
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer' "$T/err"; then
        fail "$1: a sanitizer report: $(head -c 2000 "$T/err")"
    fi
}

# read_or_refused WHAT: success with a document of at least one page that
# has a title or says why not (a warning), or exit 1 with one of the
# damaged-file messages.
read_or_refused() {
    no_sanitizer "$1"
    if [ "$RC" -eq 0 ]; then
        check_eq "$(jq '.pages >= 1 and (.title != null or (.warnings | length) > 0)' <<<"$OUT")" \
            true "$1: a document, or a warning"
    else
        check_eq "$RC" 1 "$1: exit status"
        CHECKS=$((CHECKS + 1))
        grep -qE "pdf-extract: .*($DAMAGED)" <<<"$ERR" ||
            fail "$1: the error does not say the file is damaged: $ERR"
    fi
}

# ---- the robustness corpus, cut and changed ------------------------------
if [ -d "$ROBUST" ]; then
    n=0
    for f in "$ROBUST"/*.pdf; do
        b=$(basename "$f" .pdf)
        run "$f"
        read_or_refused "$b"
        check_eq "$RC" 0 "$b: a readable PDF of the corpus is read"
        size=$(stat -c %s "$f")
        for pc in 1 33 66 99; do
            head -c $((size * pc / 100)) "$f" >"$G/$b.cut$pc.pdf"
            run "$G/$b.cut$pc.pdf"
            read_or_refused "$b cut at $pc %"
        done
        for seed in 1 2; do
            # size / 200 bytes replaced at places drawn from a fixed seed.
            perl -e 'my ($in, $out, $seed) = @ARGV;
                open my $fh, "<:raw", $in or die; local $/; my $d = <$fh>;
                srand($seed); my $len = length $d;
                for (1 .. int($len / 200)) { substr($d, int(rand($len)), 1) = chr(int(rand(256))); }
                open my $o, ">:raw", $out or die; print $o $d;' "$f" "$G/$b.flip$seed.pdf" "$seed"
            run "$G/$b.flip$seed.pdf"
            read_or_refused "$b with bytes changed (seed $seed)"
        done
        n=$((n + 1))
    done
    check test "$n" -ge 10 -- "the robustness corpus has files ($n)"
else
    echo "skipped: no robustness corpus at $ROBUST"
fi

# ---- made here ------------------------------------------------------------
perl "$MKPDF" paper "$G/paper.pdf"
run "$G/paper.pdf"
check_eq "$RC" 0 "a hand-made paper is read"
check_eq "$(jq -r .doi <<<"$OUT")" "10.5555/mkpdf.0001" "the hand-made paper's DOI"
size=$(stat -c %s "$G/paper.pdf")
for cut in 9 100 500 1500 $((size - 20)) $((size - 1)); do
    head -c "$cut" "$G/paper.pdf" >"$G/paper.cut$cut.pdf"
    run "$G/paper.cut$cut.pdf"
    read_or_refused "the paper cut at $cut bytes"
done

perl "$MKPDF" zero "$G/zero.pdf"
run "$G/zero.pdf"
no_sanitizer "zero pages"
check_eq "$RC" 1 "a PDF without pages fails"
check_contains "$ERR" "zero.pdf: the PDF has no pages" "a PDF without pages says so"

perl "$MKPDF" image "$G/image.pdf"
run "$G/image.pdf"
no_sanitizer "image only"
check_eq "$RC" 0 "an image-only PDF is read"
check_eq "$(jq -c .warnings <<<"$OUT")" '["no_text"]' "an image-only PDF warns no_text"

: >"$G/empty.pdf"
run "$G/empty.pdf"
check_eq "$RC" 1 "an empty file fails"
check_contains "$ERR" "empty file, not a PDF" "an empty file says so"
printf 'Hello, this is not a PDF at all.\n' >"$G/text.pdf"
run "$G/text.pdf"
check_eq "$RC" 1 "a text file fails"
check_contains "$ERR" "not a PDF" "a text file says so"

if command -v qpdf >/dev/null; then
    qpdf --encrypt secret owner 256 -- "$G/paper.pdf" "$G/encrypted.pdf"
    run "$G/encrypted.pdf"
    no_sanitizer "encrypted"
    check_eq "$RC" 1 "a PDF that needs a password fails"
    check_contains "$ERR" "encrypted PDF: it needs a password to be read" \
        "a PDF that needs a password says so"
    qpdf --encrypt "" owner 256 -- "$G/paper.pdf" "$G/owner-only.pdf"
    run "$G/owner-only.pdf"
    check_eq "$RC" 0 "a PDF with only an owner password is read"
    check_eq "$(jq -r .doi <<<"$OUT")" "10.5555/mkpdf.0001" "owner password only: the DOI"
else
    echo "skipped: no qpdf (scripts/setup --test installs it)"
fi

# Enormous: 2,000 pages. The default page ceiling (500) cuts it, and the
# memory is about that of a 500-page file: it does not grow with the file.
perl "$MKPDF" many "$G/many500.pdf" 500
perl "$MKPDF" many "$G/many2000.pdf" 2000
run "$G/many500.pdf"
check_eq "$RC" 0 "500 pages are read"
rss500=$RSS
run "$G/many2000.pdf"
no_sanitizer "2000 pages"
check_eq "$RC" 0 "2000 pages are read"
check_eq "$(jq -c '[.pages, .warnings]' <<<"$OUT")" '[2000,["pages_cut"]]' \
    "2000 pages: cut at the page ceiling, with a warning"
echo "max RSS: 500 pages $rss500 KiB, 2000 pages cut at 500: $RSS KiB"
check test "$RSS" -le $((rss500 * 13 / 10 + 32768)) -- \
    "2000 pages take the memory of 500 ($RSS vs $rss500 KiB)"
"$PANSIFT" pdf-extract --max-text 100000 --max-pages 2000 "$G/many2000.pdf" \
    >"$T/full.json" 2>"$T/err"
check_eq "$?" 0 "2000 pages with a small text ceiling are read"
no_sanitizer "2000 pages, text ceiling"
check_eq "$(jq -c .warnings "$T/full.json")" '["text_cut"]' "the text ceiling cuts with a warning"
check test "$(jq -j .text "$T/full.json" | wc -c)" -le 100000 -- "the text stays within its ceiling"

# A small file whose content inflates to 300 MiB: stopped at the memory
# ceiling, and the run's memory stays near it.
perl "$MKPDF" bomb "$G/bomb.pdf" 300
run "$G/bomb.pdf" --max-memory 160
no_sanitizer "inflating"
check_eq "$RC" 1 "a PDF that inflates past the memory ceiling fails"
check_contains "$ERR" "bomb.pdf: stopped at the memory ceiling of 160 MiB" \
    "a PDF past the memory ceiling says so"
echo "max RSS under a 160 MiB ceiling: $RSS KiB"
check test "$RSS" -le $(((160 + 96) * 1024)) -- "the memory stays near the ceiling ($RSS KiB)"

# A PDF that keeps poppler busy for minutes (60,000 words at scattered
# places on one page): stopped at the deadline.
perl "$MKPDF" dense "$G/slow.pdf" 60000
t0=$(date +%s%N)
run "$G/slow.pdf" --timeout 1500
t1=$(date +%s%N)
no_sanitizer "slow"
check_eq "$RC" 1 "a PDF past the deadline fails"
check_contains "$ERR" "slow.pdf: timed out after 1500 ms" "a PDF past the deadline says so"
check test $(((t1 - t0) / 1000000)) -lt 6000 -- "the deadline is kept ($(((t1 - t0) / 1000000)) ms)"

# ---- a run over several files goes on after a bad one ---------------------
set -- "$G/slow.pdf" "$G/zero.pdf" "$G/paper.pdf" "$G/missing.pdf" "$G/image.pdf" \
    "$G/bomb.pdf" "$G/empty.pdf"
"$PANSIFT" pdf-extract --no-text --jobs 2 --timeout 1500 --max-memory 160 "$@" \
    >"$T/out" 2>"$T/err"
RC=$?
no_sanitizer "several files"
check_eq "$RC" 1 "several files, some bad: exit 1"
check_eq "$(wc -l <"$T/out")" "$#" "one JSON line per file"
check_eq "$(jq -s -c 'map(select(.error)) | map(.file | split("/") | last) | sort' "$T/out")" \
    '["bomb.pdf","empty.pdf","missing.pdf","slow.pdf","zero.pdf"]' "the bad files are named"
check_eq "$(jq -r 'select(.file | endswith("/paper.pdf")) | .doi' "$T/out")" \
    "10.5555/mkpdf.0001" "the good file after bad ones is read"
check_eq "$(jq -r 'select(.file | endswith("/missing.pdf")) | .error.status' "$T/out")" \
    "not found" "a missing file is not found"
check_eq "$(grep -c 'pansift: pdf-extract: ' "$T/err")" 5 "each failure on stderr"
# (The slow file may reach the memory ceiling before the deadline.)
check grep -qE 'slow.pdf: (timed out after 1500 ms|stopped at the memory ceiling)' "$T/err" -- \
    "the slow file was stopped"

# No child outlives its run (each was killed and reaped).
sleep 0.2
CHECKS=$((CHECKS + 1))
if ps -eo args | grep -v grep | grep -qF "$G/"; then
    fail "a pdf-extract process is left: $(ps -eo pid,args | grep -v grep | grep -F "$G/")"
fi
finish
