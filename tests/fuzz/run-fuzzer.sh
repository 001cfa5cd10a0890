#!/usr/bin/env bash
# run-fuzzer: CTest's fuzz.<name>. Runs one libFuzzer target for a short,
# fixed time with its dictionary on a copy of its seed corpus in a temporary
# directory (so the repository is never written), and fails on any crash,
# sanitizer report, leak, hang (an input taking more than 5 s) or
# out-of-memory (more than 1 GB). FLAGS are more libFuzzer flags for this
# target (CMakeLists.txt): without a -max_len there, inputs are at most 4 KB
# (a filter in a URL is at most 16 KB, and shorter inputs mutate faster).
# PS_FUZZ_SEEDS is a file pattern of more seeds, copied when they exist
# (files no larger than -max_len: the shared corpus beside the checkout).
# DICT's directory may hold NAME.lsan (NAME as in NAME.dict), LeakSanitizer
# suppressions for third-party code. The whole output goes to
# ARTIFACT_DIR/last-run.log; shown are all but the progress lines. The
# input that failed is kept in ARTIFACT_DIR (crash-*, leak-*, timeout-*,
# oom-*) and named in the output.
#   run-fuzzer.sh FUZZER CORPUS_DIR DICT ARTIFACT_DIR [FLAGS...]
# PS_FUZZ_SECONDS (default 25) sets the time, e.g. for a longer run:
#   PS_FUZZ_SECONDS=600 scripts/test -R fuzz
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail
if [ $# -lt 4 ]; then
    echo "usage: run-fuzzer.sh FUZZER CORPUS_DIR DICT ARTIFACT_DIR [FLAGS...]" >&2
    exit 2
fi
mkdir -p "$4"
fuzzer=$(realpath "$1") corpus=$(realpath "$2") dict=$(realpath "$3")
artifacts=$(realpath "$4")
shift 4
flags=("$@")
max_len=4096
for f in "${flags[@]}"; do
    case "$f" in -max_len=*) max_len=${f#-max_len=} ;; esac
done
seconds=${PS_FUZZ_SECONDS:-25}

work=$(mktemp -d "${TMPDIR:-/tmp}/ps-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp "$corpus"/* "$work/corpus/"
for f in ${PS_FUZZ_SEEDS:-}; do
    if [ -f "$f" ] && [ "$(stat -c %s "$f")" -le "$max_len" ]; then
        cp "$f" "$work/corpus/"
    fi
done

# Readable stack traces need llvm-symbolizer (Debian package llvm).
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    for s in llvm-symbolizer llvm-symbolizer-14; do
        if command -v "$s" >/dev/null; then
            export ASAN_SYMBOLIZER_PATH
            ASAN_SYMBOLIZER_PATH=$(command -v "$s")
            break
        fi
    done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
supp=${dict%.dict}.lsan
if [ -f "$supp" ] && [ -z "${LSAN_OPTIONS:-}" ]; then
    export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cd "$work"
status=0
log="$artifacts/last-run.log"
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -max_len="$max_len" \
    -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "${flags[@]}" "$work/corpus" >"$log" 2>&1 || status=$?
# libFuzzer's progress lines ("#1234 NEW ...") are thousands; the rest is the
# setup, the report of what failed and the final statistics.
grep -vE '^#[0-9]+[[:space:]]' "$log" || true
if [ "$status" -ne 0 ]; then
    found=$(ls -t "$artifacts" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | head -n 1 || true)
    echo "run-fuzzer: $(basename "$fuzzer") failed (exit $status); whole output in $log" >&2
    echo "run-fuzzer: reproduce with: $fuzzer $artifacts/${found:-<file>}" >&2
fi
exit "$status"
