//! The learner as its own process: training samples in, one random forest
//! per window out on the compacted models topic (SPEC §6), on Kafka.

use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::config::LearnerArgs;
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};
use tweetoscope_core::learner::Learner;

/// Trains the learned correction of each window and publishes it.
#[derive(Debug, Parser)]
#[command(name = "learner", version)]
struct Cli {
    #[command(flatten)]
    learner: LearnerArgs,
    #[command(flatten)]
    windows: WindowArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    app::run_stage(
        [cli.kafka.problems(), cli.learner.problems()].concat(),
        || Learner::new(cli.learner.learner_config()),
        &cli.kafka,
        &cli.windows.windows.0,
        &cli,
    )
}
