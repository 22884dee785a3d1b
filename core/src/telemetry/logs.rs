//! Where log records go: stderr (text or JSON, filtered by `RUST_LOG`), the
//! `logs` topic (SPEC §1 format, at `--kafka-log-level`, unless
//! `--log-to-kafka false`), and Loki (`--loki-url`, feature `kafka`).
//!
//! Records bound for the `logs` topic cross a bounded channel drained by the
//! run loop: a full channel drops the record (counted), it never blocks the
//! stage. The client's own records (librdkafka, the HTTP client of Loki) and
//! the warnings about a failing `logs` topic are never forwarded: they
//! would feed back on themselves.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use clap::ValueEnum;
use prometheus::IntCounterVec;
use tracing::Level;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::Metrics;
use crate::schema::LogMsg;

/// The target of records that stay local (stderr, Loki), never on `logs`.
pub const LOCAL: &str = "tweetoscope::local";

/// Records waiting for the run loop; more are dropped.
const QUEUE: usize = 4096;

/// Log output format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where forwarded records wait for the run loop.
pub type LogReceiver = Receiver<LogMsg>;

/// How a process logs.
#[derive(Debug, Clone)]
pub struct LogSetup {
    pub stage: &'static str,
    pub format: LogFormat,
    /// Threshold of the records sent to the `logs` topic; `None`: none.
    pub kafka_level: Option<Level>,
}

/// Starts tracing for the process; returns the receiver of the records to
/// forward to the `logs` topic (`None` when forwarding is off). `extra`: a
/// further layer (Loki). Call once per process.
pub fn init<L>(setup: &LogSetup, metrics: &Metrics, extra: Option<L>) -> Option<LogReceiver>
where
    L: Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    let (forward, rx) = match setup.kafka_level {
        Some(level) => {
            let (layer, rx) = Forward::new(setup.stage, level, metrics.log_records.clone());
            (Some(layer), Some(rx))
        }
        None => (None, None),
    };
    // The dashboard's one-record-per-alert (target `alert`, for Loki and the
    // logs topic) stays off stderr by default: it would scroll the terminal
    // view. `RUST_LOG=info,alert=info` shows it.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,alert=warn"));
    let registry = tracing_subscriber::registry().with(extra).with(forward);
    let result = match setup.format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init(),
    };
    if result.is_err() {
        eprintln!("tracing was already initialised; keeping the first subscriber");
    }
    rx
}

/// Whether a record of `target` may leave the process at all: not the
/// clients' own records, nor ours about failing log destinations.
pub fn shippable(target: &str) -> bool {
    const NEVER: &[&str] = &[
        LOCAL,
        "tweetoscope_core::kafka::context",
        "rdkafka",
        "tracing_loki",
        "reqwest",
        "hyper",
        "h2",
        "rustls",
    ];
    !NEVER.iter().any(|p| target.starts_with(p))
}

/// A layer turning events at or above a level into [`LogMsg`]s on a
/// bounded channel.
#[derive(Debug)]
pub struct Forward {
    stage: &'static str,
    level: Level,
    tx: SyncSender<LogMsg>,
    counts: IntCounterVec,
}

impl Forward {
    pub fn new(stage: &'static str, level: Level, counts: IntCounterVec) -> (Self, LogReceiver) {
        let (tx, rx) = sync_channel(QUEUE);
        (
            Self {
                stage,
                level,
                tx,
                counts,
            },
            rx,
        )
    }
}

