#!/usr/bin/env bash
# Apache Kafka on this machine, for the tests and benchmarks: N KRaft nodes
# (each broker and controller) on loopback, from Maven Central's jars
# (scripts/kafka/pom.xml) and the machine's Java 17.
#
#   scripts/kafka.sh start [--brokers N] [--port P] [--dir D] [-- KEY=VALUE...]
#       formats and starts N nodes (node i: client port P+2(i-1), controller
#       port P+2(i-1)+1; P defaults to 19200), waits until a topic
#       replicated on all N can be created, prints `bootstrap=HOST:PORT,...`
#       as its last line. State, logs and pids in D (default
#       target/kafka/cluster-P), so two clusters coexist. KEY=VALUE are
#       extra broker settings for every node.
#   scripts/kafka.sh stop [--dir D | --port P]
#       stops exactly the nodes started there (SIGTERM, then SIGKILL after
#       30 s), and removes their data (their logs stay).
#   scripts/kafka.sh node-start|node-stop|node-kill|node-pid NODE [--dir D | --port P]
#       one node of a running cluster (the broker-fault tests).
#   scripts/kafka.sh tool CLASS ARGS...   a Kafka tool, e.g.
#       scripts/kafka.sh tool org.apache.kafka.tools.TopicCommand --bootstrap-server ... --list
#   scripts/kafka.sh jars   only fetches the jars; prints their folder.
#
# Broker settings: scripts/kafka/broker.properties (shared with the compose
# and Kubernetes files), then the per-node ones written here. Installs
# Maven and a JRE with apt when missing; fails loudly otherwise.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIBS=$ROOT/target/kafka/libs
die() { printf 'kafka.sh: %s\n' "$*" >&2; exit 1; }
# need_apt
source "$ROOT/scripts/lib.sh"

# The jars, fetched once (a fresh clone's first run downloads them; later
# runs reuse ~/.m2 and target/kafka/libs).
jars() {
    local version
    version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/scripts/kafka/pom.xml")
    [ -n "$version" ] || die "no <kafka.version> in scripts/kafka/pom.xml"
    if [ ! -e "$LIBS/kafka_2.13-$version.jar" ] || [ "$ROOT/scripts/kafka/pom.xml" -nt "$LIBS/.fetched" ]; then
        command -v java >/dev/null || need_apt default-jre-headless
        command -v mvn >/dev/null || need_apt maven
        echo "kafka.sh: fetching Apache Kafka $version and its dependencies (Maven)" >&2
        rm -rf "$LIBS"; mkdir -p "$ROOT/target/kafka"
        mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
            -DoutputDirectory="$LIBS" >"$ROOT/target/kafka/mvn.log" 2>&1 \
            || die "Maven could not fetch org.apache.kafka:kafka_2.13:$version: $(tail -20 "$ROOT/target/kafka/mvn.log")"
        [ -e "$LIBS/kafka_2.13-$version.jar" ] || die "Maven ran but $LIBS/kafka_2.13-$version.jar is missing"
        touch "$LIBS/.fetched"
    fi
    command -v java >/dev/null || need_apt default-jre-headless
    java -version 2>&1 | grep -Eq 'version "(1[7-9]|2[0-9])' || die "Kafka $version needs Java 17 or newer: $(java -version 2>&1 | head -1)"
}

# java_run [JVM-OPTION...] CLASS ARGS...
java_run() { java -cp "$LIBS/*" "$@"; }
tool() { java_run -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn "$@"; }

# Options shared by the subcommands.
N=1 PORT=19200 DIR="" EXTRA=()
parse() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --brokers) N=$2; shift 2 ;;
            --port) PORT=$2; shift 2 ;;
            --dir) DIR=$2; shift 2 ;;
            --) shift; EXTRA=("$@"); break ;;
            *) die "unknown option $1 (see the top of scripts/kafka.sh)" ;;
        esac
    done
    [[ "$N" =~ ^[1-9]$ ]] || die "--brokers must be 1 to 9, not $N"
    [[ "$PORT" =~ ^[0-9]+$ ]] || die "--port must be a number, not $PORT"
    [ -n "$DIR" ] || DIR=$ROOT/target/kafka/cluster-$PORT
}

client_port() { echo $((PORT + 2 * ($1 - 1))); }
controller_port() { echo $((PORT + 2 * ($1 - 1) + 1)); }

