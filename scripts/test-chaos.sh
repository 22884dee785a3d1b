#!/usr/bin/env bash
# The chaos test (e2e/tests/chaos.rs, the #[ignore]d one: about 100 s):
# kills, a pause and a full restart of a replicated pipeline under a steady
# stream (its exactly-once twin needs Apache Kafka: scripts/test-kafka.sh).
# The other test of chaos.rs runs with every test. Called by
# scripts/test.sh with TWEETOSCOPE_TEST_BROKERS set; fails loudly without.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TWEETOSCOPE_TEST_BROKERS:-}" ] || { echo "test-chaos.sh: TWEETOSCOPE_TEST_BROKERS is not set: run scripts/test.sh" >&2; exit 1; }
start=$(date +%s)
cargo test --workspace --release --test chaos -- --ignored --nocapture --skip exactly_once 2>&1 | tee target/test-chaos.log
grep -q "test result: ok" target/test-chaos.log || { echo "test-chaos.sh: chaos tests failed" >&2; exit 1; }
echo "chaos tests: $(( $(date +%s) - start )) s"
