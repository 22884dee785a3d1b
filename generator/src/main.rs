//! The generator as its own process: replays a NEWS-format data set, or a
//! synthetic one, as tweet sources onto the tweets topic (keyed by source),
//! with watermarks and end markers, paced by --speed or as fast as possible.
//! `--format course-2021` feeds a 2021 course collector instead: `tweet_id`
//! in every tweet, no watermark or end record.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Parser, ValueEnum};
use tweetoscope_core::config::{ReplayArgs, SourceArgs, parse_seconds};
use tweetoscope_core::data::Cascades;
use tweetoscope_core::generator::{Replay, ReplayConfig, TweetFormat};
use tweetoscope_core::kafka::args::Property;
use tweetoscope_core::kafka::driver::start_output;
use tweetoscope_core::kafka::source::SourceReport;
use tweetoscope_core::kafka::{DriverError, Setup};
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
    /// Send a watermark only when its source then stays quiet at least this
    /// long in wall time (seconds or a duration); 0: every watermark.
    /// Replayed fast, most watermarks are followed at once by a tweet that
    /// closes the same windows.
    #[arg(long, env = "TWEETOSCOPE_WATERMARK_QUIET", value_parser = parse_seconds, default_value = "10ms")]
    watermark_quiet: f64,
    #[command(flatten)]
    replay: ReplayArgs,
    /// Record shape: ours (SPEC §2, with watermarks and end records) or
    /// what a 2021 course collector reads.
    #[arg(long, env = "TWEETOSCOPE_FORMAT", value_enum, default_value_t = Format::Ours)]
    format: Format,
    /// Same as --format course-2021.
    #[arg(long, env = "TWEETOSCOPE_COURSE", conflicts_with = "format")]
    course: bool,
    #[command(flatten)]
    kafka: KafkaArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Ours,
    #[value(name = "course-2021")]
    Course2021,
}

impl Cli {
    fn replay_config(&self) -> ReplayConfig {
        let format = match (self.course, self.format) {
            (true, _) | (_, Format::Course2021) => TweetFormat::Course2021,
            (false, Format::Ours) => TweetFormat::Ours,
        };
        ReplayConfig {
            format,
            ..self.replay.config()
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut p = [self.kafka.problems(), self.replay.problems()].concat();
        if self.speed.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
            p.push("--speed must be a positive number".into());
        }
        if !(0.0..=60.0).contains(&self.watermark_quiet) {
            p.push("--watermark-quiet must be within [0, 60 s]".into());
        }
        p.extend(self.source.problems());
        p
    }

    /// The data set: a data file is checked now and its cascades read as
    /// they start; a synthetic set is made in memory.
    fn open(&self) -> anyhow::Result<Arc<dyn Cascades>> {
        let set = self
            .source
            .open(self.replay.seed)
            .context("cannot read the data set")?;
        anyhow::ensure!(!set.is_empty(), "the data set has no cascade");
        Ok(set)
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // An idempotent producer: a retry after a lost acknowledgement does not
    // write a tweet twice (checked on Tansu; `-X enable.idempotence=false`
    // turns it off for a broker without it).
    cli.kafka.properties.insert(
        0,
        Property {
            key: "enable.idempotence".into(),
            value: "true".into(),
        },
    );
    let result = app::check(cli.problems())
        .map_err(|e| anyhow!(e))
        .and_then(|()| {
            let set = cli.open()?;
            let mut replay = Replay::new(set.clone(), cli.replay_config());
            let kafka = &cli.kafka;
            let pacing = source::Pacing {
                speed: cli.speed,
                watermark_quiet: Duration::from_secs_f64(cli.watermark_quiet),
            };
            let (report, stopped) =
                app::with_runtime("generator", kafka, &cli, async move |telemetry, logs| {
                    let health = telemetry.health.clone();
                    let setup = Setup {
                        args: kafka,
                        windows: &[],
                        telemetry,
                        logs,
                    };
                    let mut output = match start_output("generator", &setup, &[Topic::Tweets]).await
                    {
                        Err(DriverError::Stopped) => return Ok((SourceReport::default(), None)),
                        started => started?,
                    };
                    let report = source::run(&mut replay, pacing, &mut output, &health).await?;
                    Ok((report, replay.error().map(ToString::to_string)))
                })?;
            if let Some(e) = stopped {
                anyhow::bail!("the replay stopped after {} tweets: {e}", report.tweets);
            }
            tracing::info!(
                cascades = set.len(),
                tweets = report.tweets,
                messages = report.messages,
                watermarks_skipped = report.watermarks_skipped,
                seconds = report.seconds,
                tweets_per_s = report.tweets as f64 / report.seconds.max(1e-9),
                interrupted = report.interrupted,
                "replay done"
            );
            Ok(())
        });
    app::exit(result)
}
