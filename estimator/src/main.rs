//! The estimator as its own process: partial cascades in, fitted Hawkes
//! parameters out (SPEC §5), on Kafka. Replicas share the cascade_series
//! partitions (whole windows each) through the consumer group.

use std::process::ExitCode;

use anyhow::anyhow;
use clap::Parser;
use tweetoscope_core::config::HawkesArgs;
use tweetoscope_core::estimator::Estimator;
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};
use tweetoscope_core::schema::Topic;

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
    let problems = [cli.kafka.problems(), cli.hawkes.problems()].concat();
    let result = app::check(problems).map_err(|e| anyhow!(e)).and_then(|()| {
        let stage = Estimator::new(cli.hawkes.config());
        app::serve(
            stage,
            &cli.kafka,
            &cli.windows.windows.0,
            &[Topic::CascadeProperties],
            &[],
            &cli,
        )?;
        Ok(())
    });
    app::exit(result)
}
