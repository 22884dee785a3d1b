//! `tweetoscope run`: the paced demo of the whole pipeline, one thread per
//! stage, with live alerts, the live web page (the `dashboard` binary's
//! stage feeding the same [`Board`]) and the accuracy table at the end
//! (eval's [`Scorer`]).

use std::net::SocketAddr;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, FromArgMatches};
use indicatif::ProgressBar;
use tweetoscope_core::board::{Board, BoardConfig, Outcome, top::TopEntry};
use tweetoscope_core::clock;
use tweetoscope_core::config::{ReplayArgs, SourceArgs, parse_seconds};
use tweetoscope_core::dashboard::{Dashboard, Display};
use tweetoscope_core::generator::Replay;
use tweetoscope_core::pipeline::{Envelope, Sink, spawn_watched};
use tweetoscope_core::schema::{AlertMsg, ColdBasis, Message, Topic, Window};
use tweetoscope_core::stage::{Ctx, Stage};
use tweetoscope_core::web::{self, SharedBoard};

use crate::score::Scorer;
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
    #[arg(long, env = "TWEETOSCOPE_TOP", default_value_t = 10)]
    pub top: usize,
    /// Where to serve the live web page (port 0: any free port). Default:
    /// 127.0.0.1:8080, or any free port when 8080 is taken.
    #[arg(long, env = "TWEETOSCOPE_WEB_ADDR")]
    pub web_addr: Option<SocketAddr>,
    /// Do not serve the web page.
    #[arg(long, env = "TWEETOSCOPE_NO_WEB")]
    pub no_web: bool,
    /// Serve the stages' metrics (/metrics, /livez, /readyz) here, e.g.
    /// 127.0.0.1:9100. Default: no metrics server.
    #[arg(long, env = "TWEETOSCOPE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
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

fn alert_line(
    cid: &str,
    t_obs: Window,
    n_obs: Option<u64>,
    n_tot: f64,
    w: Option<f64>,
    cold: Option<ColdBasis>,
) -> String {
    let basis = match cold {
        None => format!("(w = {:.2})", w.unwrap_or(1.0)),
        Some(ColdBasis::NearCritical) => "(near-critical, no model yet: first generation)".into(),
        Some(ColdBasis::FirstGeneration) => "(cold start: first generation)".into(),
        Some(ColdBasis::CarriedOver) => format!(
            "(cold start: carried-over model, w = {:.2})",
            w.unwrap_or(1.0)
        ),
        Some(ColdBasis::Hawkes | ColdBasis::Other) => "(cold start: w = 1)".into(),
    };
    format!(
        "cascade {:>6}  window {:>5} s  seen {:>5}  predicted {:>8.0}  {basis}",
        cid,
        t_obs,
        n_obs.unwrap_or(0),
        n_tot,
    )
}

fn top_line(e: &TopEntry) -> String {
    alert_line(&e.cid, e.window, e.n_obs, e.n_tot, e.w, e.cold_start)
}

fn new_alert_line(a: &AlertMsg) -> String {
    alert_line(&a.cid, a.t_obs, a.n_obs, a.n_tot, a.w, a.cold_start)
}

/// The board of the run: its top list is the one printed at the end, so
/// nothing expires from it.
fn board(top: usize) -> SharedBoard {
    Arc::new(Mutex::new(Board::new(BoardConfig {
        top_k: top,
        top_ttl: None,
        sample_every: 1.0,
        ..BoardConfig::default()
    })))
}

fn with<T>(board: &SharedBoard, f: impl FnOnce(&mut Board) -> T) -> T {
    f(&mut web::lock(board))
}

/// The page's socket: the address asked for, or else the default, or else
/// (the default taken, say by a `dashboard`) any free local port.
fn listen(asked: Option<SocketAddr>) -> anyhow::Result<std::net::TcpListener> {
    let fix = |e: web::WebError| anyhow::anyhow!("{e}, or disable it with --no-web");
    match asked {
        Some(addr) => web::bind(addr).map_err(fix),
        None => web::bind(DEFAULT_WEB_ADDR.into())
            .or_else(|_| web::bind(([127, 0, 0, 1], 0).into()))
            .map_err(fix),
    }
}

