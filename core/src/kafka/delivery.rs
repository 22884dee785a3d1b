//! Delivery reports counted, not awaited one by one: the producer's context
//! counts every report and keeps only the failures (with a copy of their
//! record), and [`Deliveries::wait`] waits until the count reaches what was
//! sent.
//!
//! Why not one future per record (rdkafka's `FutureProducer`): its
//! oneshot channel per record (allocated when sending, completed on the
//! producer's thread, awaited and freed on the stage's) was a fifth of the
//! generator's CPU (perf, 2026-12-04), and every stage awaits its whole
//! batch anyway before it commits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message as _, OwnedMessage};
use rdkafka::producer::ProducerContext;
use rdkafka::statistics::Statistics;

use super::context::Context;
use crate::telemetry::Transport;

/// What a record is, given to the producer with it and handed back in its
/// delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A stage output: counted, awaited.
    Output = 0,
    /// A dead letter: counted, awaited.
    DeadLetter = 1,
    /// A forwarded log record: never awaited; only its outcome is counted
    /// (`tweetoscope_log_records_total`).
    Log = 2,
}

impl Kind {
    fn of(opaque: usize) -> Kind {
        match opaque {
            0 => Kind::Output,
            1 => Kind::DeadLetter,
            _ => Kind::Log,
        }
    }
}

/// A record the producer could not deliver.
#[derive(Debug)]
pub(super) struct Failed {
    pub kind: Kind,
    pub error: KafkaError,
    pub message: OwnedMessage,
}

/// The producer's context: the stage's [`Context`] for client events, and
/// the delivery counts.
pub(super) struct Deliveries {
    inner: Context,
    metrics: Transport,
    /// Reports of outputs and dead letters so far.
    done: AtomicU64,
    /// The count a waiter waits for (`u64::MAX`: nobody waits).
    target: AtomicU64,
    wake: tokio::sync::Notify,
    failed: Mutex<Vec<Failed>>,
}

impl Deliveries {
    pub(super) fn new(inner: Context, metrics: Transport) -> Self {
        Self {
            inner,
            metrics,
            done: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            wake: tokio::sync::Notify::new(),
            failed: Mutex::new(Vec::new()),
        }
    }

    /// Reports of outputs and dead letters so far.
    pub(super) fn done(&self) -> u64 {
        self.done.load(Ordering::Acquire)
    }

    /// Waits until `sent` outputs and dead letters have been reported.
    pub(super) async fn wait(&self, sent: u64) {
        while self.done() < sent {
            let woken = self.wake.notified();
            self.target.store(sent, Ordering::Release);
            // A report between the check above and `notified` would be
            // missed: check again once registered.
            if self.done() >= sent {
                break;
            }
            woken.await;
        }
        self.target.store(u64::MAX, Ordering::Release);
    }

    /// The failures reported since the last call, in report order.
    pub(super) fn take_failed(&self) -> Vec<Failed> {
        match self.failed.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            // Only Vec::push runs under this lock: the data is still valid.
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    fn log_outcome(&self, result: &DeliveryResult<'_>) {
        match result {
            Ok(_) => self.metrics.log_records.with_label_values(&["sent"]).inc(),
            Err((error, m)) => {
                self.metrics
                    .log_records
                    .with_label_values(&["failed"])
                    .inc();
                tracing::warn!(target: crate::telemetry::logs::LOCAL, topic = m.topic(), %error, "log record not delivered to the logs topic");
            }
        }
    }
}

impl ClientContext for Deliveries {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        self.inner.log(level, fac, message);
    }

    fn stats(&self, statistics: Statistics) {
        self.inner.stats(statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.inner.error(error, reason);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let kind = Kind::of(opaque);
        if kind == Kind::Log {
            self.log_outcome(result);
            return;
        }
        if let Err((error, m)) = result {
            let failed = Failed {
                kind,
                error: error.clone(),
                message: m.detach(),
            };
            match self.failed.lock() {
                Ok(mut v) => v.push(failed),
                Err(poisoned) => poisoned.into_inner().push(failed),
            }
        }
        let done = self.done.fetch_add(1, Ordering::AcqRel) + 1;
        if done >= self.target.load(Ordering::Acquire) {
            self.wake.notify_one();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::time::Duration;

    use rdkafka::ClientConfig;
    use rdkafka::config::FromClientConfigAndContext;
    use rdkafka::producer::{BaseRecord, Producer as _, ThreadedProducer};

    use super::*;
    use crate::telemetry::Metrics;

    /// No broker listens: every record fails after `message.timeout.ms`,
    /// and each failure comes back once, with its record and kind.
    #[tokio::test]
    async fn every_report_is_counted_and_failures_keep_their_record() {
        let metrics = Metrics::new().unwrap();
        let transport = Transport::new(&metrics, "test").unwrap();
        let context = Deliveries::new(Context::new("test"), transport);
        let producer: ThreadedProducer<Deliveries> = ThreadedProducer::from_config_and_context(
            ClientConfig::new()
                .set("bootstrap.servers", "127.0.0.1:1")
                .set("message.timeout.ms", "300"),
            context,
        )
        .unwrap();
        let sends = [
            (Kind::Output, "a"),
            (Kind::Log, "log"),
            (Kind::DeadLetter, "b"),
            (Kind::Output, "c"),
        ];
        for (kind, payload) in sends {
            let r: BaseRecord<'_, [u8], str, usize> =
                BaseRecord::with_opaque_to("t", kind as usize).payload(payload);
            producer.send(r).map_err(|(e, _)| e).unwrap();
        }
        let waited = tokio::time::timeout(Duration::from_secs(20), producer.context().wait(3));
        assert!(waited.await.is_ok(), "three reports expected");
        assert_eq!(
            producer.context().done(),
            3,
            "the log record is not counted"
        );
        let failed = producer.context().take_failed();
        let got: Vec<(Kind, &[u8])> = failed
            .iter()
            .map(|f| (f.kind, f.message.payload().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::Output, &b"a"[..]),
                (Kind::DeadLetter, &b"b"[..]),
                (Kind::Output, &b"c"[..])
            ]
        );
        assert!(producer.context().take_failed().is_empty());
    }
}
