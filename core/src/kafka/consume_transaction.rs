//! The exactly-once side of the Kafka transport: each input read is
//! recorded for the transaction, replayed inputs produce nothing, and a
//! batch's close commits the transaction (see [`crate::kafka::transaction`]).

use std::sync::Arc;
use std::time::Instant;

use rdkafka::consumer::Consumer;

use super::Kafka;
use crate::kafka::DriverError;
use crate::kafka::transaction::Transaction;
use crate::kafka::transaction_replay::Replay;
use crate::run_loop::{Bound, Cause};
use crate::schema::{Message, Topic};
use crate::stage::Origin;

/// The transaction of an exactly-once stage and its replay suppression.
#[derive(Debug)]
pub(in crate::kafka) struct Exactly {
    pub(in crate::kafka) transaction: Arc<Transaction>,
    pub(in crate::kafka) replay: Replay,
    /// The current input replays one whose outputs were committed.
    pub(in crate::kafka) replaying: bool,
}

impl<'c> Kafka<'c> {
    /// Switches this transport to exactly-once delivery.
    pub(in crate::kafka) fn exactly_once(&mut self, exactly: Exactly) {
        self.exactly = Some(exactly);
    }

    /// Records the input at `origin` of `topic` as read, and whether it
    /// replays one whose outputs were committed.
    pub(super) fn replayed(&mut self, topic: &str, origin: Origin) -> Result<(), DriverError> {
        let Some(e) = self.exactly.as_mut() else {
            return Ok(());
        };
        e.transaction.read(topic, origin.partition, origin.offset);
        let (partition, offset) = (origin.partition, origin.offset);
        e.replaying = e
            .replay
            .replaying(self.consumer, topic, partition, offset)?;
        Ok(())
    }

    /// Whether the current input replays one whose outputs were committed.
    pub(super) fn replaying(&self) -> bool {
        self.exactly.as_ref().is_some_and(|e| e.replaying)
    }

    /// Revoked partitions: their next assignment looks their commit up.
    pub(super) fn forget_replay(&mut self, topic: Topic, partitions: &[i32]) {
        if let Some(e) = self.exactly.as_mut() {
            e.replay.forget(self.args.topics.name(topic), partitions);
        }
    }

    /// Drops the outputs of a replayed input (true), counted.
    pub(super) fn suppress(&mut self, out: &mut Vec<Message>, cause: Cause) -> bool {
        let Some(e) = self.exactly.as_ref() else {
            return false;
        };
        if !e.replaying || cause != Cause::Input {
            return false;
        }
        e.replay.suppressed(out.len());
        out.clear();
        true
    }

    /// A commit made inside a rebalance callback failed: the loop stops.
    pub(super) fn transaction_failed(&self) -> Result<(), DriverError> {
        match self
            .exactly
            .as_ref()
            .and_then(|e| e.transaction.take_failed())
        {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }

    /// Commits the transaction once `--transaction-interval` has passed
    /// (at once when `last`): every output delivered, then the input
    /// offsets with their consumed positions, then the commit.
    pub(super) async fn commit_transaction(
        &mut self,
        bounds: &[Bound],
        last: bool,
    ) -> Result<(), DriverError> {
        let Some(t) = self.exactly.as_ref().map(|e| e.transaction.clone()) else {
            return Ok(());
        };
        if !last && !t.due() {
            return Ok(());
        }
        let named: Vec<(&str, i32, i64, i64)> = bounds
            .iter()
            .map(|b| {
                let topic = self.args.topics.name(b.topic);
                (topic, b.partition, b.offset, b.consumed)
            })
            .collect();
        let (deadline, grace) = (self.deadline, self.args.shutdown_grace);
        let (output, consumer) = (&mut self.output, self.consumer);
        Self::graced(deadline, grace, async {
            if let Err(error) = output.settle().await {
                return Err(t.abort(&error.to_string()).into());
            }
            let group = consumer.group_metadata();
            tokio::task::block_in_place(|| t.commit(&named, group.as_ref()))?;
            Ok(())
        })
        .await?;
        self.tel.transport.commits.inc();
        self.last_settled = Instant::now();
        if last {
            self.consumer.unsubscribe();
            tracing::info!(stage = self.stage, "stopped");
        }
        Ok(())
    }
}
