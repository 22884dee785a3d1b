//! The collector as its own process: tweets in, partial cascades and final
//! sizes out (SPEC §4), on Kafka. Replicas share the tweets partitions
//! through the consumer group; each commits no further than the first
//! tweet of its oldest open cascade, so a restart rebuilds them by replay.

use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::collector::Collector;
use tweetoscope_core::config::CollectorArgs;
use tweetoscope_core::kafka::{KafkaArgs, app};

/// Turns each source's tweets into partial cascades (one per observation
/// window) and final sizes.
#[derive(Debug, Parser)]
#[command(name = "collector", version)]
struct Cli {
    #[command(flatten)]
    collector: CollectorArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    app::run_stage(
        cli.kafka.problems(),
        || Collector::new(cli.collector.config()),
        &cli.kafka,
        &cli.collector.windows.0,
        &cli,
    )
}
