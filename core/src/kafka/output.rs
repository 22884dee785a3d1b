//! The producing side of a stage: where each output message goes, dead
//! letters, forwarded logs, and the deliveries a batch waits for.
//!
//! Every record carries an `origin-ts` header (milliseconds): the time its
//! oldest ancestor entered the pipeline, so the dashboard and the benchmark
//! measure end-to-end latency from a window's close to its alert.
//!
//! A record the broker or the client refuses for itself (too large,
//! invalid), and an output that cannot be encoded, is dead-lettered with the
//! reason, as a truncated copy when it is too large, and the stage goes on:
//! one bad record must not put a stage in a crash loop. Only errors that
//! say nothing about the record (broker unreachable past
//! `message.timeout.ms`) stop the stage, before it commits.
//!
//! Delivery reports are counted by the producer's context
//! ([`super::delivery`]), not awaited record by record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};

use super::args::KafkaArgs;
use super::context::Context;
use super::delivery::{Deliveries, Kind};
use super::partition::{Reroute, Rerouter, WindowPartitioner};
use super::transaction::{Transaction, TransactionError};
use crate::schema::{LogMsg, Message, Topic, Window};
use crate::telemetry::Transport;

#[path = "output_dead.rs"]
mod dead;

/// The header holding the origin timestamp, in milliseconds.
pub const ORIGIN_TS: &str = "origin-ts";
/// The header naming the process that produced a record (`stage-pid`):
/// shows which replica handled a window.
pub const INSTANCE: &str = "instance";
/// Largest dead-letter payload: longer ones are cut to this, with the
/// original length in a `truncated-from` header, so any broker takes them.
pub const DEAD_LETTER_MAX: usize = 64 * 1024;

/// Whether a produce error is about the record itself, so that retrying or
/// stopping cannot help: it is dead-lettered instead.
pub fn is_record_error(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageProduction(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::MessageBatchTooLarge
        )
    )
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot create the producer: {0}")]
    Client(#[source] KafkaError),
    #[error("cannot deliver to {topic}: {source}")]
    Delivery {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error(transparent)]
    Transaction(#[from] TransactionError),
}

/// Where a refused input came from, for its dead letter.
#[derive(Debug, Clone, Copy)]
pub struct Refused<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    pub reason: &'a str,
}

/// A producer that knows the topic names and the window partitioner.
pub struct Output {
    producer: Arc<ThreadedProducer<Deliveries>>,
    /// Exactly-once mode: every record goes into the open transaction.
    transaction: Option<Arc<Transaction>>,
    args: KafkaArgs,
    partitioner: WindowPartitioner,
    rerouter: Rerouter,
    partitions: HashMap<String, i32>,
    stage: &'static str,
    instance: String,
    metrics: Transport,
    /// Outputs and dead letters handed to the producer.
    sent: u64,
    /// Outputs handed to the producer since the last settle, by topic
    /// role ([`Topic::ALL`] order): counted as produced once delivered.
    unsettled: [u64; Topic::ALL.len()],
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("stage", &self.stage)
            .field("pending", &self.pending())
            .finish()
    }
}

impl Output {
    /// `partitions`: actual partition counts by topic name (from
    /// [`super::topics::ensure`]); `transactional_id`: exactly-once mode.
    pub fn new(
        args: &KafkaArgs,
        windows: &[Window],
        partitions: HashMap<String, i32>,
        stage: &'static str,
        metrics: Transport,
        transactional_id: Option<&str>,
    ) -> Result<Self, OutputError> {
        let mut config = args.producer_config();
        if let Some(id) = transactional_id {
            config.set("transactional.id", id);
            // A crash's open transaction blocks readers up to this.
            let user = args.client_config();
            let timeout = user.get("transaction.timeout.ms").unwrap_or("10000");
            config.set("transaction.timeout.ms", timeout);
            if user.get("message.timeout.ms").is_none() {
                config.set("message.timeout.ms", timeout); // must be <= it
            }
        }
        let producer = config
            .create_with_context(Deliveries::new(Context::new(stage), metrics.clone()))
            .map_err(OutputError::Client)?;
        Ok(Self {
            producer: Arc::new(producer),
            transaction: None,
            args: args.clone(),
            partitioner: WindowPartitioner::new(windows),
            rerouter: Rerouter::new(WindowPartitioner::new(windows)),
            partitions,
            stage,
            instance: format!("{stage}-{}", std::process::id()),
            metrics,
            sent: 0,
            unsettled: [0; Topic::ALL.len()],
        })
    }

