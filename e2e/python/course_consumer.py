"""A course stage's consumer: kafka-python without the optional codec
packages, reading topics the Rust stages produced, as the 2020 and 2021
course stages read them (json.loads of every value).

    course_consumer.py BROKERS TOPIC [TOPIC...]

Reads each topic from the beginning past its end offsets until it stays
quiet (2 s) and prints one JSON
object: per topic, the records read, the values that were not JSON, and the
field names seen. Exits non-zero with the client's error when a record
cannot be read (UnsupportedCodecError for lz4 without the lz4 package).
"""

import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition


def read(brokers, topic, limit_s=60):
    consumer = KafkaConsumer(
        bootstrap_servers=brokers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    if not parts:
        raise SystemExit(f"{topic}: no partitions")
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    out = {"records": 0, "not_json": 0, "fields": set()}
    deadline = time.time() + limit_s
    # The end offsets first, then until the topic stays quiet: Tansu reports
    # a high watermark as its newest batch's first offset + 1, so a read
    # that stops at the end offsets misses that batch's other records (the
    # producers have stopped: nothing more arrives).
    quiet = 0
    while quiet < 4 or any(consumer.position(p) < ends[p] for p in parts):
        if time.time() > deadline:
            raise SystemExit(f"{topic}: not at the end offsets {ends} after {limit_s} s")
        polled = consumer.poll(timeout_ms=500)
        quiet = 0 if polled else quiet + 1
        for batch in polled.values():
            for record in batch:
                out["records"] += 1
                try:
                    value = json.loads(record.value)
                except ValueError:
                    out["not_json"] += 1
                    continue
                if isinstance(value, dict):
                    out["fields"].update(value)
    consumer.close()
    out["fields"] = sorted(out["fields"])
    return out


def main():
    brokers, topics = sys.argv[1], sys.argv[2:]
    for codec in ("lz4", "snappy", "zstandard"):
        try:
            __import__(codec)
        except ImportError:
            continue
        raise SystemExit(f"the optional {codec} package is installed: not a course consumer")
    print(json.dumps({t: read(brokers, t) for t in topics}))


if __name__ == "__main__":
    main()
