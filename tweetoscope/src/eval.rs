//! `tweetoscope eval`: the production pipeline, unpaced and deterministic.
//!
//! The learner trains online in stream order exactly as in production; the
//! synchronous driver makes the output a pure function of the input, the
//! options and the seed, so two runs give byte-identical files.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tweetoscope_core::config::ReplayArgs;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::hawkes;
use tweetoscope_core::pipeline::SyncPipeline;
use tweetoscope_core::schema::{AlertMsg, Message, ParametersMsg, PropertiesMsg, Window};
use tweetoscope_core::stage::{Ctx, Stage};

use crate::report::Report;
use crate::stages::StageArgs;

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// NEWS-format data file.
    #[arg(long, env = "TWEETOSCOPE_DATA")]
    pub data: PathBuf,
    /// NEWS-format index file.
    #[arg(long, env = "TWEETOSCOPE_INDEX")]
    pub index: PathBuf,
    /// Where to write one JSON line per (cascade, window) prediction.
    #[arg(long, default_value = "predictions.jsonl")]
    pub out: PathBuf,
    #[command(flatten)]
    pub stages: StageArgs,
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Threads running the windows' estimator, predictor and learner, next
    /// to the collector's; 0: the whole pipeline on one thread. The output
    /// is the same for every value.
    #[arg(long, default_value_t = default_workers())]
    pub workers: usize,
}

/// One worker per core beside the collector's thread, at least one.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// One prediction, as written to `--out`.
#[derive(Debug, Serialize)]
struct Line<'a> {
    cid: &'a str,
    #[serde(rename = "T_obs")]
    t_obs: Window,
    n_obs: u64,
    /// The alert's n_tot (`--point`: ARE-optimal by default).
    n_pred: f64,
    /// The median of the predictive distribution (= n_pred without a
    /// calibrated model).
    n_pred_median: f64,
    /// The 80 % interval, once the window has a calibrated model.
    #[serde(skip_serializing_if = "Option::is_none")]
    n_pred_low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_pred_high: Option<f64>,
    n_pred_hawkes: f64,
    n_true: usize,
    #[serde(rename = "ARE")]
    are: f64,
    p: f64,
    beta: f64,
    n_star: f64,
    #[serde(rename = "G1")]
    g1: f64,
    w: f64,
}

