//! The estimator as its own process: partial cascades in, fitted Hawkes
//! parameters out (SPEC §5), on Kafka. Replicas share the cascade_series
//! partitions (whole windows each) through the consumer group.

use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::config::HawkesArgs;
use tweetoscope_core::estimator::Estimator;
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};

/// Fits the marked Hawkes process to each partial cascade.
#[derive(Debug, Parser)]
#[command(name = "estimator", version)]
struct Cli {
    #[command(flatten)]
    hawkes: HawkesArgs,
    #[command(flatten)]
    windows: WindowArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    app::run_stage(
        [cli.kafka.problems(), cli.hawkes.problems()].concat(),
        || Estimator::new(cli.hawkes.config()),
        &cli.kafka,
        &cli.windows.windows.0,
        &cli,
    )
}
