//! Committing the bounds the run loop computes: only partitions whose
//! bound moved forward, asynchronously between batches and synchronously
//! at shutdown. An offset counts as committed once the commit succeeded:
//! a failed asynchronous commit (reported by the context) is sent again.
//!
//! Each commit carries the stage's consumed position in its metadata
//! string ([`metadata`]), so that `tweetoscope status`, from outside the
//! process, splits the lag into unread and held (see
//! [`crate::telemetry::Lag`]). A partition whose bound stays put while the
//! stage reads on (the learner's training set) is committed again at the
//! same offset every [`HELD_REFRESH`], only to refresh that position.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use super::args::KafkaArgs;
use super::context::Context;
use super::error::DriverError;
use crate::run_loop::Bound;
use crate::schema::Topic;
use crate::telemetry::Transport;

type Moved = Vec<((Topic, i32), Mark)>;

/// Longest time a partition's committed consumed position lags behind
/// while its offset does not move.
pub const HELD_REFRESH: Duration = Duration::from_secs(5);

pub use super::position::{consumed_of, metadata};

/// What was last committed on a partition, and when.
#[derive(Debug, Clone, Copy)]
struct Mark {
    offset: i64,
    consumed: i64,
    at: Instant,
}

/// The last commit of each input partition.
#[derive(Debug, Default)]
pub(super) struct Committed(HashMap<(Topic, i32), Mark>);

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
        // An assigned reader (no group) has nowhere to commit.
        if args.assign.is_some() {
            return Ok(());
        }
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
    /// when nothing moved (nor a held position went stale).
    fn to_commit(&self, args: &KafkaArgs, bounds: &[Bound]) -> Option<(TopicPartitionList, Moved)> {
        let mut tpl = TopicPartitionList::new();
        let mut moved = Vec::new();
        let now = Instant::now();
        for b in bounds {
            let key = (b.topic, b.partition);
            if let Some(last) = self.0.get(&key) {
                let offset_stays = last.offset >= b.offset;
                let position_fresh =
                    last.consumed == b.consumed || now.duration_since(last.at) < HELD_REFRESH;
                if offset_stays && position_fresh {
                    continue;
                }
            }
            let topic = args.topics.name(b.topic);
            let added = tpl.add_partition_offset(topic, b.partition, Offset::Offset(b.offset));
            if let Some(mut element) = tpl.find_partition(topic, b.partition) {
                element.set_metadata(metadata(b.consumed));
            }
            if added.is_ok() {
                let mark = Mark {
                    offset: b.offset,
                    consumed: b.consumed,
                    at: now,
                };
                moved.push((key, mark));
            }
        }
        (!moved.is_empty()).then_some((tpl, moved))
    }
}

fn listed(moved: &Moved) -> String {
    let list: Vec<String> = moved
        .iter()
        .map(|((t, p), mark)| format!("{t}/{p}@{}", mark.offset))
        .collect();
    list.join(",")
}
