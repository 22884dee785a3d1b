#!/usr/bin/env bash
# The course's Kafka client, as a course stage runs it: kafka-python 2.0.2
# (the version the 2020 and 2021 course repositories install) WITHOUT the
# optional lz4/snappy/zstd packages, in a venv under target/. The e2e test
# `course_consumers` reads every topic the Rust stages produce with it.
# Prints the venv's python; fails loudly when it cannot install.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/course-venv
die() { printf 'course-venv.sh: %s\n' "$*" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import kafka' 2>/dev/null; then
    python3 -m venv "$VENV" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install -q kafka-python==2.0.2 >&2 \
        || die "cannot install kafka-python==2.0.2 from PyPI"
fi
# The point of the check: the optional codecs must be absent.
for codec in lz4 snappy zstandard; do
    if "$VENV/bin/python" -c "import $codec" 2>/dev/null; then
        die "$VENV has the optional $codec package: the course consumer must not"
    fi
done
echo "$PWD/$VENV/bin/python"
