#!/bin/bash
# The entrypoint of docker/kafka/Dockerfile, apache/kafka's convention:
# every KAFKA_<NAME> variable is the broker setting <name> (lower case, `_`
# for `.`), except the JVM's KAFKA_HEAP_OPTS and KAFKA_OPTS; CLUSTER_ID
# formats the log directory on the first start (a restart keeps its data).
set -euo pipefail
config=/opt/kafka/config/server.properties
: >"$config"
while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_VERSION) ;;
        KAFKA_*) key=${name#KAFKA_}; key=${key,,}; echo "${key//_/.}=$value" >>"$config" ;;
    esac
done < <(env)
[ -n "${CLUSTER_ID:-}" ] || { echo "entrypoint.sh: CLUSTER_ID is not set (any base64url UUID)" >&2; exit 1; }
java -Xmx256m -cp "/opt/kafka/libs/*" kafka.tools.StorageTool format --config "$config" \
    --cluster-id "$CLUSTER_ID" --ignore-formatted
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -Djava.awt.headless=true ${KAFKA_OPTS:-} \
    -cp "/opt/kafka/libs/*" kafka.Kafka "$config"
