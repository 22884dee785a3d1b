//! The generator as its own process: replays a NEWS-format data set, or a
//! synthetic one, as tweet sources onto the tweets topic (keyed by source),
//! with watermarks and end markers, paced by --speed or as fast as possible.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Parser;
use tweetoscope_core::config::{ReplayArgs, SourceArgs};
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::kafka::driver::{Setup, start_output};
use tweetoscope_core::kafka::{KafkaArgs, app, source};
use tweetoscope_core::schema::Topic;

/// Sends tweets, watermarks and end markers of several sources.
#[derive(Debug, Parser)]
#[command(name = "generator", version)]
struct Cli {
    #[command(flatten)]
    source: SourceArgs,
    /// Time acceleration: source seconds per wall-clock second (course:
    /// 1000). Default: as fast as possible.
    #[arg(long, env = "TWEETOSCOPE_SPEED")]
    speed: Option<f64>,
    #[command(flatten)]
    replay: ReplayArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

impl Cli {
    fn problems(&self) -> Vec<String> {
        let mut p = [self.kafka.problems(), self.replay.problems()].concat();
        if self.speed.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
            p.push("--speed must be a positive number".into());
        }
        p.extend(self.source.problems());
        p
    }

    fn load(&self) -> anyhow::Result<Arc<Dataset>> {
        let set = self
            .source
            .load(self.replay.seed)
            .context("cannot read the data set")?;
        anyhow::ensure!(!set.is_empty(), "the data set has no cascade");
        Ok(set)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = app::check(cli.problems())
        .map_err(|e| anyhow!(e))
        .and_then(|()| {
            let set = cli.load()?;
            let replay = Replay::new(set.clone(), cli.replay.config());
            let (kafka, speed) = (&cli.kafka, cli.speed);
            let report =
                app::with_runtime("generator", kafka, &cli, async move |telemetry, logs| {
                    let health = telemetry.health.clone();
                    let setup = Setup {
                        args: kafka,
                        windows: &[],
                        outputs: &[Topic::Tweets],
                        preload: &[],
                        telemetry,
                        logs,
                    };
                    let mut output = start_output("generator", &setup, &[]).await?;
                    source::run(replay, speed, &mut output, &health).await
                })?;
            tracing::info!(
                cascades = set.len(),
                tweets = report.tweets,
                messages = report.messages,
                seconds = report.seconds,
                tweets_per_s = report.tweets as f64 / report.seconds.max(1e-9),
                interrupted = report.interrupted,
                "replay done"
            );
            Ok(())
        });
    app::exit(result)
}