# The cluster's settings, saved at start so node-* find them again.
load_state() {
    [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (scripts/kafka.sh start first)"
    # shellcheck disable=SC1091
    source "$DIR/cluster.env"
}

# node_config I: node I's server.properties.
node_config() {
    local i=$1 voters="" j rf isr
    for j in $(seq "$N"); do voters+="${voters:+,}$j@127.0.0.1:$(controller_port "$j")"; done
    rf=$((N < 3 ? N : 3))
    isr=$((N < 2 ? 1 : 2))
    {
        echo "# Written by scripts/kafka.sh: scripts/kafka/broker.properties, then node $i's settings."
        grep -v '^#' "$ROOT/scripts/kafka/broker.properties" | grep -v '^$'
        echo "node.id=$i"
        echo "controller.quorum.voters=$voters"
        echo "listeners=PLAINTEXT://127.0.0.1:$(client_port "$i"),CONTROLLER://127.0.0.1:$(controller_port "$i")"
        echo "advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$i")"
        echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        echo "inter.broker.listener.name=PLAINTEXT"
        echo "log.dirs=$DIR/node-$i/data"
        # Internal topics replicated like the project's own on a cluster.
        echo "offsets.topic.replication.factor=$rf"
        echo "transaction.state.log.replication.factor=$rf"
        echo "transaction.state.log.min.isr=$isr"
        echo "share.coordinator.state.topic.replication.factor=$rf"
        echo "share.coordinator.state.topic.min.isr=$isr"
        [ "$N" -ge 3 ] && echo "min.insync.replicas=2"
        [ ${#EXTRA[@]} -gt 0 ] && printf '%s\n' "${EXTRA[@]}"
        true
    } >"$DIR/node-$i/server.properties"
}

node_pid() { [ -f "$DIR/pids" ] && awk -v n="$1" '$1 == n {print $2}' "$DIR/pids" | tail -1 || true; }

node_start() {
    local i=$1 pid
    pid=$(node_pid "$i")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then die "node $i already runs (pid $pid)"; fi
    # Kafka's own JVM options (kafka-run-class.sh), with a smaller heap: up
    # to three nodes share a 2-core machine with the pipeline.
    nohup java -Xms128m -Xmx${KAFKA_HEAP:-512m} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
        -Dorg.slf4j.simpleLogger.defaultLogLevel="${KAFKA_LOG_LEVEL:-info}" -Dorg.slf4j.simpleLogger.showDateTime=true \
        -cp "$LIBS/*" kafka.Kafka "$DIR/node-$i/server.properties" >>"$DIR/node-$i/server.log" 2>&1 </dev/null &
    echo "$i $!" >>"$DIR/pids"
}

# node_signal I SIGNAL: sends it, and waits for the exit on TERM/KILL.
node_signal() {
    local i=$1 sig=$2 pid
    pid=$(node_pid "$i")
    [ -n "$pid" ] || die "node $i has no pid in $DIR/pids"
    kill -"$sig" "$pid" 2>/dev/null || return 0
    case "$sig" in
        TERM)
            for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
            echo "kafka.sh: node $i (pid $pid) still up 30 s after SIGTERM: SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true ;;
        KILL) ;;
        *) return 0 ;;
    esac
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# wait_ready: a topic replicated on every node can be created (so every
# broker registered), then its metadata has a leader.
wait_ready() {
    local bootstrap=$1 deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-180})) i
    until tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create --if-not-exists \
        --topic kafka-sh-ready --partitions 1 --replication-factor "$N" >>"$DIR/ready.log" 2>&1; do
        for i in $(seq "$N"); do
            kill -0 "$(node_pid "$i")" 2>/dev/null || die "node $i exited: $(tail -20 "$DIR/node-$i/server.log")"
        done
        [ $SECONDS -lt "$deadline" ] || die "the cluster was not ready in ${KAFKA_START_TIMEOUT:-180} s: $(tail -5 "$DIR/ready.log")"
        sleep 2
    done
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --describe --topic kafka-sh-ready \
        | grep -q 'Leader: [0-9]' || die "topic kafka-sh-ready has no leader: $(tail -5 "$DIR/ready.log")"
}

bootstrap() {
    local out="" i
    for i in $(seq "$N"); do out+="${out:+,}127.0.0.1:$(client_port "$i")"; done
    echo "$out"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    jars)
        jars
        echo "$LIBS" ;;
    tool)
        jars
        tool "$@" ;;
    start)
        parse "$@"
        jars
        if [ -f "$DIR/pids" ]; then
            while read -r _ pid; do
                kill -0 "$pid" 2>/dev/null && die "a cluster already runs in $DIR (pid $pid): scripts/kafka.sh stop --dir $DIR"
            done <"$DIR/pids"
        fi
        rm -rf "$DIR"
        mkdir -p "$DIR"
        { printf 'N=%q PORT=%q\n' "$N" "$PORT"; printf 'EXTRA=(%s)\n' "$(printf '%q ' ${EXTRA[@]+"${EXTRA[@]}"})"; } >"$DIR/cluster.env"
        # A random base64url UUID (kafka-storage.sh random-uuid), not starting
        # with '-' (it would read as an option).
        cluster_id=$(python3 -c 'import base64,uuid
while (c := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-": pass
print(c)')
        for i in $(seq "$N"); do
            mkdir -p "$DIR/node-$i"
            node_config "$i"
            tool kafka.tools.StorageTool format --config "$DIR/node-$i/server.properties" \
                --cluster-id "$cluster_id" --ignore-formatted >"$DIR/node-$i/format.log" 2>&1 \
                || die "formatting node $i failed: $(tail -5 "$DIR/node-$i/format.log")"
        done
        for i in $(seq "$N"); do node_start "$i"; done
        wait_ready "$(bootstrap)"
        echo "kafka.sh: $N node(s) ready in $SECONDS s (dir $DIR)" >&2
        echo "bootstrap=$(bootstrap)" ;;
    stop)
        parse "$@"
        [ -f "$DIR/cluster.env" ] || { echo "kafka.sh: no cluster in $DIR" >&2; exit 0; }
        load_state
        for i in $(seq "$N"); do node_signal "$i" TERM & done
        wait
        # The logs stay (until the next start there) for a failed test.
        rm -rf "$DIR"/node-*/data "$DIR/pids" "$DIR/cluster.env" ;;
    node-start|node-stop|node-kill|node-pause|node-resume|node-pid)
        node=${1:-}
        [[ "$node" =~ ^[1-9]$ ]] || die "$cmd needs a node number"
        shift
        parse "$@"
        load_state
        case "$cmd" in
            node-start) node_start "$node" ;;
            node-stop) node_signal "$node" TERM ;;
            node-kill) node_signal "$node" KILL ;;
            node-pause) node_signal "$node" STOP ;;
            node-resume) node_signal "$node" CONT ;;
            node-pid) node_pid "$node" ;;
        esac ;;
    *) die "usage: scripts/kafka.sh start|stop|node-start|node-stop|node-kill|node-pause|node-resume|node-pid|tool|jars (see the top of the script)" ;;
esac
