"""Bytes of real records under each codec, for docs (compression): dumps
topics PREFIX.* with kafka-python, compresses batches of BATCH consecutive
records of a partition with the lz4 and gzip command-line tools (liblz4 and
zlib, as librdkafka), prints raw and compressed bytes per topic.

    codec_bytes.py BROKERS PREFIX [BATCH]
"""
import subprocess, sys, json
from kafka import KafkaConsumer, TopicPartition
brokers, prefix = sys.argv[1], sys.argv[2]
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 500
def dump(topic):
    c = KafkaConsumer(bootstrap_servers=brokers, enable_auto_commit=False, consumer_timeout_ms=3000)
    parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
    c.assign(parts); c.seek_to_beginning(*parts)
    out = {p.partition: [] for p in parts}
    for r in c:
        out[r.partition].append(r.value)
    c.close()
    return out
res = {}
for t in ["tweets", "cascade_series", "cascade_properties", "samples", "alerts", "stats"]:
    parts = dump(f"{prefix}.{t}")
    sizes = {"raw": 0, "lz4": 0, "gzip-6": 0, "gzip-1": 0}
    n = 0
    for recs in parts.values():
        for i in range(0, len(recs), BATCH):
            blob = b"".join(recs[i:i+BATCH]); n += len(recs[i:i+BATCH])
            sizes["raw"] += len(blob)
            for name, cmd in [("lz4", ["lz4", "-1", "-c"]), ("gzip-6", ["gzip", "-6", "-c"]), ("gzip-1", ["gzip", "-1", "-c"])]:
                sizes[name] += len(subprocess.run(cmd, input=blob, capture_output=True).stdout)
    res[t] = {"records": n, **sizes}
print(json.dumps(res, indent=1))
