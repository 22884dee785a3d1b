#!/usr/bin/env bash
# Broker faults on a three-node Apache Kafka cluster (e2e/tests/cluster.rs,
# #[ignore]d): starts the cluster with scripts/kafka.sh (replication 3,
# min.insync.replicas 2), runs the test with its state folder, stops the
# cluster, reports the time and the stages' resume times.
#   scripts/test-kafka-cluster.sh [--port P]     (default 19250: nodes on 19250-19255)
# Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'test-kafka-cluster.sh: %s\n' "$*" >&2; exit 1; }
# kafka_up
source scripts/lib.sh
PORT=19250
[ "${1:-}" = --port ] && PORT=$2
start=$SECONDS
mkdir -p target

export TWEETOSCOPE_TEST_KAFKA_DIR=$PWD/target/kafka/cluster-test-$PORT
kafka_up 3 "$PORT" "$TWEETOSCOPE_TEST_KAFKA_DIR"
echo "3-node apache kafka on $TWEETOSCOPE_TEST_BROKERS"

cargo build --workspace --bins --release
log=target/test-kafka-cluster.log
cargo test --workspace --release --test cluster -- --ignored --nocapture 2>&1 | tee "$log" || true
grep -q "test result: ok. 1 passed" "$log" || die "the broker-fault test failed in $(grep '^fault ' "$log" | tail -1 | cut -d: -f1 || echo 'its set-up') \
($log, the stages' logs under target/release/e2e-logs; node logs: $TWEETOSCOPE_TEST_KAFKA_DIR/node-*/server.log)"
sed -n '/^resume time/,/^  (e)/p' "$log"
echo "broker faults on 3 nodes: passed in $((SECONDS - start)) s"
