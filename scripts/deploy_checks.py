#!/usr/bin/env python3
"""Offline checks of the deployment files, for scripts/test-deploy.sh.

  deploy_checks.py env BINDIR COMPOSE_JSON MANIFESTS.yaml...
      every TWEETOSCOPE_* variable that a compose service or a Kubernetes
      container gets (env, envFrom of a ConfigMap) is an option of the binary
      it runs: the `env: NAME` lines of that binary's --help.
  deploy_checks.py crds SCHEMA_DIR MANIFESTS.yaml...
      every custom resource (Strimzi, KEDA) validates against its CRD schema,
      unknown fields rejected; prints the built-in resources' documents to
      stdout for kubernetes-validate.
  deploy_checks.py pods MANIFESTS.yaml...
      every pod template runs under a ServiceAccount with imagePullSecrets.
  deploy_checks.py ci-paths .gitlab-ci.yml
      every repository file or directory the jobs' scripts name exists.
  deploy_checks.py k8s VERSION MANIFESTS.yaml...
      our image pinned to VERSION (no `latest`, a pull policy that fits);
      no fixed `replicas` in a Deployment an autoscaler (HPA, KEDA) owns;
      every stage Deployment spread over nodes; Grafana's admin password
      from a required Secret and no anonymous access; no ServiceMonitor.
  deploy_checks.py netpol MANIFESTS.yaml
      the NetworkPolicies, evaluated: what must talk can (stages -> Kafka
      and Loki, Prometheus -> metrics ports, Grafana -> Prometheus and
      Loki, anyone -> the web pages), what need not cannot.
  deploy_checks.py servicemonitor WITH_COMPONENT.yaml
      the optional ServiceMonitor selects the metrics Service, on a port
      it has, and labels targets with their stage.
  deploy_checks.py compose-ports COMPOSE_JSON HOST_IP
      every port compose publishes is bound to HOST_IP.

Exits non-zero with one line per problem.
"""
import json
import os
import re
import subprocess
import sys

import yaml

problems = []


def fail(msg):
    problems.append(msg)


def docs(paths):
    for p in paths:
        with open(p) as f:
            for d in yaml.safe_load_all(f):
                if d:
                    yield d


def help_vars(bindir, command, cache={}):
    """The TWEETOSCOPE_* variables that `command --help` lists."""
    key = tuple(command)
    if key not in cache:
        exe = os.path.join(bindir, command[0])
        if not os.access(exe, os.X_OK):
            fail(f"{command[0]}: no such binary in {bindir}")
            cache[key] = set()
        else:
            out = subprocess.run([exe, *command[1:], "--help"], capture_output=True, text=True)
            if out.returncode != 0:
                fail(f"{' '.join(command)} --help failed: {out.stderr.strip()}")
            cache[key] = set(re.findall(r"env: (TWEETOSCOPE_[A-Z0-9_]+)", out.stdout))
    return cache[key]


def check_vars(bindir, where, command, names):
    if not command:
        return 0
    accepted = help_vars(bindir, command)
    n = 0
    for name in sorted(names):
        if not name.startswith("TWEETOSCOPE_"):
            continue
        n += 1
        if name in accepted:
            continue
        fail(f"{where}: {name} is not an option of `{' '.join(command)}`")
    return n


def stage_command(cmd):
    """The binary and subcommands of a container command."""
    if not cmd:
        return None
    if cmd[0] == "tweetoscope":
        return [c for c in cmd if not c.startswith("-")]
    return [cmd[0]]


def cmd_env(bindir, compose_json, manifests):
    checked = 0
    with open(compose_json) as f:
        compose = json.load(f)
    for name, svc in compose["services"].items():
        cmd = svc.get("command")
        image = svc.get("image", "")
        if "tweetoscope" not in image.split("/")[-1].split(":")[0]:
            continue
        checked += check_vars(bindir, f"compose service {name}", stage_command(cmd), (svc.get("environment") or {}).keys())
    all_docs = list(docs(manifests))
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in all_docs if d.get("kind") == "ConfigMap"}
    for d in all_docs:
        spec = pod_spec(d)
        if not spec:
            continue
        for c in spec.get("containers", []):
            if not c.get("image", "").startswith("tweetoscope"):
                continue
            names = {e["name"] for e in c.get("env", [])}
            for ef in c.get("envFrom", []):
                ref = ef.get("configMapRef", {}).get("name")
                if ref is not None:
                    if ref not in configmaps:
                        fail(f"{d['kind']} {d['metadata']['name']}: no ConfigMap {ref}")
                    names |= set(configmaps.get(ref, {}).keys())
            where = f"{d['kind']} {d['metadata']['name']} container {c['name']}"
            checked += check_vars(bindir, where, stage_command(c.get("command")), names)
    print(f"env: {checked} variable settings checked against the binaries' --help")
    if checked == 0:
        fail("env: no variable checked")


