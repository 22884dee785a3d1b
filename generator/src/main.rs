//! The generator as its own process: replays a NEWS-format data set, or a
//! synthetic one, as tweet sources onto the tweets topic (keyed by source),
//! with watermarks and end markers, paced by --speed or as fast as possible.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Parser;
use tweetoscope_core::config::ReplayArgs;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::kafka::driver::{Setup, start_output};
use tweetoscope_core::kafka::{KafkaArgs, app, source};
use tweetoscope_core::schema::Topic;
use tweetoscope_core::synthetic::{self, SyntheticConfig};

/// Sends tweets, watermarks and end markers of several sources.
#[derive(Debug, Parser)]
#[command(name = "generator", version)]
struct Cli {
    /// NEWS-format data file (time,magnitude rows); needs --index.
    #[arg(long, env = "TWEETOSCOPE_DATA", requires = "index")]
    data: Option<PathBuf>,
    /// NEWS-format index file (start_ind,end_ind rows); needs --data.
    #[arg(long, env = "TWEETOSCOPE_INDEX", requires = "data")]
    index: Option<PathBuf>,
    /// Synthetic cascades, when no --data is given (seeded by --seed).
    #[arg(long, env = "TWEETOSCOPE_CASCADES", default_value_t = 3000)]
    cascades: usize,
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
        if self.data.is_none() && self.cascades == 0 {
            p.push("--cascades must be >= 1 without --data".into());
        }
        p
    }

    fn load(&self) -> anyhow::Result<Arc<Dataset>> {
        let set = match (&self.data, &self.index) {
            (Some(data), Some(index)) => Dataset::load(data, index).with_context(|| {
                format!(
                    "cannot read the data set {} / {}",
                    data.display(),
                    index.display()
                )
            })?,
            _ => synthetic::generate(&SyntheticConfig {
                cascades: self.cascades,
                seed: self.replay.seed,
                ..SyntheticConfig::default()
            }),
        };
        anyhow::ensure!(!set.is_empty(), "the data set has no cascade");
        Ok(Arc::new(set))
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
                app::with_runtime("generator", kafka, &cli, async move |metrics, logs| {
                    let setup = Setup {
                        args: kafka,
                        windows: &[],
                        outputs: &[Topic::Tweets],
                        preload: &[],
                        metrics,
                        logs: Some(logs),
                    };
                    let mut output = start_output("generator", &setup, &[]).await?;
                    source::run(replay, speed, &mut output).await
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