/// No `enabled`: an unfiltered layer's `enabled` would filter the records
/// of every layer (stderr, Loki), not just of this one.
impl<S: tracing::Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        // Level: ERROR < WARN < INFO...; a record passes at or above the threshold.
        if *meta.level() > self.level || !shippable(meta.target()) {
            return;
        }
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let msg = LogMsg {
            t,
            source: self.stage.to_owned(),
            level: meta.level().to_string(),
            message: visitor.message,
            fields: visitor.fields,
        };
        match self.tx.try_send(msg) {
            Ok(()) => {}
            // Full (the loop is behind) or closed (the loop ended): dropped,
            // never blocking the stage.
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counts.with_label_values(&["dropped"]).inc();
            }
        }
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: BTreeMap<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, serde_json::Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        if field.name() == "message" {
            self.message = match value {
                serde_json::Value::String(s) => s,
                v => v.to_string(),
            };
        } else {
            // `source`, `t`, `level` are the record's own keys: renamed.
            LogMsg::insert_field(&mut self.fields, field.name(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    fn capture(level: Level, f: impl FnOnce()) -> (Vec<LogMsg>, Metrics) {
        let metrics = Metrics::new().unwrap();
        let (layer, rx) = Forward::new("collector", level, metrics.log_records.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        (rx.try_iter().collect(), metrics)
    }

    #[test]
    fn records_below_the_kafka_level_are_not_forwarded() {
        let (got, _) = capture(Level::INFO, || {
            tracing::debug!("too verbose");
            tracing::info!(window = 600u64, "series sent");
            tracing::warn!("slow");
        });
        let levels: Vec<&str> = got.iter().map(|m| m.level.as_str()).collect();
        assert_eq!(levels, ["INFO", "WARN"]);
        let (got, _) = capture(Level::WARN, || tracing::info!("not at warn"));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_forwarded_record_has_the_spec_fields_and_its_structured_fields() {
        let (got, _) = capture(Level::INFO, || {
            tracing::info!(window = 600u64, ok = true, reason = "x", "series sent")
        });
        let [m] = got.as_slice() else {
            panic!("{got:?}")
        };
        assert_eq!(
            (m.source.as_str(), m.level.as_str(), m.message.as_str()),
            ("collector", "INFO", "series sent")
        );
        assert_eq!(m.fields["window"], 600);
        assert_eq!(m.fields["ok"], true);
        assert_eq!(m.fields["reason"], "x");
        assert!(m.t > 1.6e9);
    }

    #[test]
    fn a_field_named_like_a_key_of_the_record_is_renamed_so_the_logger_reads_it() {
        let (got, _) = capture(Level::INFO, || {
            // As the collector's "source state dropped" and "source idle".
            tracing::info!(source = 7u64, partition = 0, "source state dropped");
            tracing::info!(t = 1.5, level = "x", "other own keys");
        });
        let decoder = crate::schema::Decoder::new(crate::hawkes::MarkLaw::COURSE);
        for m in &got {
            let bytes = crate::schema::Message::Log(m.clone()).encode();
            let read = decoder.decode(crate::schema::Topic::Logs, None, &bytes);
            assert!(
                read.is_ok(),
                "{}: {read:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        assert_eq!(
            (got[0].source.as_str(), &got[0].fields["field_source"]),
            ("collector", &serde_json::Value::from(7))
        );
        assert_eq!(got[1].fields["field_t"], 1.5);
        assert_eq!(got[1].fields["field_level"], "x");
    }

    #[test]
    fn client_records_and_local_only_records_never_reach_the_topic() {
        let (got, _) = capture(Level::INFO, || {
            tracing::error!(target: "tweetoscope_core::kafka::context", "librdkafka");
            tracing::error!(target: "tweetoscope::local", "logs topic failing");
            tracing::error!(target: "hyper::client", "connection reset");
        });
        assert!(got.is_empty(), "{got:?}");
    }

    /// Counts the events it sees.
    struct Counter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: tracing::Subscriber> Layer<S> for Counter {
        fn on_event(&self, _: &tracing::Event<'_>, _: LayerContext<'_, S>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn records_kept_off_the_topic_still_reach_the_other_layers() {
        let metrics = Metrics::new().unwrap();
        let (forward, rx) = Forward::new("collector", Level::WARN, metrics.log_records.clone());
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(forward)
            .with(Counter(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "tweetoscope_core::kafka::context", "partitions assigned");
            tracing::info!("below the kafka level");
        });
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 2);
        assert_eq!(rx.try_iter().count(), 0);
    }

    #[test]
    fn a_full_queue_drops_records_and_counts_them() {
        let (got, metrics) = capture(Level::INFO, || {
            for i in 0..QUEUE + 10 {
                tracing::info!(i, "flood");
            }
        });
        assert_eq!(got.len(), QUEUE);
        assert_eq!(
            metrics.log_records.with_label_values(&["dropped"]).get(),
            10
        );
    }

    #[test]
    fn with_log_to_kafka_false_nothing_is_forwarded() {
        let metrics = Metrics::new().unwrap();
        let setup = LogSetup {
            stage: "collector",
            format: LogFormat::Text,
            kafka_level: None,
        };
        // No receiver: the run loop has nothing to drain, and no layer
        // collects records for the topic.
        assert!(init::<Forward>(&setup, &metrics, None).is_none());
    }
}
