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
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
