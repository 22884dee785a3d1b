//! Reading without a consumer group: every partition of the inputs
//! assigned to this one process from a chosen end, no join, no commits.
//!
//! For a tail such as the logger, a group join costs seconds at start
//! (librdkafka waits for the coordinator, then the rebalance) and leaves an
//! orphan group on the broker at each run; a tail needs neither, since it
//! holds no state and nobody resumes from its offsets.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::context::Context;

/// Where an assigned consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The oldest record the broker keeps.
    Beginning,
    /// Only records produced from now on.
    End,
}

/// Assigns every partition of `topics` (which exist: the driver created
/// them) to `consumer`, at `start`; returns how many.
pub fn all_partitions(
    consumer: &StreamConsumer<Context>,
    topics: &[&str],
    start: Start,
) -> Result<usize, KafkaError> {
    let offset = match start {
        Start::Beginning => Offset::Beginning,
        Start::End => Offset::End,
    };
    let mut tpl = TopicPartitionList::new();
    for &topic in topics {
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        for t in md.topics() {
            for p in t.partitions() {
                tpl.add_partition_offset(topic, p.id(), offset)?;
            }
        }
    }
    consumer.assign(&tpl)?;
    Ok(tpl.count())
}
