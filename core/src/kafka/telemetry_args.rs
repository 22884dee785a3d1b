//! The telemetry options of a stage process (metrics address, liveness,
//! logs to stderr, to the logs topic and to Loki), a group of its own
//! flattened into [`super::KafkaArgs`] where they always were: `--help`
//! lists them in the same place.

use clap::Args;

use crate::config::parse_seconds;
use crate::telemetry::logs::LogFormat;

/// Metrics, probes and logs.
#[derive(Debug, Clone, Args)]
pub struct TelemetryArgs {
    /// Where /metrics, /livez, /readyz and /health are served (port 0: any
    /// free port, logged).
    #[arg(long, env = "TWEETOSCOPE_METRICS_ADDR", default_value = "127.0.0.1:0")]
    pub metrics_addr: std::net::SocketAddr,
    /// /livez fails when the run loop made no progress for this long.
    #[arg(long, env = "TWEETOSCOPE_LIVEZ_TIMEOUT", value_parser = parse_seconds, default_value = "60")]
    pub livez_timeout: f64,
    /// Log lines on stderr: human text or one JSON object per line.
    #[arg(long, env = "TWEETOSCOPE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Forward log records at --kafka-log-level and above to the logs topic.
    #[arg(long, env = "TWEETOSCOPE_LOG_TO_KAFKA", default_value_t = true, action = clap::ArgAction::Set)]
    pub log_to_kafka: bool,
    /// Lowest level forwarded to the logs topic (error, warn, info, debug, trace).
    #[arg(long, env = "TWEETOSCOPE_KAFKA_LOG_LEVEL", default_value = "info")]
    pub kafka_log_level: tracing::Level,
    /// Also push log records to this Loki (e.g. http://loki:3100).
    #[arg(long, env = "TWEETOSCOPE_LOKI_URL")]
    pub loki_url: Option<String>,
    /// Lowest level pushed to Loki.
    #[arg(long, env = "TWEETOSCOPE_LOKI_LEVEL", default_value = "info")]
    pub loki_level: tracing::Level,
}

impl TelemetryArgs {
    /// Every problem with these options.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.livez_timeout >= 1.0 && self.livez_timeout <= 3600.0) {
            p.push("--livez-timeout must be within [1 s, 1 h]".into());
        }
        if let Some(url) = &self.loki_url
            && let Err(e) = crate::telemetry::loki::check_url(url)
        {
            p.push(e.to_string());
        }
        p
    }
}
