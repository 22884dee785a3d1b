//! `tweetoscope run`: the paced demo of the whole pipeline, one thread per
//! stage, with live alerts and the accuracy table at the end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, FromArgMatches};
use indicatif::{ProgressBar, ProgressStyle};
use tweetoscope_core::config::{ReplayArgs, SourceArgs, parse_seconds};
use tweetoscope_core::generator::Replay;
use tweetoscope_core::pipeline::{Envelope, spawn_observed};
use tweetoscope_core::schema::{AlertMsg, Message, Window};

use crate::report::Report;
use crate::stages::StageArgs;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub stages: StageArgs,
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Time acceleration: source seconds per wall-clock second (course: 1000).
    /// Default: whatever fits the replay into --duration.
    #[arg(long, env = "TWEETOSCOPE_SPEED")]
    pub speed: Option<f64>,
    /// Wall-clock length of the run when --speed is not given.
    #[arg(long, env = "TWEETOSCOPE_DURATION", value_parser = parse_seconds, default_value = "60")]
    pub duration: f64,
    /// How many of the most popular predicted cascades to show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Serve the stages' metrics (/metrics, /livez, /readyz) here, e.g.
    /// 127.0.0.1:9100. Default: no metrics server.
    #[arg(long, env = "TWEETOSCOPE_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl RunArgs {
    /// `run` with every option at its default (or its environment variable).
    pub fn default_args() -> Self {
        let cmd = Self::augment_args(clap::Command::new("run"));
        let matches = cmd.get_matches_from(["run"]);
        // Parsing no argument cannot fail: every option has a default. Env
        // values that fail to parse make clap exit with its own message.
        match Self::from_arg_matches(&matches) {
            Ok(args) => args,
            Err(e) => e.exit(),
        }
    }
}

/// The best predictions so far, one entry per cascade.
#[derive(Debug, Default)]
struct Top {
    n: usize,
    best: Vec<AlertMsg>,
}

impl Top {
    /// Keeps `a` if it is among the `n` largest predictions; says so.
    fn offer(&mut self, a: &AlertMsg) -> bool {
        if let Some(i) = self.best.iter().position(|b| b.cid == a.cid) {
            if self.best[i].n_tot >= a.n_tot {
                return false;
            }
            self.best.remove(i);
        }
        if self.best.len() >= self.n && self.best.last().is_some_and(|last| last.n_tot >= a.n_tot) {
            return false;
        }
        self.best.push(a.clone());
        self.best.sort_by(|x, y| y.n_tot.total_cmp(&x.n_tot));
        self.best.truncate(self.n);
        true
    }
}

fn alert_line(a: &AlertMsg) -> String {
    format!(
        "cascade {:>6}  window {:>5} s  seen {:>5}  predicted {:>8.0}  (w = {:.2})",
        a.cid,
        a.t_obs,
        a.n_obs.unwrap_or(0),
        a.n_tot,
        a.w.unwrap_or(1.0)
    )
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    args.stages.check(&args.replay)?;
    let set = args
        .source
        .load(args.replay.seed)
        .context("cannot read the data set")?;
    anyhow::ensure!(!set.is_empty(), "the data set has no cascade");
    let replay_cfg = args.replay.config();
    let span = Replay::new(set.clone(), replay_cfg.clone())
        .last()
        .map_or(0.0, |e| e.at);
    let speed = match args.speed {
        Some(s) if s > 0.0 && s.is_finite() => s,
        Some(s) => anyhow::bail!("--speed {s} must be a positive number"),
        None => (span / args.duration.max(1.0)).max(1.0),
    };
    let replay = Replay::new(set.clone(), replay_cfg);
    println!(
        "Replaying {} cascades ({} tweets, {:.1} days of source time) at x{speed:.0}: about {:.0} s",
        set.len(),
        replay.total_tweets(),
        span / 86_400.0,
        span / speed
    );
    let bar = ProgressBar::new(replay.total_tweets() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tweets, {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let observers = crate::metrics::observers(args.metrics_addr)?;
    let (pipeline, output) = spawn_observed(args.stages.build(), &observers);
    let ui_bar = bar.clone();
    let top_n = args.top;
    let ui = std::thread::spawn(move || {
        let mut report = Report::default();
        let mut top = Top {
            n: top_n,
            best: Vec::new(),
        };
        let mut used_model: HashMap<(String, Window), bool> = HashMap::new();
        let mut predicted = 0u64;
        for msg in output {
            match msg {
                Message::Alert(a) => {
                    if used_model.contains_key(&(a.cid.clone(), a.t_obs)) {
                        continue; // a redelivered prediction
                    }
                    predicted += 1;
                    used_model.insert((a.cid.clone(), a.t_obs), a.w.is_some_and(|w| w != 1.0));
                    if top.offer(&a) {
                        ui_bar.println(alert_line(&a));
                    }
                    ui_bar.set_message(format!("{predicted} predictions"));
                }
                Message::Series(s) => report.series(&s.cid, s.t_obs),
                Message::Stat(s) => {
                    let warm = used_model
                        .remove(&(s.cid.clone(), s.t_obs))
                        .unwrap_or(false);
                    report.record(s.t_obs, s.are, s.are_hawkes.unwrap_or(s.are), warm);
                }
                _ => {}
            }
        }
        (report, top)
    });

    let started = Instant::now();
    let input = pipeline.input.clone();
    for emitted in replay {
        let due = Duration::from_secs_f64(emitted.at / speed);
        if let Some(wait) = due
            .checked_sub(started.elapsed())
            .filter(|w| *w > Duration::from_millis(2))
        {
            std::thread::sleep(wait);
        }
        if matches!(
            emitted.msg,
            tweetoscope_core::schema::TweetMsg::Tweet(_)
                | tweetoscope_core::schema::TweetMsg::Retweet(_)
        ) {
            bar.inc(1);
        }
        input
            .send(Envelope::Msg(Message::Tweet(emitted.msg), emitted.at))
            .context("the collector stopped")?;
    }
    input
        .send(Envelope::Done)
        .context("the collector stopped")?;
    drop(input);
    let stages = pipeline
        .join()
        .map_err(|_| anyhow::anyhow!("a stage thread panicked"))?;
    let (report, top) = ui
        .join()
        .map_err(|_| anyhow::anyhow!("the display thread panicked"))?;
    bar.finish_and_clear();

    println!("\nMost popular predicted cascades:");
    for a in &top.best {
        println!("  {}", alert_line(a));
    }
    println!(
        "\nAccuracy per observation window (ARE = |predicted - final| / final, final size as the collector saw it):"
    );
    print!("{}", report.table());
    let est = stages.estimator.stats();
    println!(
        "\n{} series fitted, {} failed, {} near-critical (n* >= {}); {} late tweets dropped; done in {:.1} s",
        est.fitted,
        est.failed,
        est.near_critical,
        tweetoscope_core::estimator::NEAR_CRITICAL,
        stages.collector.stats().late_tweets,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
