//! The options `status` and `reset` show under `--help` (feature
//! `kafka`): they flatten the stages' [`KafkaArgs`] to reach the same
//! brokers, topics and security settings, but the options that tune a
//! running stage (batching, commits, telemetry, topic creation) mean
//! nothing to a client that only reads and moves offsets: hidden, still
//! accepted, so that a stage's environment can be reused as it is.
//!
//! [`KafkaArgs`]: tweetoscope_core::kafka::KafkaArgs

use clap::Arg;

/// Options of a running stage that an operator client ignores.
const STAGE_ONLY: &[&str] = &[
    "group_id",
    "partitions",
    "tweets_partitions",
    "replication",
    "compression",
    "session_timeout",
    "shutdown_grace",
    "batch",
    "batch_wait",
    "commit_interval",
    "metrics_addr",
    "livez_timeout",
    "log_format",
    "log_to_kafka",
    "kafka_log_level",
    "loki_url",
    "loki_level",
    "check",
    "assign",
];

/// Hides `arg` from `--help` when only a running stage uses it.
pub fn hide_stage_only(arg: Arg) -> Arg {
    let hide = STAGE_ONLY.contains(&arg.get_id().as_str());
    arg.hide(hide)
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::reset::ResetArgs;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        reset: ResetArgs,
    }

    #[test]
    fn reset_help_shows_the_connection_and_hides_what_tunes_a_stage() {
        let help = Cli::command().render_long_help().to_string();
        for shown in [
            "--brokers",
            "--kafka-property",
            "--topic-tweets",
            "--group ",
        ] {
            assert!(help.contains(shown), "{shown} missing: {help}");
        }
        for hidden in ["--batch", "--commit-interval", "--loki-url", "--group-id"] {
            assert!(!help.contains(hidden), "{hidden} shown: {help}");
        }
        // Hidden, still accepted: a stage's environment works as it is.
        let cli = Cli::try_parse_from(["x", "--group", "g", "--to", "latest", "--batch", "7"]);
        assert_eq!(cli.map(|c| c.reset.kafka.batch).ok(), Some(7));
    }
}
