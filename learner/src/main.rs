//! The learner as its own process: training samples in, one random forest
//! per window out on the compacted models topic (SPEC §6), on Kafka.

use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::config::LearnerArgs;
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};
use tweetoscope_core::learner::{Learner, LearnerConfig};

/// Trains the learned correction of each window and publishes it.
#[derive(Debug, Parser)]
#[command(name = "learner", version = tweetoscope_core::version!())]
struct Cli {
    #[command(flatten)]
    learner: LearnerArgs,
    /// Publish models for windows whose samples come from a course
    /// predictor (X without feature names). A course predictor reads the
    /// models topic with pickle.loads and crashes on our JSON models, so
    /// they are withheld unless only Rust predictors read that topic.
    #[arg(long, env = "TWEETOSCOPE_PUBLISH_TO_COURSE_PREDICTORS")]
    publish_to_course_predictors: bool,
    #[command(flatten)]
    windows: WindowArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn main() -> ExitCode {
    let (cli, effective) = tweetoscope_core::config::parse::<Cli>();
    app::run_stage(
        [cli.kafka.problems(), cli.learner.problems()].concat(),
        || {
            Learner::new(LearnerConfig {
                publish_to_course_predictors: cli.publish_to_course_predictors,
                ..cli.learner.learner_config()
            })
        },
        &cli.kafka,
        &cli.windows.windows.0,
        &effective,
    )
}
