//! `tweetoscope eval`: the production pipeline, unpaced and deterministic.
//!
//! The learner trains online in stream order exactly as in production; the
//! synchronous driver makes the output a pure function of the input, the
//! options and the seed, so two runs give byte-identical files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use tweetoscope_core::config::ReplayArgs;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::pipeline::{self, Timed};
use tweetoscope_core::schema::{Message, ModelMsg};

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
    /// Where to write each window's last model, one JSON model message a
    /// line: the next run's --initial-model (a cold start that predicts
    /// with this run's models until its own).
    #[arg(long)]
    pub models_out: Option<PathBuf>,
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
    let (report, written, models) = evaluate(
        Arc::new(set),
        &args.stages,
        &args.replay,
        args.workers,
        &mut out,
    )?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(path) = &args.models_out {
        write_models(path, &models)?;
    }
    println!("{}", report.table());
    println!(
        "{written} predictions written to {} in {:.1} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes `models`, one JSON line each.
fn write_models(path: &std::path::Path, models: &[ModelMsg]) -> anyhow::Result<()> {
    let cannot = || format!("cannot write the models to {}", path.display());
    let mut out = BufWriter::new(File::create(path).with_context(cannot)?);
    for m in models {
        serde_json::to_writer(&mut out, m).with_context(cannot)?;
        out.write_all(b"\n").with_context(cannot)?;
    }
    out.flush().with_context(cannot)
}

/// Runs the pipeline over `set`, writing one line per prediction to `out`:
/// on one thread with `workers` = 0, else the collector here and each
/// window's estimator, predictor and learner on a worker
/// ([`pipeline::run_split`]). The lines are written sorted by (input
/// message, window, order of handling): the file is the same for every
/// `workers`, 0 included. Also returns each window's last model.
pub fn evaluate(
    set: Arc<Dataset>,
    stages: &StageArgs,
    replay: &ReplayArgs,
    workers: usize,
    out: &mut dyn Write,
) -> anyhow::Result<(Report, u64, Vec<ModelMsg>)> {
    let windows = stages.collector.config().windows;
    let scorer = || Scorer::new(set.clone(), &windows);
    let inputs = Replay::new(set.clone(), replay.config()).map(|e| Timed {
        at: e.at,
        msg: Message::Tweet(e.msg),
    });
    let scorers = if workers == 0 {
        let mut s = scorer();
        pipeline::run_whole(stages.build(), inputs, TICK_EVERY, &mut s);
        vec![s]
    } else {
        let build = || stages.build();
        let (scorers, _) =
            pipeline::run_split(&build, inputs, &windows, workers, TICK_EVERY, &scorer);
        scorers.ok_or_else(|| anyhow::anyhow!("a window worker panicked"))?
    };
    let mut report = Report::default();
    let mut lines = Vec::with_capacity(scorers.iter().map(|s| s.lines.len()).sum());
    let mut models = std::collections::BTreeMap::new();
    for s in scorers {
        report.windows.extend(s.report.windows);
        lines.extend(s.lines);
        models.extend(s.models);
    }
    lines.sort_unstable_by_key(|l| l.key);
    for l in &lines {
        l.write_to(out).context("cannot write the predictions")?;
    }
    Ok((report, lines.len() as u64, models.into_values().collect()))
}

/// Replay time between ticks of every stage (expiry, timers).
const TICK_EVERY: f64 = 60.0;
