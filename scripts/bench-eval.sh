#!/usr/bin/env bash
# The `eval` benchmark of docs/MEASUREMENTS.md: a NEWS-sized synthetic set (20,093
# cascades, ~3.25 M tweets), windows 300,600,1200,3600, wall time and peak
# RSS measured by /usr/bin/time. Also the accuracy tables on the shared
# fixtures when ../shared/data is beside the checkout. PROFILE=1 adds a
# callgrind profile by stage (a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'bench-eval.sh: %s\n' "$*" >&2; exit 1; }
# need_apt
source scripts/lib.sh
need_apt time
out=${OUT:-out/bench}
mkdir -p "$out"
cargo build --release -q -p tweetoscope
bin=target/release/tweetoscope
[ -f "$out/news-data.csv" ] || $bin simulate --cascades 20093 --seed 1 --out "$out/news"
/usr/bin/time -v $bin eval --data "$out/news-data.csv" --index "$out/news-index.csv" \
    --windows 300,600,1200,3600 --out "$out/news-predictions.jsonl" "$@" 2> "$out/time.txt" | tee "$out/news-table.txt"
grep -E 'Elapsed \(wall|Maximum resident|User time' "$out/time.txt"
if [ "${PROFILE:-0}" = 1 ]; then
    # Where the instructions go, on one thread (--workers 0), by stage:
    # callgrind's inclusive counts, independent of the machine's load.
    need_apt valgrind
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" $bin eval --data "$out/news-data.csv" \
        --index "$out/news-index.csv" --windows 300,600,1200,3600 --workers 0 --out "$out/profile.jsonl" "$@" >/dev/null 2>&1
    callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null \
        | grep -E 'PROGRAM TOTALS|Stage>::handle \[|Dataset::load \[|Replay as core::iter::traits::iterator::Iterator>::next \[|Correction::train \[|Scorer::see \[' \
        | sed -E 's/ \[.*//; s#/[^ ]*/src/##'
fi
shared=../shared/data
if [ -d "$shared" ]; then
    for set in example-book auspol; do
        echo "== $set"
        $bin eval --data "$shared/$set-data.csv" --index "$shared/$set-index.csv" \
            --windows 600,1200,3600 --out "$out/$set-predictions.jsonl" "$@"
    done
fi
