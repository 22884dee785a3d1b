//! The Kafka deployment's benchmark (`scripts/bench-kafka.sh` builds the
//! binaries and runs it), on Tansu, on Apache Kafka or on both
//! (`--broker`). Every run starts its own broker (Tansu in memory, or a
//! one-node KRaft Apache Kafka from scripts/kafka.sh) and all seven
//! binaries (generator, collector, estimator, predictor, learner,
//! dashboard, logger) with their default settings, on a NEWS-like
//! synthetic set:
//! 1. throughput (`--runs` times): the generator as fast as possible;
//!    tweets/s from the first tweet to the last stat (broker timestamps),
//!    and the CPU seconds per million tweets of each process and of the
//!    broker in the same run;
//! 2. one long run on a set `--long-factor` times larger: peak RSS of each
//!    process, to compare with the short runs', and the largest RSS sampled
//!    in each half of the long run (equal once the state reached its
//!    bounds);
//! 3. the broker's own pass-through ([`passthrough`]): the generator's
//!    records produced and read back by a plain consumer, no stages; the
//!    pipeline's throughput as a share of it;
//! 4. latency (`--latency-runs` times at each of three paces): paced so
//!    that no wall second of the replay carries more than 10 %, 50 % and
//!    90 % of the measured maximum (or `--speed`), from a window's close
//!    (the `origin-ts` of the generator's record that passed it) to its
//!    alert, p50/p99/max, and to the records of the hops before.
//!
//! Needs the release binaries next to it, and a `tansu` binary (`--tansu`)
//! or scripts/kafka.sh's Java and Maven.

mod broker;
mod passthrough;
mod procstat;
mod run;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::{Replay, ReplayConfig};
use tweetoscope_core::schema::TweetMsg;
use tweetoscope_e2e::simulate;

use broker::Kind;
use run::{Plan, Run, Usage, work_dir};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    Tansu,
    Kafka,
    Both,
}

#[derive(Debug, Parser)]
#[command(name = "bench-kafka")]
struct Cli {
    /// The broker(s) to run on, one after the other.
    #[arg(long, value_enum, default_value_t = Which::Both)]
    broker: Which,
    /// The Tansu broker binary (for --broker tansu or both).
    #[arg(long, env = "TANSU")]
    tansu: Option<PathBuf>,
    /// Apache Kafka's client port (its controller port is the next one).
    #[arg(long, default_value_t = 19230)]
    kafka_port: u16,
    /// Synthetic cascades (NEWS-like sizes; NEWS has 20,093).
    #[arg(long, default_value_t = 3000)]
    cascades: usize,
    /// Throughput runs.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The long run's set is this many times larger (0: no long run).
    #[arg(long, default_value_t = 10)]
    long_factor: usize,
    /// Latency runs.
    #[arg(long, default_value_t = 3)]
    latency_runs: usize,
    /// Time acceleration of the latency runs; default: the fastest at which
    /// no wall second carries more than 10 %, 50 % and 90 % of the
    /// measured maximum, each in turn.
    #[arg(long)]
    speed: Option<f64>,
    /// Stop each latency run's generator after this many seconds (0: the
    /// whole replay, whose sparse tail at 10 % of the maximum lasts an
    /// hour on a 2-core machine).
    #[arg(long, default_value_t = 0)]
    latency_seconds: u64,
    /// Extra generator options, e.g. "--watermark-quiet 0".
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    generator_args: String,
}

fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// The tweets' source times in the generator's replay of a set (its
/// options as in [`run::run`]), in order.
fn replay_times(data: &std::path::Path, index: &std::path::Path) -> Vec<f64> {
    let set = Dataset::load(data, index).unwrap_or_else(|e| panic!("cannot load the set: {e}"));
    let cfg = ReplayConfig {
        sources: 8,
        seed: 3,
        ..ReplayConfig::default()
    };
    Replay::new(Arc::new(set), cfg)
        .filter(|e| matches!(e.msg, TweetMsg::Tweet(_) | TweetMsg::Retweet(_)))
        .map(|e| e.at)
        .collect()
}

