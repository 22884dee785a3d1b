//! `tweetoscope eval`: the production pipeline, unpaced and deterministic.
//!
//! The learner trains online in stream order exactly as in production; the
//! synchronous driver makes the output a pure function of the input, the
//! options and the seed, so two runs give byte-identical files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use tweetoscope_core::config::ReplayArgs;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::pipeline::SyncPipeline;
use tweetoscope_core::schema::{Message, Window};
use tweetoscope_core::stage::{Ctx, Stage};

use crate::report::Report;
use crate::score::Scorer;
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

/// One worker per core, the collector's thread beside them: the workers'
/// loads differ by window and the collector's thread waits on nothing, so
/// the cores stay busier than with one thread per core (2 cores,
/// 2026-12-05: 1.27 s with 2 workers, 1.56 s with 1).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    let mut lines = Vec::with_capacity(scorers.iter().map(|s| s.lines.len()).sum());
    for s in scorers {
        report.windows.extend(s.report.windows);
        lines.extend(s.lines);
    }
    lines.sort_unstable_by_key(|l| l.key);
    for l in &lines {
        l.write_to(out).context("cannot write the predictions")?;
    }
    Ok((report, lines.len() as u64))
}

/// Work items per channel send to a window worker: one send (and maybe
/// one wake-up) per batch rather than per item. With one send per item,
/// the futex calls were 8 % of eval's CPU (perf, 2026-12-05).
const WORK_BATCH: usize = 256;

/// The collector's thread's side of the window workers' channels.
struct Fanout {
    txs: Vec<SyncSender<Vec<Work>>>,
    /// Per worker, the items not sent yet.
    queued: Vec<Vec<Work>>,
}

impl Fanout {
    /// Queues each worker's share of one collector call (`all`: an item
    /// for every worker, even one with no messages: a tick, the finish).
    fn send(
        &mut self,
        kind: fn(u64, f64, Vec<Message>) -> Work,
        unit: u64,
        now: f64,
        split: Vec<Vec<Message>>,
        all: bool,
    ) {
        for ((tx, queued), msgs) in self.txs.iter().zip(&mut self.queued).zip(split) {
            if all || !msgs.is_empty() {
                queued.push(kind(unit, now, msgs));
            }
            if queued.len() >= WORK_BATCH {
                // A worker stops only when the scope ends.
                let _ = tx.send(std::mem::take(queued));
            }
        }
    }

    /// Sends what is queued; the workers end once they have handled it.
    fn close(self) {
        for (tx, queued) in self.txs.iter().zip(self.queued) {
            if !queued.is_empty() {
                let _ = tx.send(queued);
            }
        }
    }
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
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Work>>(64);
            let mut s = scorer();
            let mut pipeline = SyncPipeline::new(stages.build());
            txs.push(tx);
            handles.push(scope.spawn(move || {
                for work in rx.into_iter().flatten() {
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
        let mut fanout = Fanout {
            txs,
            queued: (0..workers).map(|_| Vec::new()).collect(),
        };
        let mut send = |kind: fn(u64, f64, Vec<Message>) -> Work,
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
            fanout.send(kind, unit, now, split, all);
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
        fanout.close();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a window worker panicked"))
            })
            .collect()
    })
}
