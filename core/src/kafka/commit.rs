//! Committing the bounds the run loop computes: only partitions whose
//! bound moved forward, asynchronously between batches and synchronously
//! at shutdown. An offset counts as committed once the commit succeeded:
//! a failed asynchronous commit (reported by the context) is sent again.

use std::collections::HashMap;
use std::sync::Arc;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use super::args::KafkaArgs;
use super::context::Context;
use super::error::DriverError;
use crate::run_loop::Bound;
use crate::schema::Topic;
use crate::telemetry::Transport;

type Moved = Vec<((Topic, i32), i64)>;

/// The last committed offset of each input partition.
#[derive(Debug, Default)]
pub(super) struct Committed(HashMap<(Topic, i32), i64>);

impl Committed {
    /// Forgets partitions a rebalance took.
    pub(super) fn revoke(&mut self, topic: Topic, partitions: &[i32]) {
        for &p in partitions {
            self.0.remove(&(topic, p));
        }
    }

    /// Commits the bounds that moved; `sync` at shutdown (on a blocking
    /// thread, so the caller's grace timeout holds).
    pub(super) async fn commit(
        &mut self,
        consumer: &Arc<StreamConsumer<Context>>,
        args: &KafkaArgs,
        bounds: &[Bound],
        sync: bool,
        transport: &Transport,
    ) -> Result<(), DriverError> {
        if consumer.context().take_commit_failed() {
            self.0.clear();
        }
        let Some((tpl, moved)) = self.to_commit(args, bounds) else {
            return Ok(());
        };
        let committed = if sync {
            let c = consumer.clone();
            tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync))
                .await
                .map_err(|e| DriverError::Runtime(e.to_string()))?
        } else {
            consumer.commit(&tpl, CommitMode::Async)
        };
        match committed {
            Ok(()) => {
                match sync {
                    true => tracing::info!(offsets = listed(&moved), "committed"),
                    false => tracing::debug!(offsets = listed(&moved), "commit requested"),
                }
                transport.commits.inc();
                self.0.extend(moved);
            }
            Err(error) => {
                transport.commit_failures.inc();
                tracing::warn!(%error, sync, "commit failed");
            }
        }
        Ok(())
    }

    /// The offsets to commit and where each partition moves, or `None`
    /// when nothing moved.
    fn to_commit(&self, args: &KafkaArgs, bounds: &[Bound]) -> Option<(TopicPartitionList, Moved)> {
        let mut tpl = TopicPartitionList::new();
        let mut moved = Vec::new();
        for b in bounds {
            let key = (b.topic, b.partition);
            if self.0.get(&key).is_some_and(|&c| c >= b.offset) {
                continue;
            }
            if tpl
                .add_partition_offset(
                    args.topics.name(b.topic),
                    b.partition,
                    Offset::Offset(b.offset),
                )
                .is_ok()
            {
                moved.push((key, b.offset));
            }
        }
        (!moved.is_empty()).then_some((tpl, moved))
    }
}

fn listed(moved: &Moved) -> String {
    let list: Vec<String> = moved
        .iter()
        .map(|((t, p), at)| format!("{t}/{p}@{at}"))
        .collect();
    list.join(",")
}