/// The most tweets within any `span` source seconds of `times` (sorted).
fn busiest(times: &[f64], span: f64) -> usize {
    let mut lo = 0;
    let mut most = 0;
    for (hi, &t) in times.iter().enumerate() {
        while t - times[lo] >= span {
            lo += 1;
        }
        most = most.max(hi + 1 - lo);
    }
    most
}

/// The fastest pace (source seconds per wall second) at which no wall
/// second of the replay carries more than `rate` tweets. The replay is not
/// even: every source starts its K cascades at once, so its first seconds
/// are its busiest, several times its mean.
fn pace_for(times: &[f64], rate: f64) -> f64 {
    let (mut lo, mut hi) = (1.0_f64, 1e9_f64);
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if busiest(times, mid) as f64 <= rate {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo.round()
}

fn usage_of<'a>(run: &'a Run, label: &str) -> Option<&'a Usage> {
    run.usage.iter().find(|u| u.label == label)
}

fn main() {
    let cli = Cli::parse();
    let mut kinds = Vec::new();
    if cli.broker != Which::Kafka {
        let tansu = cli.tansu.clone().unwrap_or_else(|| {
            panic!("--broker tansu needs the tansu binary: --tansu or TANSU (scripts/bench-kafka.sh finds it)")
        });
        kinds.push(Kind::Tansu(tansu));
    }
    if cli.broker != Which::Tansu {
        kinds.push(Kind::Kafka {
            port: cli.kafka_port,
        });
    }
    let dir = work_dir();
    let (data, index) = simulate(&dir.join("short"), cli.cascades, 3);
    for kind in &kinds {
        bench(&cli, kind, &data, &index);
    }
}

/// Every measurement on one broker.
fn bench(cli: &Cli, kind: &Kind, data: &std::path::Path, index: &std::path::Path) {
    let extra: Vec<String> = cli
        .generator_args
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let dir = work_dir();
    let logs = tweetoscope_e2e::bin_dir().join("e2e-logs");
    let _ = std::fs::create_dir_all(&logs);
    let started = std::time::Instant::now();
    let broker = kind.name();
    println!("\n## {broker}\n");
    let plan = |name, speed: Option<f64>| Plan {
        name,
        broker: kind,
        data,
        index,
        speed,
        generator_args: &extra,
        limit: (speed.is_some() && cli.latency_seconds > 0)
            .then(|| std::time::Duration::from_secs(cli.latency_seconds)),
    };
    let mut tput: Vec<Run> = Vec::new();
    for i in 0..cli.runs {
        let r = run::run(&plan("bench-tput", None), &logs);
        println!(
            "throughput run {}: {} tweets ({} records) in {:.2} s: {:.0} tweets/s, {} stats",
            i + 1,
            r.tweets,
            r.records,
            r.seconds,
            r.tweets_per_s(),
            r.stats
        );
        tput.push(r);
    }

    let long = (cli.long_factor > 0).then(|| {
        let (data, index) = simulate(&dir.join("long"), cli.cascades * cli.long_factor, 3);
        let r = run::run(
            &Plan {
                data: &data,
                index: &index,
                ..plan("bench-long", None)
            },
            &logs,
        );
        println!(
            "long run: {} cascades, {} tweets in {:.2} s: {:.0} tweets/s, {} stats",
            cli.cascades * cli.long_factor,
            r.tweets,
            r.seconds,
            r.tweets_per_s(),
            r.stats
        );
        r
    });

    let max_rate = median(&tput.iter().map(Run::tweets_per_s).collect::<Vec<_>>());
    let (through, through_tweets) = passthrough::pass_through(&plan("bench-pass", None), &logs);
    println!(
        "broker pass-through: {through_tweets} tweets produced and read back at {through:.0} tweets/s; the pipeline's median {max_rate:.0} tweets/s is {:.0} % of it",
        100.0 * max_rate / through
    );
    let times = replay_times(data, index);
    let paces: Vec<(String, f64)> = match cli.speed {
        Some(s) => vec![(format!("x{s}"), s)],
        None => [0.1, 0.5, 0.9]
            .iter()
            .map(|&f| {
                let speed = pace_for(&times, f * max_rate);
                let mean = times.len() as f64 / times.last().copied().unwrap_or(1.0).max(1.0);
                println!(
                    "latency pace x{speed}: its busiest wall second carries {} tweets, {:.0} % of the median maximum ({:.0} tweets/s); the replay's mean at this pace is {:.0} tweets/s",
                    busiest(&times, speed),
                    100.0 * f,
                    f * max_rate,
                    mean * speed
                );
                (format!("{:.0} %", 100.0 * f), speed)
            })
            .collect(),
    };
    let mut by_pace: Vec<(String, f64, Vec<Run>)> = Vec::new();
    for (pace, speed) in paces {
        let lat = latency_runs(cli, &plan("bench-lat", Some(speed)), &logs);
        by_pace.push((pace, speed, lat));
    }
    usage_table(&tput, long.as_ref());
    for (pace, speed, lat) in &by_pace {
        let all: Vec<f64> = lat
            .iter()
            .flat_map(|r| r.alert_ms.iter().copied())
            .collect();
        println!(
            "{broker}: latency at {pace} of the maximum (x{speed}): p99 per run {:?} ms, all runs p50 {:.0} / p99 {:.0} / max {:.0} ms",
            lat.iter()
                .map(|r| quantile(&r.alert_ms, 0.99).round())
                .collect::<Vec<_>>(),
            quantile(&all, 0.5),
            quantile(&all, 0.99),
            quantile(&all, 1.0),
        );
    }
    println!(
        "summary {broker}: throughput median {max_rate:.0} tweets/s over {} runs, {:.0} % of the broker's pass-through ({through:.0} tweets/s); {:.0} s in all",
        tput.len(),
        100.0 * max_rate / through,
        started.elapsed().as_secs_f64()
    );
}

