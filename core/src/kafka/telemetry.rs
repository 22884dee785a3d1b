//! Logs, metrics and the health endpoint of a stage process.
//!
//! - tracing to stderr, as text or JSON, filtered by `RUST_LOG`; WARN and
//!   ERROR events are also forwarded to the `logs` topic (SPEC §1) through
//!   a bounded channel, dropped rather than blocking when it is full.
//! - Prometheus counters `tweetoscope_<stage>_<noun>_total{topic}`.
//! - `/metrics` and `/health` over a hand-written HTTP/1.1 responder: two GET
//!   routes do not justify a web framework and its dependency tree.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use prometheus::{Encoder, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::args::LogFormat;
use crate::schema::LogMsg;

/// The counters every driver keeps, labelled by broker topic name.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub messages: IntCounterVec,
    pub dead_letters: IntCounterVec,
    pub rerouted: IntCounterVec,
    pub produced: IntCounterVec,
    pub commits: IntCounter,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot register metric: {0}")]
    Metric(#[from] prometheus::Error),
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl Metrics {
    pub fn new(stage: &str) -> Result<Self, TelemetryError> {
        let registry = Registry::new();
        let vec = |noun: &str, help: &str| -> Result<IntCounterVec, TelemetryError> {
            let c = IntCounterVec::new(
                Opts::new(format!("tweetoscope_{stage}_{noun}_total"), help),
                &["topic"],
            )?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let messages = vec("messages", "Input messages received")?;
        let dead_letters = vec("dead_letters", "Input messages refused and dead-lettered")?;
        let rerouted = vec(
            "rerouted",
            "Inputs found on another partition than their window's, produced again to it",
        )?;
        let produced = vec("produced", "Output messages delivered")?;
        let commits = IntCounter::new(
            format!("tweetoscope_{stage}_commits_total"),
            "Offset commits requested",
        )?;
        registry.register(Box::new(commits.clone()))?;
        Ok(Self {
            registry,
            messages,
            dead_letters,
            rerouted,
            produced,
            commits,
        })
    }

    fn render(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        // Encoding into a Vec fails only on invalid metric families, which
        // the registry rejected at registration.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        buf
    }
}

/// Serves `/metrics` and `/health` on `addr` until the process ends;
/// returns the bound address (useful with port 0).
pub async fn serve(addr: SocketAddr, metrics: Metrics) -> Result<SocketAddr, TelemetryError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TelemetryError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| TelemetryError::Bind { addr, source })?;
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    sock.read(&mut buf),
                )
                .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let (status, ctype, body) = match path {
                    "/metrics" => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
                    "/health" | "/healthz" => ("200 OK", "text/plain", b"ok\n".to_vec()),
                    _ => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            });
        }
    });
    Ok(bound)
}

/// Where forwarded log records go; the driver drains it to the logs topic.
pub type LogReceiver = mpsc::Receiver<LogMsg>;

/// Starts tracing; returns the receiver of the WARN+ records to forward.
/// Call once per process.
pub fn init(stage: &'static str, format: LogFormat) -> LogReceiver {
    let (tx, rx) = mpsc::channel(1024);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let forward = Forward {
        stage,
        tx: Mutex::new(Some(tx)),
    }
    .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    let registry = tracing_subscriber::registry().with(forward);
    let result = match format {
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

/// A layer turning events into [`LogMsg`]s on a bounded channel.
struct Forward {
    stage: &'static str,
    tx: Mutex<Option<mpsc::Sender<LogMsg>>>,
}

impl<S: tracing::Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        // Client events would loop: a failing producer logs, which produces.
        if event.metadata().target().contains("kafka::context") {
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
            level: event.metadata().level().to_string(),
            message: visitor.message,
            fields: visitor.fields,
        };
        if let Ok(guard) = self.tx.lock()
            && let Some(tx) = guard.as_ref()
        {
            // Full or closed: the record is dropped, never blocks the stage.
            let _ = tx.try_send(msg);
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
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

/// The shared handles of a running stage process.
#[derive(Debug, Clone)]
pub struct Telemetry {
    pub metrics: Metrics,
    pub logs: Arc<Mutex<Option<LogReceiver>>>,
}
