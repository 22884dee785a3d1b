//! The telemetry options of a stage process (metrics address, liveness,
//! logs to stderr, to the logs topic and to Loki), a group of its own
//! flattened into [`super::KafkaArgs`] where they always were: `--help`
//! lists them in the same place.

use clap::Args;

use crate::config::{parse_seconds, redact};
use crate::telemetry::logs::LogFormat;

/// Metrics, probes and logs.
#[derive(Clone, Args)]
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

/// Redacted: the Loki URL's `user:password@` never reaches a Debug dump.
impl std::fmt::Debug for TelemetryArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryArgs")
            .field("metrics_addr", &self.metrics_addr)
            .field("livez_timeout", &self.livez_timeout)
            .field("log_format", &self.log_format)
            .field("log_to_kafka", &self.log_to_kafka)
            .field("kafka_log_level", &self.kafka_log_level)
            .field("loki_url", &self.loki_url.as_deref().map(redact::url))
            .field("loki_level", &self.loki_level)
            .finish()
    }
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

#[cfg(test)]
mod tests {
    use crate::config::parse_from;

    use crate::kafka::args::TestCli as Cli;

    /// The group is flattened: the effective configuration lists its
    /// options as it lists the others, and redacts the Loki URL's password
    /// there and in a Debug dump.
    #[test]
    fn the_effective_configuration_covers_the_group_with_secrets_redacted() {
        let (cli, effective) = parse_from::<Cli, _, _>([
            "x",
            "--loki-url",
            "http://user:pl4nted@loki:3100",
            "-X",
            "sasl.password=pl4nted",
        ])
        .unwrap();
        let line = effective.to_string();
        for key in [
            "metrics-addr=",
            "livez-timeout=",
            "log-format=",
            "log-to-kafka=",
            "kafka-log-level=",
            "loki-url=http://user:***@loki:3100",
            "loki-level=",
            "kafka-property=sasl.password=***",
        ] {
            assert!(line.contains(key), "{key} missing: {line}");
        }
        assert!(!line.contains("pl4nted"), "{line}");
        let dump = format!("{cli:?}");
        assert!(dump.contains("user:***@loki"), "{dump}");
        assert!(!dump.contains("pl4nted"), "{dump}");
    }
}
