//! Replays with their outputs suppressed (exactly-once mode): a stage
//! commits its input only up to what its memory depends on
//! ([`crate::stage::Stage::retained_offset`]), so a restarted stage (or the
//! next owner of a partition) reads again inputs whose outputs were already
//! committed. Each commit carries the consumed position in its metadata
//! (`consumed=N`, [`super::position::metadata`]), and in the positions
//! topic for brokers that drop that metadata
//! ([`super::transaction_positions`]); the records of a partition
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
use super::transaction_positions::PositionsTopic;
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
    positions: PositionsTopic,
    /// The positions topic as read at this assignment's first lookup that
    /// needed it (by record key); dropped with the assignment.
    recorded: Option<HashMap<String, i64>>,
    suppressed: IntCounter,
}

impl Replay {
    pub(super) fn new(
        metrics: &Metrics,
        stage: &str,
        positions: PositionsTopic,
    ) -> Result<Self, TelemetryError> {
        let suppressed = IntCounter::with_opts(Opts::new(
            format!("tweetoscope_{stage}_replayed_outputs_suppressed_total"),
            "Outputs of replayed inputs not produced again: a transaction committed them before (exactly-once)",
        ))?;
        metrics.registry().register(Box::new(suppressed.clone()))?;
        Ok(Self {
            until: HashMap::new(),
            positions,
            recorded: None,
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
                let until =
                    tokio::task::block_in_place(|| self.lookup(consumer, topic, partition))?;
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

    /// Where the replay of `topic`/`partition` ends, once looked up: a
    /// commit during the replay carries at least it, since every output
    /// before it is committed.
    pub(super) fn until(&self, topic: &str, partition: i32) -> Option<i64> {
        self.until.get(topic)?.get(&partition).copied()
    }

    /// Forgets revoked partitions: their next assignment looks again.
    pub(super) fn forget(&mut self, topic: &str, partitions: &[i32]) {
        if let Some(m) = self.until.get_mut(topic) {
            m.retain(|p, _| !partitions.contains(p));
        }
        self.recorded = None;
    }

    /// The consumed position of `partition`'s last commit, or 0 (no
    /// commit: nothing to suppress): from the commit's metadata, else
    /// from the positions topic (read once per assignment).
    fn lookup(
        &mut self,
        consumer: &StreamConsumer<Context>,
        topic: &str,
        partition: i32,
    ) -> Result<i64, TransactionError> {
        let (offset, consumed) = committed(consumer, topic, partition)?;
        // No position in the metadata, or no offset at all: Tansu 0.x
        // drops the metadata of a transactional commit, and was seen
        // answering no offset for a partition whose transaction committed
        // (its position was in the topic); the stage then reads from the
        // partition's start, which replays at least [O, N).
        let consumed = match consumed {
            None => self.recorded(topic, partition)?,
            consumed => consumed,
        };
        if let (Offset::Offset(_), None) = (offset, consumed) {
            tracing::warn!(
                topic,
                partition,
                committed = ?offset,
                "the committed offset has no consumed position, in its metadata or the positions topic (a commit made before exactly-once mode): replayed outputs are produced again"
            );
        }
        tracing::info!(topic, partition, committed = ?offset, consumed, "committed position");
        Ok(consumed.unwrap_or(0))
    }

    /// `partition`'s latest record in the positions topic, read once per
    /// assignment (Tansu keeps no metadata of a transactional commit).
    fn recorded(&mut self, topic: &str, partition: i32) -> Result<Option<i64>, TransactionError> {
        let key = self.positions.key(topic, partition);
        if self.recorded.is_none() {
            let read = self.positions.read().map_err(|e| {
                TransactionError::Fatal(format!("cannot read the positions topic: {e}"))
            })?;
            tracing::info!(records = read.len(), "positions topic read");
            self.recorded = Some(read);
        }
        Ok(self.recorded.as_ref().and_then(|r| r.get(&key).copied()))
    }
}

/// `partition`'s committed offset and the consumed position its metadata
/// carries.
fn committed(
    consumer: &StreamConsumer<Context>,
    topic: &str,
    partition: i32,
) -> Result<(Offset, Option<i64>), TransactionError> {
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
    Ok(element.as_ref().map_or((Offset::Invalid, None), |e| {
        (e.offset(), consumed_of(e.metadata()))
    }))
}
