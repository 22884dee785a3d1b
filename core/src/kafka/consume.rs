//! The Kafka transport of [`crate::run_loop`]: a `StreamConsumer` read in
//! batches, the [`Output`] producer, dead letters and commits.
//!
//! A batch is up to `--batch` records or `--batch-wait`, closed early when
//! the input pauses ([`IDLE`]): under light load a record does not wait
//! for `--batch-wait`. When a batch closes the loop asks for a commit: the
//! batch's outputs are delivered first, so a committed input never loses
//! its outputs (at least once; consumers dedupe, SPEC §6).
//!
//! A stop (SIGTERM/SIGINT) starts the shutdown grace: the flush, the last
//! deliveries, the producer's flush and the synchronous commit all share
//! one deadline, so a dead broker cannot hold the process past it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::IntCounter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message as _};

use super::args::KafkaArgs;
use super::commit::Committed;
use super::context::Context;
use super::error::DriverError;
use super::output::{Output, Refused};
use super::record;
use super::setup::StageTelemetry;
use super::shutdown;
use crate::clock::{now_ms, now_secs};
use crate::run_loop::{Bound, Cause, Event, Input, Refusal, Transport};
use crate::schema::{Decoder, Message, Topic};
use crate::stage::{Ctx, Origin};
use crate::telemetry::logs::LogReceiver;

#[path = "consume_reroute.rs"]
mod reroute;
#[path = "consume_transaction.rs"]
mod transaction;
pub(super) use transaction::Exactly;

/// A pause in the input this long closes the batch.
const IDLE: Duration = Duration::from_millis(2);

/// The consumer side and the producer side of one stage process.
pub(super) struct Kafka<'c> {
    pub(super) consumer: &'c Arc<StreamConsumer<Context>>,
    pub(super) args: &'c KafkaArgs,
    pub(super) tel: &'c StageTelemetry,
    pub(super) output: Output,
    pub(super) logs: Option<LogReceiver>,
    pub(super) decoder: Decoder,
    pub(super) stage: &'static str,
    signal: Pin<Box<dyn Future<Output = ()> + 'c>>,
    batch: Batch,
    /// Received while a rebalance was pending: handled after the revoke.
    stashed: Option<BorrowedMessage<'c>>,
    /// The input being handled: its dead letter needs its bytes.
    current: Option<BorrowedMessage<'c>>,
    origin_ms: i64,
    /// Where the current input's `instance` header is among its headers.
    instance_at: Option<usize>,
    /// `consumed_total` per input role, looked up once (a label lookup per
    /// record was a few % of the collector's CPU).
    consumed: [Option<IntCounter>; Topic::ALL.len()],
    committed: Committed,
    /// Exactly-once mode: the transaction and the replay suppression.
    exactly: Option<Exactly>,
    /// When the last commit settled the deliveries.
    last_settled: Instant,
    /// Set by a stop: the end of the shutdown grace.
    deadline: Option<Instant>,
}

/// The batch being read.
#[derive(Debug, Default)]
struct Batch {
    /// `None` between batches.
    until: Option<tokio::time::Instant>,
    read: usize,
    /// When its first record arrived.
    started: Option<Instant>,
}

impl<'c> Kafka<'c> {
    pub(super) fn new(
        consumer: &'c Arc<StreamConsumer<Context>>,
        args: &'c KafkaArgs,
        tel: &'c StageTelemetry,
        output: Output,
        logs: Option<LogReceiver>,
        decoder: Decoder,
        stage: &'static str,
    ) -> Self {
        Self {
            consumer,
            args,
            tel,
            output,
            logs,
            decoder,
            stage,
            signal: Box::pin(shutdown::signal()),
            batch: Batch::default(),
            stashed: None,
            current: None,
            origin_ms: 0,
            instance_at: None,
            consumed: Default::default(),
            committed: Committed::default(),
            exactly: None,
            last_settled: Instant::now(),
            deadline: None,
        }
    }

    /// Partitions a rebalance took since the last look, by input topic.
    fn revoked(&mut self) -> Vec<(Topic, Vec<i32>)> {
        let mut by_topic: Vec<(Topic, Vec<i32>)> = Vec::new();
        for (name, partition) in self.consumer.context().take_revoked() {
            let Some(role) = self.args.topics.role(&name) else {
                continue;
            };
            match by_topic.iter_mut().find(|(t, _)| *t == role) {
                Some((_, parts)) => parts.push(partition),
                None => by_topic.push((role, vec![partition])),
            }
        }
        for (topic, parts) in &by_topic {
            self.committed.revoke(*topic, parts);
            self.forget_replay(*topic, parts);
        }
        by_topic
    }