def pod_spec(d):
    kind = d.get("kind")
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
        return d["spec"]["template"]["spec"]
    if kind == "CronJob":
        return d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def strict(schema):
    """Rejects unknown fields, as `kubectl apply --validate=strict` does."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def cmd_crds(schema_dir, manifests):
    import jsonschema

    validated = 0
    out = []
    for d in docs(manifests):
        group, _, version = d["apiVersion"].rpartition("/")
        if group == "monitoring.coreos.com":
            continue  # checked by `servicemonitor`, not kubernetes-validate
        if group.endswith("strimzi.io") or group.endswith("keda.sh"):
            path = os.path.join(schema_dir, f"{group}_{version}_{d['kind'].lower()}.json")
            if not os.path.exists(path):
                fail(f"{d['kind']} {d['metadata']['name']}: no schema {path} for {d['apiVersion']}")
                continue
            with open(path) as f:
                schema = strict(json.load(f))
            # metadata is the API server's ObjectMeta, not in the CRD schema.
            body = {k: v for k, v in d.items() if k != "metadata"}
            schema.get("properties", {}).pop("metadata", None)
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(body))
            for e in errors:
                fail(f"{d['kind']} {d['metadata']['name']}: {'.'.join(map(str, e.path))}: {e.message}")
            validated += 1
        else:
            out.append(d)
    sys.stdout.write(yaml.safe_dump_all(out))
    print(f"crds: {validated} custom resources validated", file=sys.stderr)


def cmd_pods(manifests):
    all_docs = list(docs(manifests))
    sas = {d["metadata"]["name"]: d for d in all_docs if d.get("kind") == "ServiceAccount"}
    n = 0
    for d in all_docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        n += 1
        sa = spec.get("serviceAccountName")
        secrets = spec.get("imagePullSecrets") or (sas.get(sa, {}).get("imagePullSecrets") if sa else None)
        if not secrets:
            fail(f"{d['kind']} {d['metadata']['name']}: no imagePullSecrets (pod or ServiceAccount {sa})")
    print(f"pods: {n} pod templates pull with a registry secret")
    if n == 0:
        fail("pods: no pod template found")


def cmd_ci_paths(path):
    with open(path) as f:
        ci = yaml.safe_load(f)
    n = 0
    for name, job in ci.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        lines = [*job.get("before_script", []), *job["script"], *job.get("after_script", [])]
        for line in lines:
            for p in re.findall(r"(?<![\w$/.-])((?:\.ci|docker|kubernetes|scripts|monitoring)/[\w./-]*)", line):
                n += 1
                if not os.path.exists(p):
                    fail(f".gitlab-ci.yml job {name}: {p} does not exist")
        for p in job.get("artifacts", {}).get("paths", []) + job.get("cache", {}).get("key", {}).get("files", []):
            if not p.startswith(("target/", ".cargo-home/")) and not os.path.exists(p):
                fail(f".gitlab-ci.yml job {name}: {p} does not exist")
    print(f"ci-paths: {n} paths named by the jobs exist")
    if n == 0:
        fail("ci-paths: no path found in the jobs")


def labels_match(selector, labels):
    """A matchLabels-only selector (all this repository writes) against labels."""
    if selector is None:
        return False
    if set(selector) - {"matchLabels"}:
        fail(f"selector {selector}: only matchLabels is understood by this check")
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def pods(all_docs):
    """(kind/name, pod labels, {port name: number}) of every pod template."""
    out = []
    for d in all_docs:
        spec = pod_spec(d)
        if spec is None:
            continue
        tmpl = d["spec"]["jobTemplate"]["spec"]["template"] if d["kind"] == "CronJob" else d["spec"]["template"]
        ports = {}
        for c in spec.get("containers", []):
            for p in c.get("ports", []):
                ports[p.get("name", str(p["containerPort"]))] = p["containerPort"]
        out.append((f"{d['kind']}/{d['metadata']['name']}", tmpl["metadata"].get("labels", {}), ports))
    return out


def cmd_k8s(version, manifests):
    for path in manifests:
        all_docs = list(docs([path]))
        deployments = {d["metadata"]["name"]: d for d in all_docs if d.get("kind") == "Deployment"}
        for d in all_docs:
            spec = pod_spec(d)
            if spec is None:
                continue
            where = f"{path}: {d['kind']} {d['metadata']['name']}"
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                image = c.get("image", "")
                name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
                if not tag or tag == "latest":
                    fail(f"{where}: image {image!r} is not pinned to a version tag")
                if name.split("/")[-1] == "tweetoscope" and tag != version and not tag.startswith(version + "-"):
                    fail(f"{where}: image {image!r}: the default tag is the release {version} (Cargo.toml)")
                if tag == "latest" and c.get("imagePullPolicy") != "Always":
                    fail(f"{where}: a moving tag needs imagePullPolicy Always")
            if d.get("kind") == "Deployment" and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "stage":
                labels = d["spec"]["template"]["metadata"]["labels"]
                spread = spec.get("topologySpreadConstraints") or []
                if not any(
                    s.get("topologyKey") == "kubernetes.io/hostname" and labels_match(s.get("labelSelector"), labels)
                    for s in spread
                ):
                    fail(f"{where}: no topology spread over nodes (kubernetes.io/hostname) selecting its own pods")
            if d.get("kind") == "Deployment" and d["metadata"]["name"] == "grafana":
                env = {e["name"]: e for c in spec["containers"] for e in c.get("env", [])}
                pw = env.get("GF_SECURITY_ADMIN_PASSWORD", {})
                ref = pw.get("valueFrom", {}).get("secretKeyRef")
                if "value" in pw or not ref or ref.get("optional", False):
                    fail(f"{where}: the admin password must come from a required Secret, got {pw}")
                if env.get("GF_AUTH_ANONYMOUS_ENABLED", {}).get("value", "false") != "false":
                    fail(f"{where}: anonymous viewing must be off by default")
        scaled = [
            (d["kind"], d["spec"]["scaleTargetRef"]) for d in all_docs if d.get("kind") in ("HorizontalPodAutoscaler", "ScaledObject")
        ]
        for kind, ref in scaled:
            target = deployments.get(ref["name"])
            if target is None:
                fail(f"{path}: {kind} targets a missing Deployment {ref['name']}")
            elif "replicas" in target["spec"]:
                fail(f"{path}: Deployment {ref['name']} fixes replicas while a {kind} owns the count")
        if not scaled:
            fail(f"{path}: no autoscaler found (the estimator's)")
        if any(d.get("kind") == "ServiceMonitor" for d in all_docs):
            fail(f"{path}: a ServiceMonitor is applied by default (it is an optional component)")
        if not any(d.get("kind") == "NetworkPolicy" for d in all_docs):
            fail(f"{path}: no NetworkPolicy")
    print(f"k8s: images pinned to {version}, autoscaled replicas, spread, Grafana access checked in {len(manifests)} renderings")


def allowed(policies, src, dst, port):
    """Whether pod src may open a connection to pod dst's port (a number),
    both in the namespace, by the NetworkPolicies (matchLabels only)."""

    def port_ok(rule_ports, ports_of):
        if not rule_ports:
            return True
        for p in rule_ports:
            want = p.get("port")
            if want is None or want == port or ports_of.get(want) == port:
                return True
        return False

    def peer_ok(peers, pod):
        if not peers:
            return True
        return any("namespaceSelector" not in p and labels_match(p.get("podSelector"), pod[1]) for p in peers)

    def side(kind, me, other, key):
        selecting = [p for p in policies if kind in p["spec"].get("policyTypes", []) and labels_match(p["spec"]["podSelector"], me[1])]
        if not selecting:
            return True
        return any(
            peer_ok(r.get(key), other) and port_ok(r.get("ports"), dst[2])
            for p in selecting
            for r in p["spec"].get(kind.lower(), []) or []
        )

    return side("Egress", src, dst, "to") and side("Ingress", dst, src, "from")


def cmd_netpol(path):
    all_docs = list(docs([path]))
    policies = [d for d in all_docs if d.get("kind") == "NetworkPolicy"]
    by_name = {}
    for kind_name, labels, ports in pods(all_docs):
        by_name[labels.get("app.kubernetes.io/name", kind_name)] = (kind_name, labels, ports)
    need = ["collector", "estimator", "predictor", "learner", "logger", "dashboard", "generator", "topics", "kafka", "prometheus", "loki", "grafana"]
    missing = [n for n in need if n not in by_name]
    if missing:
        fail(f"netpol: no pod template for {missing} in {path}")
        return
    stages = ["collector", "estimator", "predictor", "learner", "logger", "dashboard", "generator"]
    outsider = ("an outside client", {}, {})
    must = [(s, "kafka", 9092) for s in stages + ["topics"]]
    must += [(s, "loki", 3100) for s in stages]
    must += [("prometheus", s, 9100) for s in stages]
    must += [("grafana", "prometheus", 9090), ("grafana", "loki", 3100)]
    must_not = [("collector", "predictor", 9100), ("grafana", "kafka", 9092), ("collector", "prometheus", 9090),
                ("predictor", "kafka", 9093), ("collector", "grafana", 3000), ("learner", "dashboard", 8080),
                (None, "kafka", 9092), (None, "prometheus", 9090), (None, "collector", 9100), (None, "loki", 3100)]
    may = [(None, "dashboard", 8080), (None, "grafana", 3000)]
    pod = lambda n: outsider if n is None else by_name[n]
    for src, dst, port in must + may:
        if not allowed(policies, pod(src), pod(dst), port):
            fail(f"netpol: {src or 'an outside client'} cannot reach {dst}:{port}, which it must")
    for src, dst, port in must_not:
        if allowed(policies, pod(src), pod(dst), port):
            fail(f"netpol: {src or 'an outside client'} can reach {dst}:{port}, which it need not")
    print(f"netpol: {len(policies)} policies; {len(must) + len(may)} needed paths open, {len(must_not)} others closed")


def cmd_servicemonitor(path):
    all_docs = list(docs([path]))
    monitors = [d for d in all_docs if d.get("kind") == "ServiceMonitor"]
    if len(monitors) != 1:
        fail(f"servicemonitor: {len(monitors)} ServiceMonitors in {path}, want 1")
        return
    m = monitors[0]
    if m["apiVersion"] != "monitoring.coreos.com/v1":
        fail(f"servicemonitor: apiVersion {m['apiVersion']}")
    services = [d for d in all_docs if d.get("kind") == "Service" and labels_match(m["spec"]["selector"], d["metadata"].get("labels", {}))]
    if [s["metadata"]["name"] for s in services] != ["tweetoscope-metrics"]:
        fail(f"servicemonitor: selects {[s['metadata']['name'] for s in services]}, want the metrics Service alone")
        return
    port_names = {p["name"] for p in services[0]["spec"]["ports"]}
    for e in m["spec"]["endpoints"]:
        if e.get("port") not in port_names:
            fail(f"servicemonitor: endpoint port {e.get('port')} not on the Service ({port_names})")
        if e.get("path", "/metrics") != "/metrics":
            fail(f"servicemonitor: path {e.get('path')}")
        if not any(r.get("targetLabel") == "stage" for r in e.get("relabelings", [])):
            fail("servicemonitor: targets carry no `stage` label (the dashboard's legends need it)")
    print("servicemonitor: selects tweetoscope-metrics on its metrics port, labels the stage")


def cmd_compose_ports(compose_json, host_ip):
    with open(compose_json) as f:
        compose = json.load(f)
    n = 0
    for name, svc in compose["services"].items():
        for p in svc.get("ports", []):
            n += 1
            if p.get("host_ip") != host_ip:
                fail(f"compose service {name}: port {p.get('published')} bound to {p.get('host_ip') or 'every interface'}, want {host_ip}")
    print(f"compose-ports: {n} published ports bound to {host_ip}")
    if n == 0:
        fail("compose-ports: no published port")


def main():
    cmd, *args = sys.argv[1:] or ["help"]
    if cmd == "env":
        cmd_env(args[0], args[1], args[2:])
    elif cmd == "crds":
        cmd_crds(args[0], args[1:])
    elif cmd == "pods":
        cmd_pods(args)
    elif cmd == "ci-paths":
        cmd_ci_paths(args[0])
    elif cmd == "k8s":
        cmd_k8s(args[0], args[1:])
    elif cmd == "netpol":
        cmd_netpol(args[0])
    elif cmd == "servicemonitor":
        cmd_servicemonitor(args[0])
    elif cmd == "compose-ports":
        cmd_compose_ports(args[0], args[1])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
