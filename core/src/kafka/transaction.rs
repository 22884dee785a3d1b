//! Exactly-once delivery (`--delivery exactly-once`): a stage's outputs and
//! its input offsets commit in one Kafka transaction (KIP-98), with the
//! consumer group's metadata, so that a zombie whose partitions went to
//! another member is refused (KIP-447).
//!
//! - The producer is transactional (`transactional.id` = group + instance
//!   id, see [`super::transaction_args`]); `init_transactions` at start
//!   aborts whatever a predecessor with the same id left open.
//! - A transaction begins with the first record produced after a commit
//!   ([`Transaction::begin`], called by [`super::output::Output`] before
//!   every record, dead letters and forwarded logs included) and commits
//!   when a batch closes once `--transaction-interval` has passed, with
//!   every input partition's bound (held back to
//!   [`crate::stage::Stage::retained_offset`]) and, in its metadata, the
//!   consumed position (`consumed=N`).
//! - A rebalance that takes partitions away commits the open transaction
//!   from inside the revoke callback ([`Transaction::revoking`]), while the
//!   group generation it was built in is still valid (as Kafka Streams
//!   does): at the offsets last committed (nothing newer is in memory) and
//!   the positions consumed so far.
//! - A restarted stage replays from the committed offset to the consumed
//!   position with its outputs suppressed ([`super::transaction_replay`]).
//!
//! Errors: fenced (a newer instance with the same id, or an expired
//! generation of a zombie) stops the stage cleanly with a log line; an
//! abortable error aborts the transaction and stops the stage with an
//! error, because its memory already holds the aborted inputs and only a
//! replay from the committed offsets rebuilds it: the supervisor restarts
//! it (a rewind inside the process would need the stage's state as it was
//! at the last commit, which nothing keeps).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::KafkaError;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use super::context::RevokeHook;
use super::delivery::Deliveries;
use super::position::metadata;
pub use super::transaction_error::TransactionError;
use super::transaction_error::{classify, is_fenced};
use super::transaction_metrics::TxnMetrics;
use crate::telemetry::Metrics;

/// Longest wait for one transactional call (init, offsets, commit, abort).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// An input partition's commit position in exactly-once mode.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The offset last committed, or the first one read in this process.
    committed: i64,
    /// The next offset to read.
    consumed: i64,
}

#[derive(Debug, Default)]
struct State {
    /// When the open transaction began.
    began: Option<Instant>,
    /// When the last commit ended.
    last: Option<Instant>,
    /// Input positions by topic name and partition.
    positions: HashMap<String, HashMap<i32, Position>>,
    /// Whether an input was read since the last commit.
    moved: bool,
    /// A failure inside a rebalance callback, for the loop to stop with.
    failed: Option<TransactionError>,
}

/// A stage's transactional producer and the positions it commits.
pub struct Transaction {
    producer: Arc<ThreadedProducer<Deliveries>>,
    id: String,
    interval: Duration,
    /// A transaction is open (the fast path of [`Self::begin`]).
    open: AtomicBool,
    state: Mutex<State>,
    metrics: TxnMetrics,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("id", &self.id).finish()
    }
}

impl Transaction {
    /// The fenced error, when the producer failed because a newer instance
    /// took the id (librdkafka then fails every queued record as fatal, so
    /// a delivery error can be the first sign of it).
    pub fn fenced(&self) -> Option<TransactionError> {
        let (code, _) = self.producer.client().fatal_error()?;
        is_fenced(code).then(|| TransactionError::Fenced {
            id: self.id.clone(),
        })
    }