    fn close_batch(&mut self) -> Event<'static> {
        self.batch.until = None;
        self.batch.read = 0;
        self.current = None;
        Event::Idle
    }

    fn stop(&mut self) -> Event<'static> {
        let grace = Duration::from_secs_f64(self.args.shutdown_grace);
        self.deadline = Some(Instant::now() + grace);
        self.current = None;
        self.tel.health.stopping();
        tracing::info!(
            stage = self.stage,
            grace_s = self.args.shutdown_grace,
            "stopping"
        );
        Event::Stop
    }

    /// `fut`, bounded by the shutdown grace once a stop began.
    async fn graced<T>(
        deadline: Option<Instant>,
        grace: f64,
        fut: impl Future<Output = Result<T, DriverError>>,
    ) -> Result<T, DriverError> {
        match deadline {
            None => fut.await,
            Some(d) => tokio::time::timeout_at(d.into(), fut)
                .await
                .map_err(|_| DriverError::Grace(Duration::from_secs_f64(grace)))?,
        }
    }

    fn forward_logs(&mut self) {
        if let Some(rx) = self.logs.as_mut() {
            while let Ok(log) = rx.try_recv() {
                self.output.send_log(&log);
            }
        }
    }

    /// Turns a record into what the loop handles, or produces it again
    /// to its window's partition (`Passed`); `None`: not an input topic.
    /// An input's producer instance is read by [`Self::event`].
    async fn arrived(
        &mut self,
        m: BorrowedMessage<'c>,
    ) -> Result<Option<Event<'static>>, DriverError> {
        let topic_name = m.topic();
        let Some(role) = self.args.topics.role(topic_name) else {
            self.tel
                .transport
                .consumed
                .with_label_values(&[topic_name])
                .inc();
            return Ok(None);
        };
        let transport = &self.tel.transport;
        self.consumed[role as usize]
            .get_or_insert_with(|| transport.consumed.with_label_values(&[topic_name]))
            .inc();
        let ctx = Ctx {
            now: now_secs(),
            origin: Origin {
                partition: m.partition(),
                offset: m.offset(),
            },
        };
        let origin = ctx.origin;
        self.replayed(topic_name, origin)?;
        let read = record::read_headers(&m);
        self.origin_ms = read
            .origin_ms
            .or_else(|| m.timestamp().to_millis())
            .unwrap_or_else(now_ms);
        self.instance_at = read.instance_at;
        let decoded = self
            .decoder
            .decode(role, m.key(), m.payload().unwrap_or_default());
        if let Ok(msg) = &decoded
            && let Some(reroute) = self.output.reroute(role, msg, origin.partition)
        {
            // Not ours to handle: the owner of the window's partition will.
            if !self.replaying() {
                self.pass_on(msg, reroute, topic_name, origin).await?;
            }
            self.current = Some(m);
            return Ok(Some(Event::Passed {
                topic: role,
                ctx,
                instance: None,
            }));
        }
        let msg = decoded.map_err(record::refusal);
        self.current = Some(m);
        Ok(Some(Event::Input(Input {
            topic: role,
            ctx,
            instance: None,
            msg,
        })))
    }

    /// `arrived` with the record's producer instance, borrowed from the
    /// record it keeps.
    fn event(&self, arrived: Event<'static>) -> Event<'_> {
        let instance = self
            .current
            .as_ref()
            .and_then(|m| record::instance(m, self.instance_at?));
        match arrived {
            Event::Input(input) => Event::Input(Input { instance, ..input }),
            Event::Passed { topic, ctx, .. } => Event::Passed {
                topic,
                ctx,
                instance,
            },
            other => other,
        }
    }
}

impl<'c> Transport for Kafka<'c> {
    type Error = DriverError;

