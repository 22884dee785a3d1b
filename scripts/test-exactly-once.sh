#!/usr/bin/env bash
# The exactly-once tests (issue 22) on Apache Kafka, one KRaft node
# (scripts/kafka.sh): stages killed mid-stream (e2e/tests/exactly_once.rs)
# and the chaos test in exactly-once mode (e2e/tests/chaos.rs), each
# counting every output once. Apache Kafka, not Tansu: Tansu 0.x drops the
# metadata of transactional offset commits, which the replay needs
# (docs/ARCHITECTURE.md "Exactly once"). The fencing test runs on Tansu
# with every e2e test. Reports its time.
#   scripts/test-exactly-once.sh [--port P]     (default 19300)
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'test-exactly-once.sh: %s\n' "$*" >&2; exit 1; }
PORT=19300
[ "${1:-}" = --port ] && PORT=$2
start=$SECONDS
mkdir -p target
DIR=target/kafka/eos-$PORT
trap 'bash scripts/kafka.sh stop --dir "$DIR" >/dev/null 2>&1 || true' EXIT
out=$(bash scripts/kafka.sh start --brokers 1 --port "$PORT" --dir "$DIR") \
    || die "Apache Kafka did not start (logs: $DIR/node-1/server.log)"
TWEETOSCOPE_TEST_BROKERS=$(tail -1 <<<"$out" | sed -n 's/^bootstrap=//p')
[ -n "$TWEETOSCOPE_TEST_BROKERS" ] || die "scripts/kafka.sh printed no bootstrap line: $out"
export TWEETOSCOPE_TEST_BROKERS
cargo build --workspace --bins --release
log=target/test-exactly-once.log
cargo test --release -p tweetoscope-e2e --test exactly_once -- --include-ignored --nocapture 2>&1 | tee "$log" || true
cargo test --release -p tweetoscope-e2e --test chaos exactly_once -- --ignored --nocapture 2>&1 | tee -a "$log" || true
grep -q "^error" "$log" && die "a test did not build or run ($log)"
grep -q "test result: FAILED" "$log" && die "exactly-once tests failed ($log)"
[ "$(grep -c 'test result: ok' "$log")" -eq 2 ] || die "not every exactly-once suite ran ($log)"
echo "exactly-once tests on Apache Kafka: $((SECONDS - start)) s"
