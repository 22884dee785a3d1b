//! The predictor as its own process: parameters and sizes in, alerts,
//! stats and training samples out (SPEC §6), on Kafka. It reads the whole
//! models topic before its first prediction, so a (re)started replica uses
//! the latest model of each window; range assignment gives partition i of
//! cascade_properties and of models to the same replica.

use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::config::{LearnerArgs, MarkLawArgs};
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};
use tweetoscope_core::predictor::{Predictor, PredictorConfig};

/// Predicts each cascade's final size and scores it once the size is known.
#[derive(Debug, Parser)]
#[command(name = "predictor", version)]
struct Cli {
    #[command(flatten)]
    learner: LearnerArgs,
    #[command(flatten)]
    marks: MarkLawArgs,
    #[command(flatten)]
    windows: WindowArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    app::run_stage(
        [
            cli.kafka.problems(),
            cli.learner.problems(),
            cli.marks.problems(),
        ]
        .concat(),
        || {
            Predictor::new(PredictorConfig {
                marks: cli.marks.law(),
                windows: cli.windows.windows.0.clone(),
                ..cli.learner.predictor_config()
            })
        },
        &cli.kafka,
        &cli.windows.windows.0,
        &cli,
    )
}
