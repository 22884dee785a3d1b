//! Reads a topic whole, outside the consumer group, before the run loop
//! starts: a (re)started predictor loads the latest model of every window
//! before its first prediction, whatever offsets its group committed.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

use super::args::KafkaArgs;
use super::error::DriverError;
use crate::clock::now_secs;
use crate::schema::{Message, Topic};
use crate::stage::{Ctx, Origin, Stage};

/// How long the whole read may take before the stage starts anyway.
const LIMIT: Duration = Duration::from_secs(30);

/// Feeds every message of `topic`, up to its current end, to `stage`;
/// returns how many were read. Malformed records are logged and skipped
/// (the group consumer dead-letters them, once).
pub async fn read_all<S: Stage>(
    args: &KafkaArgs,
    name: &str,
    topic: Topic,
    stage: &mut S,
) -> Result<usize, DriverError> {
    let topic_name = args.topics.name(topic).to_owned();
    let err = |source| DriverError::Preload {
        topic: topic_name.clone(),
        source,
    };
    let mut config = args.client_config();
    config
        .set("group.id", format!("{}-preload", args.group(name)))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    let consumer: BaseConsumer = config.create().map_err(err)?;
    let md = consumer
        .fetch_metadata(Some(&topic_name), Duration::from_secs(10))
        .map_err(err)?;
    let mut ends = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for t in md.topics() {
        for p in t.partitions() {
            let (low, high) = watermarks(&consumer, &topic_name, p.id()).map_err(err)?;
            if high > low {
                ends.push((p.id(), high));
                tpl.add_partition_offset(&topic_name, p.id(), Offset::Beginning)
                    .map_err(err)?;
            }
        }
    }
    if ends.is_empty() {
        return Ok(0);
    }
    consumer.assign(&tpl).map_err(err)?;
    let started = Instant::now();
    let mut read = 0;
    let mut out = Vec::new();
    while !ends.is_empty() && started.elapsed() < LIMIT {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = match result {
            Ok(m) => m,
            Err(error) => {
                tracing::warn!(topic = %topic_name, %error, "preload read error");
                continue;
            }
        };
        read += 1;
        let decoded = Message::decode(topic, m.key(), m.payload().unwrap_or_default());
        let origin = Origin {
            partition: m.partition(),
            offset: m.offset(),
        };
        match decoded {
            Ok(msg) => {
                if let Err(error) = stage.handle(
                    msg,
                    Ctx {
                        now: now_secs(),
                        origin,
                    },
                    &mut out,
                ) {
                    tracing::warn!(topic = %topic_name, partition = origin.partition, offset = origin.offset, %error, "preloaded message refused");
                }
            }
            Err(error) => {
                tracing::warn!(topic = %topic_name, partition = origin.partition, offset = origin.offset, %error, "preloaded message malformed")
            }
        }
        // Outputs of a preload (none for models) are not for the network.
        out.clear();
        let (partition, next) = (m.partition(), m.offset() + 1);
        ends.retain(|&(p, high)| p != partition || next < high);
    }
    if !ends.is_empty() {
        tracing::warn!(topic = %topic_name, "preload stopped at its time limit before the end of the topic");
    }
    Ok(read)
}

/// A partition's watermarks. Apache Kafka can answer NotLeaderForPartition
/// or LeaderNotAvailable for a moment after a topic's creation or a leader
/// change, while its metadata already names the leader: those are retried
/// for up to 30 s (Tansu never answers them).
fn watermarks(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
) -> Result<(i64, i64), rdkafka::error::KafkaError> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)) {
            Err(KafkaError::MetadataFetch(
                RDKafkaErrorCode::NotLeaderForPartition | RDKafkaErrorCode::LeaderNotAvailable,
            )) if Instant::now() < deadline => {
                tracing::info!(topic, partition, "partition leader not ready yet; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}
