//! Metrics, health and logs of a Tweetoscope process (feature `telemetry`).
//!
//! - [`registry`]: THE Prometheus registry of the process, with the process
//!   metrics (memory, CPU, file descriptors) and the log counters.
//! - [`transport`]: the counters and histograms of a stage's transport
//!   (records in and out, dead letters, commits, lag, latency).
//! - [`flow`]: metrics read from a stage's messages in and out (fits,
//!   predictions, ARE, models) and the adapter of [`crate::stage::StageReport`].
//! - [`health`]: liveness (the loop makes progress) and readiness (broker
//!   and group), as the probes see them.
//! - [`http`]: `/metrics`, `/livez`, `/readyz`, `/health` over a small
//!   blocking HTTP/1.1 responder on its own thread.
//! - [`inprocess`]: the same metrics for the in-process pipeline.
//! - [`lag`]: a partition's lag split into unread (a backlog) and held
//!   (kept on purpose until the stage commits past it).
//! - [`logs`]: tracing to stderr, the layer forwarding records to the `logs`
//!   topic, and (feature `kafka`) the Loki layer.
//!
//! Stages stay pure: they report plain numbers through
//! [`crate::stage::Stage::observe`]; this module owns every Prometheus type.

pub mod flow;
pub mod health;
pub mod http;
pub mod inprocess;
pub mod lag;
pub mod logs;
#[cfg(feature = "kafka")]
pub mod loki;
pub mod registry;
pub mod transport;

pub use flow::StageMetrics;
pub use health::Health;
pub use lag::Lag;
pub use registry::Metrics;
pub use transport::Transport;

use std::net::SocketAddr;

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot register metric: {0}")]
    Metric(#[from] prometheus::Error),
    #[error("cannot serve metrics on {addr}: {source} (choose another --metrics-addr)")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid --loki-url {url}: {reason}")]
    Loki { url: String, reason: String },
}

/// Label names a metric may carry: bounded sets only, never a cascade id.
pub const LABELS: &[&str] = &["topic", "partition", "window", "outcome", "reason"];
