#!/usr/bin/env python3
"""The Apache Kafka settings agree everywhere a broker is run.

  check_settings.py [REPO_ROOT]

scripts/kafka/broker.properties holds the settings shared by scripts/kafka.sh,
docker/docker-compose.kafka.yml and kubernetes/kafka/kraft/kafka.yaml. Each
of the latter two must set every one of them (as KAFKA_<KEY> variables, the
apache/kafka image's convention) to the same value, and no other KAFKA_*
setting beyond the per-node ones (listeners, node id, quorum, log dirs): a
new setting goes in the shared file first. The image version of both is
scripts/kafka/pom.xml's kafka.version (Strimzi's is its operator's).

Exits non-zero with one line per disagreement. Run by scripts/test-deploy.sh.
"""
import os
import re
import sys

import yaml

# Each runner's own: where the node listens, who it is, where it stores.
PER_NODE = {
    "node.id",
    "controller.quorum.voters",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "log.dirs",
}


def shared(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                out[key.strip()] = value.strip()
    return out


def env_key(name):
    """KAFKA_LOG_DIRS -> log.dirs (apache/kafka's docker convention)."""
    return name[len("KAFKA_") :].lower().replace("_", ".")


def compare(where, want, env, problems):
    got = {env_key(k): str(v) for k, v in env.items() if k.startswith("KAFKA_")}
    for key, value in want.items():
        if key not in got:
            problems.append(f"{where}: KAFKA_{key.upper().replace('.', '_')} missing (broker.properties: {key}={value})")
        elif got[key] != value:
            problems.append(f"{where}: {key}={got[key]}, broker.properties says {value}")
    for key in sorted(set(got) - set(want) - PER_NODE):
        problems.append(f"{where}: {key}={got[key]} is not in scripts/kafka/broker.properties (add it there)")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    want = shared(os.path.join(root, "scripts/kafka/broker.properties"))
    problems = []
    with open(os.path.join(root, "scripts/kafka/pom.xml")) as f:
        version = re.search(r"<kafka.version>([^<]+)</kafka.version>", f.read()).group(1)

    with open(os.path.join(root, "docker/docker-compose.kafka.yml")) as f:
        kafka = yaml.safe_load(f)["services"]["kafka"]
    compare("docker-compose.kafka.yml", want, kafka["environment"], problems)
    image = re.sub(r"^\$\{KAFKA_IMAGE:-(.*)\}$", r"\1", kafka["image"])
    if image != f"apache/kafka:{version}":
        problems.append(f"docker-compose.kafka.yml: image {image}, pom.xml's Kafka is {version}")

    with open(os.path.join(root, "kubernetes/kafka/kraft/kafka.yaml")) as f:
        for d in yaml.safe_load_all(f):
            if d and d.get("kind") == "StatefulSet":
                c = d["spec"]["template"]["spec"]["containers"][0]
                compare("kubernetes/kafka/kraft", want, {e["name"]: e["value"] for e in c["env"]}, problems)
                if c["image"] != f"apache/kafka:{version}":
                    problems.append(f"kubernetes/kafka/kraft: image {c['image']}, pom.xml's Kafka is {version}")

    for p in problems:
        print(p)
    if not problems:
        print(f"kafka settings: {len(want)} shared settings and version {version} agree")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