pub fn eval(args: EvalArgs) -> anyhow::Result<()> {
    args.stages.check(&args.replay)?;
    let started = Instant::now();
    let set = Dataset::load(&args.data, &args.index).with_context(|| {
        format!(
            "cannot read the data set {} / {}",
            args.data.display(),
            args.index.display()
        )
    })?;
    tracing::info!(
        cascades = set.len(),
        tweets = set.n_tweets(),
        seconds = started.elapsed().as_secs_f64(),
        "data set loaded"
    );
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    let (report, written) = evaluate(
        Arc::new(set),
        &args.stages,
        &args.replay,
        args.workers,
        &mut out,
    )?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{}", report.table());
    println!(
        "{written} predictions written to {} in {:.1} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the pipeline over `set`, writing one line per prediction to `out`.
///
/// Everything downstream of the collector is independent per window (a
/// window's series, parameters, sizes, samples and model never meet
/// another's), so with `workers` > 0 the collector runs here and each
/// window's estimator, predictor and learner run on worker `i % workers`,
/// each a [`SyncPipeline`] fed that window's collector outputs in their
/// order. A window's messages are then handled in the order one pipeline
/// handles them, and the lines are written sorted by (input message,
/// window, order of handling): the file is the same for every `workers`,
/// 0 (one pipeline, one thread) included.
pub fn evaluate(
    set: Arc<Dataset>,
    stages: &StageArgs,
    replay: &ReplayArgs,
    workers: usize,
    out: &mut dyn Write,
) -> anyhow::Result<(Report, u64)> {
    let windows = stages.collector.config().windows;
    let scorer = || Scorer::new(set.clone(), &windows);
    let scorers = if workers == 0 {
        vec![run_whole(stages, replay, &set, scorer())]
    } else {
        run_split(stages, replay, &set, &windows, workers, scorer)?
    };
    let mut report = Report::default();
    let mut lines = Vec::new();
    for s in scorers {
        report.windows.extend(s.report.windows);
        lines.extend(s.lines);
    }
    lines.sort_unstable_by_key(|l| l.key);
    for l in &lines {
        out.write_all(&l.json)
            .and_then(|()| out.write_all(b"\n"))
            .context("cannot write the predictions")?;
    }
    Ok((report, lines.len() as u64))
}

/// Replay time between ticks of every stage (expiry, timers).
const TICK_EVERY: f64 = 60.0;

/// The reference: one [`SyncPipeline`] on this thread.
fn run_whole(stages: &StageArgs, replay: &ReplayArgs, set: &Arc<Dataset>, mut s: Scorer) -> Scorer {
    let mut pipeline = SyncPipeline::new(stages.build());
    let mut next_tick = 0.0;
    let mut now = 0.0;
    for emitted in Replay::new(set.clone(), replay.config()) {
        now = emitted.at;
        s.unit += 1;
        pipeline.push(Message::Tweet(emitted.msg), now, &mut |m| s.see(m));
        if now >= next_tick {
            s.unit += 1;
            pipeline.tick(now, &mut |m| s.see(m));
            next_tick = now + TICK_EVERY;
        }
    }
    s.unit += 1;
    pipeline.finish(now, &mut |m| s.see(m));
    s
}

/// What the collector's thread sends a window worker; `unit` numbers the
/// collector's calls, as `Scorer::unit` does in [`run_whole`].
enum Work {
    Handle(u64, f64, Vec<Message>),
    Tick(u64, f64, Vec<Message>),
    Finish(u64, f64, Vec<Message>),
}

fn run_split(
    stages: &StageArgs,
    replay: &ReplayArgs,
    set: &Arc<Dataset>,
    windows: &[Window],
    workers: usize,
    scorer: impl Fn() -> Scorer,
) -> anyhow::Result<Vec<Scorer>> {
    let workers = workers.min(windows.len()).max(1);
    let worker_of = |msg: &Message| {
        let w = msg.window()?;
        Some(windows.iter().position(|x| *x == w).unwrap_or(0) % workers)
    };
    std::thread::scope(|scope| {
        let mut txs = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..workers {
            // Bounded: the collector runs at most this far ahead.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Work>(4096);
            let mut s = scorer();
            let mut pipeline = SyncPipeline::new(stages.build());
            txs.push(tx);
            handles.push(scope.spawn(move || {
                for work in rx {
                    match work {
                        Work::Handle(unit, now, msgs) => {
                            s.unit = unit;
                            pipeline.push_all(msgs, now, &mut |m| s.see(m));
                        }
                        Work::Tick(unit, now, msgs) => {
                            s.unit = unit;
                            pipeline.tick_after(msgs, now, &mut |m| s.see(m));
                        }
                        Work::Finish(unit, now, msgs) => {
                            s.unit = unit;
                            pipeline.push_all(msgs, now, &mut |m| s.see(m));
                            pipeline.finish(now, &mut |m| s.see(m));
                        }
                    }
                }
                s
            }));
        }
        // The collector's calls, each output to its window's worker; ticks
        // and the finish go to every worker, whose stages tick too.
        let mut collector = stages.build().collector;
        let mut unit = 0u64;
        let mut offset = 0i64;
        let send = |kind: fn(u64, f64, Vec<Message>) -> Work,
                    unit: u64,
                    now: f64,
                    msgs: Vec<Message>,
                    all: bool| {
            let mut split: Vec<Vec<Message>> = vec![Vec::new(); workers];
            for m in msgs {
                if let Some(i) = worker_of(&m) {
                    split[i].push(m);
                }
            }
            for (tx, msgs) in txs.iter().zip(split) {
                if all || !msgs.is_empty() {
                    // A worker stops only when the scope ends.
                    let _ = tx.send(kind(unit, now, msgs));
                }
            }
        };
        let mut out = Vec::new();
        let mut next_tick = 0.0;
        let mut now = 0.0;
        for emitted in Replay::new(set.clone(), replay.config()) {
            now = emitted.at;
            unit += 1;
            offset += 1;
            let ctx = Ctx::in_process(now, offset);
            if let Err(error) = collector.handle(Message::Tweet(emitted.msg), ctx, &mut out) {
                tracing::warn!(offset, %error, "tweet refused");
            }
            if !out.is_empty() {
                send(Work::Handle, unit, now, std::mem::take(&mut out), false);
            }
            if now >= next_tick {
                unit += 1;
                collector.tick(now, &mut out);
                send(Work::Tick, unit, now, std::mem::take(&mut out), true);
                next_tick = now + TICK_EVERY;
            }
        }
        unit += 1;
        collector.finish(&mut out);
        collector.flush(&mut out);
        send(Work::Finish, unit, now, out, true);
        drop(txs);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a window worker panicked"))
            })
            .collect()
    })
}

