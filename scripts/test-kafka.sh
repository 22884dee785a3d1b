#!/usr/bin/env bash
# The integration tests on Apache Kafka: a one-node KRaft cluster
# (scripts/kafka.sh), then every e2e test (e2e/tests/*.rs), the chaos tests
# (#[ignore]d on Tansu: at-least-once and exactly-once), the exactly-once
# kill test and the observability tests
# against it, as scripts/test.sh runs them on Tansu. Reports its time.
#   scripts/test-kafka.sh [--port P]     (default 19240: client 19240, controller 19241)
# Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { printf 'test-kafka.sh: %s\n' "$*" >&2; exit 1; }
# need_apt, kafka_up
source scripts/lib.sh
PORT=19240
[ "${1:-}" = --port ] && PORT=$2
start=$SECONDS
mkdir -p target

DIR=target/kafka/test-$PORT
kafka_up 1 "$PORT" "$DIR"
echo "apache kafka on $TWEETOSCOPE_TEST_BROKERS (log: $DIR/node-1/server.log)"

# e2e/tests/course_consumers.rs reads with the course's kafka-python
# (scripts/test.sh exports it; installed here when run alone).
if [ -z "${TWEETOSCOPE_COURSE_PYTHON:-}" ]; then
    python3 -c "import ensurepip" 2>/dev/null || need_apt python3-venv
    TWEETOSCOPE_COURSE_PYTHON=$(bash scripts/course-venv.sh) || die "cannot install the course's kafka-python (scripts/course-venv.sh)"
    export TWEETOSCOPE_COURSE_PYTHON
fi
# The observability tests run a real Prometheus (Debian's package).
command -v prometheus >/dev/null || need_apt --no-install-recommends prometheus
# The tests spawn the stage binaries: build them first.
cargo build --workspace --bins --release
log=target/test-kafka.log
# Every e2e test target, selected by name in a workspace build: the same
# features as scripts/test.sh's build (`-p tweetoscope-e2e` resolves other
# features and rebuilt the core library and the binaries, minutes each).
e2e_tests=()
for f in e2e/tests/*.rs; do e2e_tests+=(--test "$(basename "$f" .rs)"); done
cargo test --workspace --release --no-fail-fast "${e2e_tests[@]}" 2>&1 | tee "$log" || true
# The chaos tests (at-least-once and exactly-once) and the exactly-once
# kill test, #[ignore]d in the Tansu run: Tansu drops the commit metadata
# the exactly-once replay needs (docs/ARCHITECTURE.md "Exactly once").
cargo test --workspace --release --test chaos -- --ignored 2>&1 | tee -a "$log" || true
cargo test --workspace --release --test exactly_once -- --ignored 2>&1 | tee -a "$log" || true
cargo test --workspace --release --features tweetoscope-e2e/observability --test observability 2>&1 | tee -a "$log" || true
# Every suite runs (no fail-fast) so that one report shows every
# difference; then any failure, or a build error, fails the script.
grep -q "^error" "$log" && die "a test did not build or run ($log)"
grep -q "test result: FAILED" "$log" && die "some e2e tests failed on Apache Kafka ($log)"
grep -q "test result: ok" "$log" || die "no e2e test ran on Apache Kafka ($log)"
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
echo "e2e on apache kafka: $passed passed in $((SECONDS - start)) s"
