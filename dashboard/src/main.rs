//! The dashboard as its own process: prints alerts as they come and, per
//! window, the running accuracy of the predictions scored so far.

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;

use clap::Parser;
use tweetoscope_core::kafka::{KafkaArgs, WindowArgs, app};
use tweetoscope_core::schema::{Message, Topic, Window};
use tweetoscope_core::stage::{Ctx, Stage, StageError};

/// Shows alerts and the running ARE of each window.
#[derive(Debug, Parser)]
#[command(name = "dashboard", version)]
struct Cli {
    /// Print a summary line every this many stats.
    #[arg(long, env = "TWEETOSCOPE_SUMMARY_EVERY", default_value_t = 100)]
    summary_every: u64,
    #[command(flatten)]
    windows: WindowArgs,
    #[command(flatten)]
    kafka: KafkaArgs,
}

/// Running sums per window, deduplicated by (cid, T_obs): at-least-once
/// delivery replays some stats.
#[derive(Debug, Default)]
struct Dashboard {
    every: u64,
    seen: HashSet<(String, Window)>,
    are: BTreeMap<Window, (u64, f64)>,
    stats: u64,
}

impl Stage for Dashboard {
    fn name(&self) -> &'static str {
        "dashboard"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Alerts, Topic::Stats]
    }

    fn handle(
        &mut self,
        msg: Message,
        _ctx: Ctx,
        _out: &mut Vec<Message>,
    ) -> Result<(), StageError> {
        match msg {
            Message::Alert(a) => println!(
                "alert  cascade {:>8}  window {:>5} s  seen {:>5}  predicted {:>8.0}",
                a.cid,
                a.t_obs,
                a.n_obs.unwrap_or(0),
                a.n_tot
            ),
            Message::Stat(s) => {
                if !self.seen.insert((s.cid.clone(), s.t_obs)) {
                    return Ok(());
                }
                let e = self.are.entry(s.t_obs).or_default();
                e.0 += 1;
                e.1 += s.are;
                self.stats += 1;
                if self.every > 0 && self.stats.is_multiple_of(self.every) {
                    let parts: Vec<String> = self
                        .are
                        .iter()
                        .map(|(w, (n, sum))| {
                            format!("{w} s: {n} scored, mean ARE {:.3}", sum / *n as f64)
                        })
                        .collect();
                    println!("stats  {}", parts.join(" | "));
                }
            }
            other => {
                return Err(StageError::UnexpectedTopic {
                    stage: "dashboard",
                    topic: other.topic(),
                });
            }
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stage = || Dashboard {
        every: cli.summary_every,
        ..Dashboard::default()
    };
    app::run_stage(
        cli.kafka.problems(),
        stage,
        &cli.kafka,
        &cli.windows.windows.0,
        &[],
        &[],
        &cli,
    )
}
