//! `tweetoscope run`: the paced demo of the whole pipeline, one thread per
//! stage, with live alerts, the live web page (the `dashboard` binary's,
//! from the same [`Board`]) and the accuracy table at the end.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, FromArgMatches};
use tweetoscope_core::board::{Board, BoardConfig, Outcome, top::TopEntry};
use tweetoscope_core::config::{ReplayArgs, SourceArgs, parse_seconds};
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::hawkes;
use tweetoscope_core::pipeline::{Envelope, spawn_observed};
use tweetoscope_core::schema::{
    AlertMsg, ColdBasis, Message, ParametersMsg, PropertiesMsg, Topic, Window,
};
use tweetoscope_core::web::{self, SharedBoard};

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

/// Records an alert's errors against the true size of its cascade (cid =
/// row of the data set).
fn score(report: &mut Report, a: &AlertMsg, p: &ParametersMsg, set: &Dataset) {
    let Some(truth) = a
        .cid
        .parse::<usize>()
        .ok()
        .filter(|&i| i < set.len())
        .map(|i| set.size(i) as f64)
    else {
        return;
    };
    let n_hawkes = hawkes::final_size(p.n_obs as f64, p.g1, p.n_star, 1.0);
    let are = |n: f64| (n - truth).abs() / truth.max(1.0);
    let covered = a
        .n_tot_low
        .zip(a.n_tot_high)
        .map(|(lo, hi)| (lo..=hi).contains(&truth));
    let warm = a.w.is_some_and(|w| w != 1.0) || a.n_tot_median.is_some();
    report.record(a.t_obs, are(a.n_tot), are(n_hawkes), warm, covered);
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

    let observers = crate::metrics::observers(args.metrics_addr)?;
    let (pipeline, output) = spawn_observed(args.stages.build(), &observers);
    let ui_bar = bar.clone();
    let truth_set = set.clone();
    let ui_board = board.clone();
    let ui = std::thread::spawn(move || {
        let board = ui_board;
        let mut report = Report::default();
        let mut fits: HashMap<(String, Window), ParametersMsg> = HashMap::new();
        let mut scored: std::collections::HashSet<(String, Window)> = Default::default();
        let mut predicted = 0u64;
        loop {
            let msg = match output.recv_timeout(Duration::from_millis(250)) {
                Ok(msg) => msg,
                Err(RecvTimeoutError::Timeout) => {
                    with(&board, |b| b.tick(web::now_secs()));
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let now = web::now_secs();
            match msg {
                Message::Properties(PropertiesMsg::Parameters(p)) => {
                    if let Some(w) = p.t_obs {
                        fits.insert((p.cid.clone(), w), p);
                    }
                }
                Message::Alert(a) => {
                    with(&board, |b| {
                        b.heard("predictor (in process)", Topic::Alerts, now)
                    });
                    let key = (a.cid.clone(), a.t_obs);
                    if !scored.insert(key.clone()) {
                        continue; // a redelivered prediction
                    }
                    predicted += 1;
                    if with(&board, |b| b.alert(&a, now)) == Outcome::Top {
                        ui_bar.println(new_alert_line(&a));
                    }
                    ui_bar.set_message(format!("{predicted} predictions"));
                    // The source knows every cascade's full length: score
                    // against it, as eval does, not against the collector's
                    // size (cut by the termination delay).
                    if let Some(p) = fits.remove(&key) {
                        score(&mut report, &a, &p, &truth_set);
                    }
                }
                Message::Series(s) => {
                    with(&board, |b| {
                        b.heard("collector (in process)", Topic::CascadeSeries, now)
                    });
                    report.series(&s.cid, s.t_obs);
                }
                Message::Stat(s) => {
                    with(&board, |b| {
                        b.heard("predictor (in process)", Topic::Stats, now);
                        b.stat(&s, now);
                    });
                }
                _ => {}
            }
            with(&board, |b| b.tick(now));
        }
        report
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
        tweetoscope_core::estimator::NEAR_CRITICAL,
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