    /// Starts the transactions of a transactional producer (blocking).
    pub(super) fn transactional(
        &mut self,
        id: String,
        interval: Duration,
        metrics: &crate::telemetry::Metrics,
    ) -> Result<Arc<Transaction>, OutputError> {
        let t = Arc::new(Transaction::start(
            self.producer.clone(),
            id,
            interval,
            metrics,
            self.stage,
        )?);
        self.transaction = Some(t.clone());
        Ok(t)
    }

    /// Where an input of `role` read from partition `arrived` must be
    /// produced again, when it is not its window's partition.
    pub fn reroute(&mut self, role: Topic, msg: &Message, arrived: i32) -> Option<Reroute> {
        let count = self.partition_count(self.args.topics.name(role));
        self.rerouter.check(role, msg.window()?, arrived, count)
    }

    /// Whether `msg`, to be produced again, repeats a series already
    /// produced again: see [`Rerouter::repeat`].
    pub fn repeat(&mut self, msg: &Message) -> bool {
        self.rerouter.repeat(msg)
    }

    /// Deliveries not yet awaited.
    pub fn pending(&self) -> usize {
        let done = self.producer.context().done();
        usize::try_from(self.sent.saturating_sub(done)).unwrap_or(usize::MAX)
    }

    /// Queues `msg` for its topic: window-keyed topics by the explicit
    /// window partitioner, others by key hash (or any partition).
    pub async fn send(&mut self, msg: &Message, origin_ms: i64) -> Result<(), OutputError> {
        let role = msg.topic();
        let topic = self.args.topics.name(role).to_owned();
        let partition = match (role.is_window_keyed(), msg.window()) {
            (true, Some(w)) => Some(self.partitioner.partition(w, self.partition_count(&topic))),
            _ => None,
        };
        let payload = match msg.try_encode() {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("cannot encode the {topic} output: {e}");
                let copy = format!("{msg:?}");
                return self.divert(&topic, &reason, None, copy.as_bytes()).await;
            }
        };
        let key = msg.key();
        let ts = origin_ms.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: ORIGIN_TS,
                value: Some(&ts),
            })
            .insert(Header {
                key: INSTANCE,
                value: Some(&self.instance),
            });
        let key = key.as_deref().map(str::as_bytes);
        match self
            .enqueue(&topic, partition, key, &payload, headers, Kind::Output)
            .await?
        {
            Ok(()) => {
                if let Some(i) = Topic::ALL.iter().position(|t| *t == role) {
                    self.unsettled[i] += 1;
                }
            }
            Err(error) => {
                let reason = format!("cannot produce to {topic}: {error}");
                self.divert(&topic, &reason, key, &payload).await?;
            }
        }
        Ok(())
    }

    /// Forwards a log record to the logs topic. Never fails nor blocks the
    /// stage: a record that cannot be queued or delivered is counted
    /// (`tweetoscope_log_records_total{outcome="failed"}`) and reported on
    /// stderr only; its delivery is counted by the producer's context.
    pub fn send_log(&mut self, log: &LogMsg) {
        let msg = Message::Log(log.clone());
        let topic = self.args.topics.name(Topic::Logs).to_owned();
        let (payload, key) = (msg.encode(), msg.key());
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(&topic, Kind::Log as usize).payload(&payload);
        if let Some(k) = key.as_deref() {
            record = record.key(k.as_bytes());
        }
        let began = self.transaction.as_ref().map_or(Ok(()), |t| t.begin());
        if let Err(error) = began {
            self.log_failed(&topic, &error);
        } else if let Err((error, _)) = self.producer.send(record) {
            self.log_failed(&topic, &error);
        }
    }

    fn log_failed(&self, topic: &str, error: &dyn std::fmt::Display) {
        self.metrics
            .log_records
            .with_label_values(&["failed"])
            .inc();
        tracing::warn!(target: crate::telemetry::logs::LOCAL, topic, %error, "log record not delivered to the logs topic");
    }

    fn partition_count(&self, topic: &str) -> i32 {
        self.partitions.get(topic).copied().unwrap_or(1)
    }

    /// Enqueues a record, waiting for earlier deliveries when the local
    /// queue is full instead of failing. The inner error is a refusal of
    /// this record (see [`is_record_error`]).
    async fn enqueue(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: OwnedHeaders,
        kind: Kind,
    ) -> Result<Result<(), KafkaError>, OutputError> {
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, kind as usize)
                .payload(payload)
                .headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if let Some(t) = &self.transaction {
            t.begin()?;
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(Ok(()));
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    if self.pending() > 0 {
                        Box::pin(self.settle()).await?;
                    } else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                Err((source, _)) if is_record_error(&source) => return Ok(Err(source)),
                Err((source, _)) => return Err(self.failure(topic.to_owned(), source)),
            }
        }
    }

    /// Waits until every queued record is delivered; a record refused for
    /// itself is dead-lettered (and that delivery awaited too). An error
    /// means some record is lost for good (librdkafka already retried it
    /// for message.timeout.ms): the caller must not commit the inputs.
    pub async fn settle(&mut self) -> Result<(), OutputError> {
        loop {
            self.producer.context().wait(self.sent).await;
            let failed = self.producer.context().take_failed();
            // Counted per topic once per settle, not per record: a label
            // lookup per record was a measurable part of the generator's CPU.
            let mut produced = std::mem::take(&mut self.unsettled);
            for f in &failed {
                if f.kind == Kind::Output
                    && let Some(i) = self
                        .args
                        .topics
                        .role(f.message.topic())
                        .and_then(|r| Topic::ALL.iter().position(|t| *t == r))
                {
                    produced[i] = produced[i].saturating_sub(1);
                }
            }
            self.count_produced(&produced);
            if failed.is_empty() {
                return Ok(());
            }
            for f in failed {
                let topic = f.message.topic().to_owned();
                match f.kind {
                    Kind::Output if is_record_error(&f.error) => {
                        let reason = format!("cannot deliver to {topic}: {}", f.error);
                        let payload = f.message.payload().unwrap_or_default();
                        self.divert(&topic, &reason, f.message.key(), payload)
                            .await?;
                    }
                    Kind::Output => {
                        self.metrics
                            .produce_errors
                            .with_label_values(&[&topic])
                            .inc();
                        return Err(self.failure(topic, f.error));
                    }
                    Kind::DeadLetter if is_record_error(&f.error) => {
                        tracing::error!(stage = self.stage, error = %f.error, "dead letter refused; dropped");
                    }
                    Kind::DeadLetter | Kind::Log => {
                        return Err(self.failure(topic, f.error));
                    }
                }
            }
            // The diverted records are awaited in the next round.
        }
    }

    /// A lost record's error; fenced when that is why the producer failed.
    fn failure(&self, topic: String, source: KafkaError) -> OutputError {
        match self.transaction.as_ref().and_then(|t| t.fenced()) {
            Some(fenced) => OutputError::Transaction(fenced),
            None => OutputError::Delivery { topic, source },
        }
    }

    fn count_produced(&self, produced: &[u64; Topic::ALL.len()]) {
        for (role, &n) in Topic::ALL.iter().zip(produced) {
            if n > 0 {
                self.metrics
                    .produced
                    .with_label_values(&[self.args.topics.name(*role)])
                    .inc_by(n);
            }
        }
    }

    /// Flushes librdkafka's queue (shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), OutputError> {
        self.producer
            .flush(timeout)
            .map_err(|source| OutputError::Delivery {
                topic: "(flush)".into(),
                source,
            })
    }
}