/// One line of `--out` and where it sorts.
struct Scored {
    /// (collector call, window's position in `--windows`, order handled).
    key: (u64, usize, u64),
    json: Vec<u8>,
}

/// Scores the alerts a pipeline emits against the true sizes.
struct Scorer {
    set: Arc<Dataset>,
    windows: Vec<Window>,
    report: Report,
    params: HashMap<(String, Window), ParametersMsg>,
    warm: BTreeSet<Window>,
    predicted: HashSet<(String, Window)>,
    lines: Vec<Scored>,
    /// The collector call whose consequences are being handled.
    unit: u64,
    handled: u64,
}

impl Scorer {
    fn new(set: Arc<Dataset>, windows: &[Window]) -> Self {
        Self {
            set,
            windows: windows.to_vec(),
            report: Report::default(),
            params: HashMap::new(),
            warm: BTreeSet::new(),
            predicted: HashSet::new(),
            lines: Vec::new(),
            unit: 0,
            handled: 0,
        }
    }

    /// Sees every message a pipeline routes.
    fn see(&mut self, msg: &Message) {
        match msg {
            Message::Series(s) => self.report.series(&s.cid, s.t_obs),
            Message::Properties(PropertiesMsg::Parameters(p)) => {
                if let Some(w) = p.t_obs {
                    self.params.insert((p.cid.clone(), w), p.clone());
                }
            }
            Message::Model(m) => {
                self.warm.insert(m.t_obs);
            }
            Message::Alert(a) => self.alert(a),
            _ => {}
        }
    }

    fn alert(&mut self, a: &AlertMsg) {
        // Downstream dedupes by (cid, T_obs): a cascade reopened by late
        // tweets after the collector forgot it is predicted only once.
        if !self.predicted.insert((a.cid.clone(), a.t_obs)) {
            return;
        }
        let Some(p) = self.params.remove(&(a.cid.clone(), a.t_obs)) else {
            return;
        };
        let set = &self.set;
        let n_true = a
            .cid
            .parse::<usize>()
            .ok()
            .filter(|&i| i < set.len())
            .map_or(0, |i| set.size(i));
        let n_hawkes = hawkes::final_size(p.n_obs as f64, p.g1, p.n_star, 1.0);
        let are = |n: f64| (n - n_true as f64).abs() / n_true.max(1) as f64;
        let line = Line {
            cid: &a.cid,
            t_obs: a.t_obs,
            n_obs: p.n_obs,
            n_pred: a.n_tot,
            n_pred_median: a.n_tot_median.unwrap_or(a.n_tot),
            n_pred_low: a.n_tot_low,
            n_pred_high: a.n_tot_high,
            n_pred_hawkes: n_hawkes,
            n_true,
            are: are(a.n_tot),
            p: p.params[0],
            beta: p.params[1],
            n_star: p.n_star,
            g1: p.g1,
            w: a.w.unwrap_or(1.0),
        };
        let covered = a
            .n_tot_low
            .zip(a.n_tot_high)
            .map(|(lo, hi)| (lo..=hi).contains(&(n_true as f64)));
        self.report.record(
            a.t_obs,
            line.are,
            are(n_hawkes),
            self.warm.contains(&a.t_obs),
            covered,
        );
        // Serializing this struct cannot fail (no maps, no custom code).
        let json = serde_json::to_vec(&line).unwrap_or_default();
        let window = self
            .windows
            .iter()
            .position(|w| *w == a.t_obs)
            .unwrap_or(usize::MAX);
        self.handled += 1;
        self.lines.push(Scored {
            key: (self.unit, window, self.handled),
            json,
        });
    }
}