    /// Registers the producer under `id` (aborting what a predecessor of
    /// the same id left open): a blocking call, made once at start.
    pub fn start(
        producer: Arc<ThreadedProducer<Deliveries>>,
        id: String,
        interval: Duration,
        metrics: &Metrics,
        stage: &str,
    ) -> Result<Self, TransactionError> {
        let metrics =
            TxnMetrics::new(metrics, stage).map_err(|e| TransactionError::Fatal(e.to_string()))?;
        producer
            .init_transactions(CALL_TIMEOUT)
            .map_err(|e| classify(&id, &e))?;
        tracing::info!(stage, transactional_id = id, "transactions initialised");
        Ok(Self {
            producer,
            id,
            interval,
            open: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            metrics,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Only map updates run under this lock: the data stays valid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a transaction unless one is open: before any record is
    /// produced.
    pub fn begin(&self) -> Result<(), TransactionError> {
        if self.open.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut state = self.state();
        self.begin_locked(&mut state)
    }

    fn begin_locked(&self, state: &mut State) -> Result<(), TransactionError> {
        if state.began.is_none() {
            self.producer
                .begin_transaction()
                .map_err(|e| classify(&self.id, &e))?;
            state.began = Some(Instant::now());
            self.open.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The input at `offset` of `topic`/`partition` was read.
    pub fn read(&self, topic: &str, partition: i32, offset: i64) {
        let mut state = self.state();
        state.moved = true;
        let by_partition = match state.positions.get_mut(topic) {
            Some(m) => m,
            None => state.positions.entry(topic.to_owned()).or_default(),
        };
        by_partition
            .entry(partition)
            .and_modify(|p| p.consumed = offset + 1)
            .or_insert(Position {
                committed: offset,
                consumed: offset + 1,
            });
    }

    /// Whether a commit is due: something to commit, and the interval
    /// passed since the transaction began (or since the last commit, for
    /// inputs that produced nothing).
    pub fn due(&self) -> bool {
        let state = self.state();
        let since = state.began.or(state.last);
        let elapsed = since.is_none_or(|t| t.elapsed() >= self.interval);
        (state.began.is_some() || state.moved) && elapsed
    }

    /// A failure of a commit made inside a rebalance callback.
    pub fn take_failed(&self) -> Option<TransactionError> {
        self.state().failed.take()
    }

    /// Commits the open transaction (opening one if only offsets moved)
    /// with `bounds` (topic name, partition, offset, consumed): blocking
    /// calls, run by the caller where blocking is allowed. Every record
    /// produced must have been handed to the producer; the commit flushes
    /// them.
    pub fn commit(
        &self,
        bounds: &[(&str, i32, i64, i64)],
        group: Option<&ConsumerGroupMetadata>,
    ) -> Result<(), TransactionError> {
        let mut state = self.state();
        for &(topic, partition, offset, consumed) in bounds {
            if let Some(p) = state
                .positions
                .get_mut(topic)
                .and_then(|m| m.get_mut(&partition))
            {
                p.committed = offset;
                p.consumed = p.consumed.max(consumed);
            }
        }
        self.commit_locked(&mut state, bounds, group)
    }

    fn commit_locked(
        &self,
        state: &mut State,
        bounds: &[(&str, i32, i64, i64)],
        group: Option<&ConsumerGroupMetadata>,
    ) -> Result<(), TransactionError> {
        if state.began.is_none() && !state.moved {
            return Ok(());
        }
        self.begin_locked(state)?;
        let result = self.offsets_and_commit(bounds, group);
        let began = state.began.take();
        self.open.store(false, Ordering::Release);
        state.moved = false;
        state.last = Some(Instant::now());
        match result {
            Ok(()) => {
                self.metrics
                    .outcomes
                    .with_label_values(&["committed"])
                    .inc();
                if let Some(b) = began {
                    self.metrics.duration.observe(b.elapsed().as_secs_f64());
                }
                Ok(())
            }
            Err(error) => Err(self.abort_after(error)),
        }
    }

    fn offsets_and_commit(
        &self,
        bounds: &[(&str, i32, i64, i64)],
        group: Option<&ConsumerGroupMetadata>,
    ) -> Result<(), TransactionError> {
        let mut tpl = TopicPartitionList::new();
        for &(topic, partition, offset, consumed) in bounds {
            if tpl
                .add_partition_offset(topic, partition, Offset::Offset(offset))
                .is_ok()
                && let Some(mut e) = tpl.find_partition(topic, partition)
            {
                e.set_metadata(metadata(consumed));
            }
        }
        if tpl.count() > 0 {
            let group = group.ok_or_else(|| {
                TransactionError::Fatal("no consumer group metadata to commit offsets with".into())
            })?;
            self.retrying(|p| p.send_offsets_to_transaction(&tpl, group, CALL_TIMEOUT))?;
        }
        self.retrying(|p| p.commit_transaction(CALL_TIMEOUT))
    }

    /// `call`, again while librdkafka says it may succeed on retry.
    fn retrying(
        &self,
        call: impl Fn(&ThreadedProducer<Deliveries>) -> Result<(), KafkaError>,
    ) -> Result<(), TransactionError> {
        let mut tries = 0;
        loop {
            match call(&self.producer) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Transaction(e)) if e.is_retriable() && tries < 3 => {
                    tries += 1;
                    tracing::warn!(error = %e, tries, "transactional call failed; retried");
                }
                Err(e) => return Err(classify(&self.id, &e)),
            }
        }
    }

    /// Aborts after `error` when it asks for it; counts the outcome.
    fn abort_after(&self, error: TransactionError) -> TransactionError {
        self.metrics.outcomes.with_label_values(&["aborted"]).inc();
        if let TransactionError::Aborted(why) = &error {
            tracing::error!(
                transactional_id = self.id,
                reason = why,
                "aborting the transaction"
            );
            if let Err(e) = self.producer.abort_transaction(CALL_TIMEOUT) {
                return classify(&self.id, &e);
            }
        }
        error
    }

    /// Aborts the open transaction (a delivery failed before the commit).
    pub fn abort(&self, why: &str) -> TransactionError {
        let mut state = self.state();
        state.began = None;
        self.open.store(false, Ordering::Release);
        self.abort_after(TransactionError::Aborted(why.to_owned()))
    }
}

/// Before the group takes partitions away: commits what the open
/// transaction holds, in the generation it was built in. When the
/// assignment was lost (this member was expelled, e.g. stalled past its
/// session timeout) the generation is gone: the transaction is aborted.
/// An abort that takes only revoked partitions' work with it needs no
/// restart (the loop drops their state, and whoever owns them next
/// replays from the committed offsets): with the range assignor every
/// partition is revoked at once, so it always does.
impl RevokeHook for Transaction {
    fn revoking(
        &self,
        group: Option<ConsumerGroupMetadata>,
        revoked: &[(String, i32)],
        lost: bool,
    ) {
        let mut state = self.state();
        let owned: Vec<(String, i32, i64, i64)> = state
            .positions
            .iter()
            .flat_map(|(t, m)| {
                m.iter()
                    .map(move |(&p, pos)| (t.clone(), p, pos.committed, pos.consumed))
            })
            .collect();
        let all_revoked = owned
            .iter()
            .all(|(t, p, _, _)| revoked.iter().any(|(rt, rp)| rt == t && rp == p));
        let result = if lost {
            state.moved = false;
            match state.began.take() {
                Some(_) => {
                    self.open.store(false, Ordering::Release);
                    Err(self.abort_after(TransactionError::Aborted(
                        "the group expelled this member".into(),
                    )))
                }
                None => Ok(()),
            }
        } else {
            let bounds: Vec<(&str, i32, i64, i64)> = owned
                .iter()
                .map(|(t, p, o, c)| (t.as_str(), *p, *o, *c))
                .collect();
            self.commit_locked(&mut state, &bounds, group.as_ref())
        };
        match result {
            Ok(()) => {}
            Err(TransactionError::Aborted(why)) if all_revoked => {
                tracing::warn!(
                    reason = why,
                    "transaction aborted with the revoked partitions: their inputs are replayed from the committed offsets"
                );
            }
            Err(error) => {
                tracing::error!(%error, "commit before a revocation failed");
                state.failed = Some(error);
            }
        }
        for (topic, partition) in revoked {
            if let Some(m) = state.positions.get_mut(topic) {
                m.remove(partition);
            }
        }
    }
}
