#!/usr/bin/env bash
# The monitoring tests: alert rules checked by promtool, the Grafana
# dashboard and rules checked against the binaries' live /metrics, a real
# Prometheus scraping an end-to-end run, Loki pushes decoded.
# Needs the broker of scripts/test.sh (TWEETOSCOPE_TEST_BROKERS); installs
# Debian's prometheus package (prometheus, promtool) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'test-observability.sh: %s\n' "$*" >&2; exit 1; }

[ -n "${TWEETOSCOPE_TEST_BROKERS:-}" ] || die "TWEETOSCOPE_TEST_BROKERS is not set: run scripts/test.sh, which starts a broker"

source scripts/lib.sh
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || need_apt --no-install-recommends prometheus
command -v promtool >/dev/null || die "promtool is missing after installing prometheus"

promtool check rules monitoring/prometheus/rules.yml

# Lint the feature-gated test target, which test.sh's clippy does not see.
cargo clippy --workspace --features tweetoscope-e2e/observability --all-targets --release -- -D warnings
cargo build --workspace --bins --release
cargo test --workspace --release --features tweetoscope-e2e/observability --test observability 2>&1 | tee target/test-observability.log
grep -q "test result: ok" target/test-observability.log || die "observability tests failed"
