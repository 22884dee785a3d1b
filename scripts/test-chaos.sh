#!/usr/bin/env bash
# The fault tests against the broker (e2e/tests/chaos.rs): a collector
# killed twice mid-stream, records over a megabyte. Called by
# scripts/test.sh with TWEETOSCOPE_TEST_BROKERS set; fails loudly without.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${TWEETOSCOPE_TEST_BROKERS:-}" ] || { echo "test-chaos.sh: TWEETOSCOPE_TEST_BROKERS is not set: run scripts/test.sh" >&2; exit 1; }
start=$(date +%s)
cargo test --release -p tweetoscope-e2e --test chaos -- --nocapture 2>&1 | tee target/test-chaos.log
grep -q "test result: ok" target/test-chaos.log || { echo "test-chaos.sh: chaos tests failed" >&2; exit 1; }
echo "chaos tests: $(( $(date +%s) - start )) s"