const DEFAULT_WEB_ADDR: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);

/// What `run` shows besides the page: the alerts that enter the top list,
/// above the progress bar, and how many predictions so far.
struct Progress {
    bar: ProgressBar,
    predicted: u64,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("predicted", &self.predicted)
            .finish()
    }
}

impl Display for Progress {
    fn alert(&mut self, a: &AlertMsg, outcome: Outcome) {
        self.predicted += 1;
        if outcome == Outcome::Top {
            self.bar.println(new_alert_line(a));
        }
        self.bar
            .set_message(format!("{} predictions", self.predicted));
    }
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
    let bar = crate::progress::bar(span);

    anyhow::ensure!(args.top > 0, "--top 0 shows nothing: give at least 1");
    let board = board(args.top);
    if !args.no_web {
        let addr = web::serve(listen(args.web_addr)?, board.clone())?;
        println!("Live page: http://{addr}/");
    }

    let watchers = crate::metrics::watchers(args.metrics_addr)?;
    let (pipeline, output) = spawn_watched(args.stages.build(), &watchers);
    let windows = args.stages.collector.config().windows;
    let mut scorer = Scorer::new(set.clone(), &windows);
    let progress = Progress {
        bar: bar.clone(),
        predicted: 0,
    };
    let mut dashboard = Dashboard::new(board.clone(), progress, None);
    let ui = std::thread::spawn(move || {
        let mut none = Vec::new();
        let mut offset = 0;
        loop {
            let msg = match output.recv_timeout(Duration::from_millis(250)) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    dashboard.tick(clock::now_secs(), &mut none);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let now = clock::now_secs();
            // The source knows every cascade's full length: score against
            // it, as eval does, not against the collector's size (cut by
            // the termination delay).
            scorer.see(0, &msg);
            let topic = msg.topic();
            match topic {
                Topic::Alerts | Topic::Stats => {
                    dashboard.heard(topic, "predictor (in process)", now);
                    offset += 1;
                    // The board takes every alert and stat the predictor
                    // makes: a refusal would only be the wrong topic.
                    let _ = dashboard.handle(msg, Ctx::in_process(now, offset), &mut none);
                }
                Topic::CascadeSeries => dashboard.heard(topic, "collector (in process)", now),
                _ => {}
            }
            dashboard.tick(now, &mut none);
        }
        scorer.report
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
        bar.set_position(crate::progress::position(emitted.at, span));
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
    let report = ui
        .join()
        .map_err(|_| anyhow::anyhow!("the display thread panicked"))?;
    bar.finish_and_clear();

    println!("\nMost popular predicted cascades:");
    for e in with(&board, |b| b.top().to_vec()) {
        println!("  {}", top_line(&e));
    }
    println!(
        "\nAccuracy per observation window (ARE = |predicted - final| / final, final = the cascade's full length in the source):"
    );
    print!("{}", report.table());
    let est = stages.estimator.stats();
    let col = stages.collector.stats();
    println!(
        "\n{} series fitted, {} failed, {} near-critical (n* >= {}: {} of them before their \
         window's first model, predicted by their first generation, n_obs + G1); done in {:.1} s",
        est.fitted,
        est.failed,
        est.near_critical,
        tweetoscope_core::hawkes::NEAR_CRITICAL,
        stages.predictor.stats().near_critical,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} of {} tweets ({:.1} %) cut as late: they came more than --termination ({:.0} s) after \
         the previous tweet of their cascade, which had ended; the learner learns the sizes \
         without them.",
        col.late_tweets,
        col.tweets,
        100.0 * col.late_tweets as f64 / (col.tweets.max(1)) as f64,
        args.stages.collector.termination,
    );
    Ok(())
}