    async fn next(&mut self) -> Result<Event<'_>, DriverError> {
        loop {
            self.transaction_failed()?;
            // A rebalance runs inside recv: the loop drops the state of
            // what it took before handling the next record (which belongs
            // to the new assignment, possibly the same partition again,
            // replayed from its commit).
            let revoked = self.revoked();
            if !revoked.is_empty() {
                return Ok(Event::Revoked(revoked));
            }
            if let Some(m) = self.stashed.take() {
                self.batch.started.get_or_insert_with(Instant::now);
                self.batch.read += 1;
                if let Some(arrived) = self.arrived(m).await? {
                    return Ok(self.event(arrived));
                }
                continue;
            }
            let until = *self.batch.until.get_or_insert_with(|| {
                tokio::time::Instant::now() + Duration::from_secs_f64(self.args.batch_wait)
            });
            if self.batch.read >= self.args.batch {
                return Ok(self.close_batch());
            }
            let consumer: &'c StreamConsumer<Context> = self.consumer;
            tokio::select! {
                biased;
                () = &mut self.signal => return Ok(self.stop()),
                received = consumer.recv() => match received {
                    Ok(m) => self.stashed = Some(m),
                    Err(error) => {
                        // Unknown topics while they are being created, broker
                        // restarts: librdkafka recovers by itself.
                        tracing::warn!(stage = self.stage, %error, "consumer error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                () = tokio::time::sleep_until(until) => return Ok(self.close_batch()),
                () = tokio::time::sleep(IDLE), if self.batch.read > 0 => return Ok(self.close_batch()),
            }
        }
    }

    async fn send(&mut self, out: &mut Vec<Message>, cause: Cause) -> Result<(), DriverError> {
        if self.suppress(out, cause) {
            return Ok(());
        }
        let (deadline, grace) = (self.deadline, self.args.shutdown_grace);
        let (output, transport, args) = (&mut self.output, &self.tel.transport, self.args);
        let origin_ms = self.origin_ms;
        Self::graced(deadline, grace, async {
            let now = now_ms();
            for msg in out.drain(..) {
                let origin = match cause {
                    Cause::Input => {
                        transport.record_latency(args.topics.name(msg.topic()), origin_ms, now);
                        origin_ms
                    }
                    Cause::Timer => now_ms(),
                };
                output.send(&msg, origin).await?;
            }
            Ok(())
        })
        .await
    }

    async fn dead_letter(&mut self, why: &Refusal) -> Result<(), DriverError> {
        let Some(m) = self.current.as_ref().filter(|_| !self.replaying()) else {
            return Ok(());
        };
        self.tel
            .transport
            .dead_letters
            .with_label_values(&[m.topic(), why.kind.label()])
            .inc();
        let refused = Refused {
            topic: m.topic(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key(),
            payload: m.payload().unwrap_or_default(),
            reason: &why.reason,
        };
        Ok(self.output.dead_letter(refused).await?)
    }

    async fn commit(&mut self, bounds: &[Bound], last: bool) -> Result<(), DriverError> {
        self.forward_logs();
        if let Some(started) = self.batch.started.take() {
            self.tel
                .transport
                .batch_duration
                .observe(started.elapsed().as_secs_f64());
        }
        if self.exactly.is_some() {
            return self.commit_transaction(bounds, last).await;
        }
        // A commit needs every output sent so far delivered (at least
        // once). When some are still in flight, waiting for them here would
        // stall the input for the producer's linger and the broker's
        // answer at every batch: the stage reads on and commits at a later
        // batch that finds them delivered, or waits once
        // `--commit-interval` has passed. Delivery reports come back in any
        // order across partitions, so only "none in flight" proves that
        // the outputs of every input up to `bounds` were delivered.
        if !last
            && self.output.pending() > 0
            && self.last_settled.elapsed().as_secs_f64() < self.args.commit_interval
        {
            return Ok(());
        }
        let (deadline, grace) = (self.deadline, self.args.shutdown_grace);
        let (output, committed) = (&mut self.output, &mut self.committed);
        let (consumer, args, transport) = (self.consumer, self.args, &self.tel.transport);
        Self::graced(deadline, grace, async {
            output.settle().await?;
            if let Some(d) = deadline {
                output.flush(d.saturating_duration_since(Instant::now()))?;
            }
            committed
                .commit(consumer, args, bounds, last, transport)
                .await
        })
        .await?;
        self.last_settled = Instant::now();
        if last {
            self.consumer.unsubscribe();
            tracing::info!(stage = self.stage, "stopped");
        }
        Ok(())
    }

    fn now(&self) -> f64 {
        now_secs()
    }
}