/// `--latency-runs` runs of `plan` (paced), each reported.
fn latency_runs(cli: &Cli, plan: &Plan, logs: &std::path::Path) -> Vec<Run> {
    let speed = plan.speed.unwrap_or(f64::NAN);
    let mut lat: Vec<Run> = Vec::new();
    for i in 0..cli.latency_runs {
        let r = run::run(plan, logs);
        let hops: Vec<String> = r
            .hops_ms
            .iter()
            .map(|(t, l)| {
                format!(
                    "{t} p50 {:.0} / p99 {:.0}",
                    quantile(l, 0.5),
                    quantile(l, 0.99)
                )
            })
            .collect();
        println!(
            "latency run {} at x{speed}: window close to alert p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {} alerts (after the first second: p99 {:.0} ms over {}) ({:.0} tweets/s; {})",
            i + 1,
            quantile(&r.alert_ms, 0.5),
            quantile(&r.alert_ms, 0.99),
            quantile(&r.alert_ms, 1.0),
            r.alert_ms.len(),
            quantile(&r.alert_ms_after_1s, 0.99),
            r.alert_ms_after_1s.len(),
            r.tweets_per_s(),
            hops.join(", ")
        );
        lat.push(r);
    }
    lat
}

/// CPU s per million tweets and memory of every process and the broker.
fn usage_table(tput: &[Run], long: Option<&Run>) {
    println!();
    println!(
        "| process | CPU s per million tweets (median of {} runs) | peak RSS MiB, short runs (max) | peak RSS MiB, long run | long run's RSS MiB, largest in its first / second half |",
        tput.len()
    );
    println!("|---|---|---|---|---|");
    let labels: Vec<String> = tput
        .first()
        .map(|r| r.usage.iter().map(|u| u.label.clone()).collect())
        .unwrap_or_default();
    let mut total = 0.0;
    for label in &labels {
        let per_m: Vec<f64> = tput
            .iter()
            .filter_map(|r| Some(usage_of(r, label)?.cpu_s / (r.tweets as f64 / 1e6)))
            .collect();
        let rss = tput
            .iter()
            .filter_map(|r| usage_of(r, label))
            .map(|u| u.peak_rss_mib)
            .fold(0.0, f64::max);
        let long = long.and_then(|r| usage_of(r, label));
        let long_rss = long.map_or(f64::NAN, |u| u.peak_rss_mib);
        let (first, second) = long.map_or((f64::NAN, f64::NAN), |u| u.rss_halves_mib);
        total += median(&per_m);
        println!(
            "| {label} | {:.2} | {rss:.0} | {long_rss:.0} | {first:.0} / {second:.0} |",
            median(&per_m)
        );
    }
    println!("| total | {total:.2} | | | |");
}
