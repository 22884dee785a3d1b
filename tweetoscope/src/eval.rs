//! `tweetoscope eval`: the production pipeline, unpaced and deterministic.
//!
//! The learner trains online in stream order exactly as in production; the
//! synchronous driver makes the output a pure function of the input, the
//! options and the seed, so two runs give byte-identical files.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tweetoscope_core::config::ReplayArgs;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::hawkes;
use tweetoscope_core::pipeline::SyncPipeline;
use tweetoscope_core::schema::{Message, ParametersMsg, PropertiesMsg, Window};

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
        std::sync::Arc::new(set),
        &args.stages,
        &args.replay,
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
pub fn evaluate(
    set: std::sync::Arc<Dataset>,
    stages: &StageArgs,
    replay: &ReplayArgs,
    out: &mut dyn Write,
) -> anyhow::Result<(Report, u64)> {
    let mut pipeline = SyncPipeline::new(stages.build());
    let mut report = Report::default();
    let mut params: HashMap<(String, Window), ParametersMsg> = HashMap::new();
    let mut warm: BTreeSet<Window> = BTreeSet::new();
    let mut predicted: HashSet<(String, Window)> = HashSet::new();
    let mut written = 0u64;
    let mut io_error: Option<std::io::Error> = None;
    let mut sink = |msg: &Message| match msg {
        Message::Series(s) => report.series(&s.cid, s.t_obs),
        Message::Properties(PropertiesMsg::Parameters(p)) => {
            if let Some(w) = p.t_obs {
                params.insert((p.cid.clone(), w), p.clone());
            }
        }
        Message::Model(m) => {
            warm.insert(m.t_obs);
        }
        Message::Alert(a) => {
            // Downstream dedupes by (cid, T_obs): a cascade reopened by late
            // tweets after the collector forgot it is predicted only once.
            if !predicted.insert((a.cid.clone(), a.t_obs)) {
                return;
            }
            let Some(p) = params.remove(&(a.cid.clone(), a.t_obs)) else {
                return;
            };
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
            report.record(
                a.t_obs,
                line.are,
                are(n_hawkes),
                warm.contains(&a.t_obs),
                covered,
            );
            let written_ok = serde_json::to_writer(&mut *out, &line)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            match written_ok {
                Ok(()) => written += 1,
                Err(e) => io_error = Some(e),
            }
        }
        _ => {}
    };
    let mut next_tick = 0.0;
    let mut now = 0.0;
    for emitted in Replay::new(set.clone(), replay.config()) {
        now = emitted.at;
        pipeline.push(Message::Tweet(emitted.msg), now, &mut sink);
        if now >= next_tick {
            pipeline.tick(now, &mut sink);
            next_tick = now + 60.0;
        }
    }
    pipeline.finish(now, &mut sink);
    if let Some(e) = io_error {
        return Err(e).context("cannot write the predictions");
    }
    Ok((report, written))
}
