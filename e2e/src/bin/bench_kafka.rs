//! The Kafka deployment's benchmark (`scripts/bench-kafka.sh` starts a
//! broker and runs it):
//! 1. throughput: the generator as fast as possible through the broker to
//!    stats, on a NEWS-like synthetic set; tweets/s from the generator's
//!    first record to the last stat (broker timestamps);
//! 2. latency: the same set paced (--speed) so the pipeline keeps up; from a
//!    window's close (the generator's record that passes it: `origin-ts`)
//!    to its alert (the alert's timestamp), p50 and p99.
//!
//! Needs the release binaries next to it and TWEETOSCOPE_TEST_BROKERS.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Proc, Record, bin_dir, read_topic, simulate, wait_for_log};

#[derive(Debug, Parser)]
#[command(name = "bench-kafka")]
struct Cli {
    /// Synthetic cascades (NEWS-like sizes; NEWS has 20,093).
    #[arg(long, default_value_t = 3000)]
    cascades: usize,
    /// Time acceleration of the latency run.
    #[arg(long, default_value_t = 20_000.0)]
    speed: f64,
    /// Cascades of the latency run.
    #[arg(long, default_value_t = 1000)]
    latency_cascades: usize,
    /// Extra generator options, e.g. "--watermark-interval 600".
    #[arg(long, default_value = "")]
    generator_args: String,
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

struct Run {
    tweets: u64,
    first_ms: i64,
    last_stat_ms: i64,
    stats: usize,
    latencies_ms: Vec<f64>,
}

fn pipeline(d: &Deployment) -> Vec<Proc> {
    d.create_topics();
    let procs = vec![
        d.spawn("collector", "collector", &[]),
        d.spawn("estimator", "estimator", &[]),
        d.spawn("predictor", "predictor", &[]),
    ];
    for p in &procs {
        assert!(
            wait_for_log(p, "partitions assigned", 1, Duration::from_secs(60)),
            "{} did not join",
            p.label
        );
    }
    procs
}

fn run(d: &Deployment, dir: &Path, cascades: usize, speed: Option<f64>, extra: &[String]) -> Run {
    let (data, index) = simulate(dir, cascades, 3);
    let procs = pipeline(d);
    let (data, index) = (data.display().to_string(), index.display().to_string());
    let speed_s = speed.map(|s| s.to_string());
    let mut args: Vec<&str> = vec![
        "--data",
        &data,
        "--index",
        &index,
        "--sources",
        "8",
        "--seed",
        "3",
    ];
    if let Some(s) = &speed_s {
        args.extend(["--speed", s.as_str()]);
    }
    args.extend(extra.iter().map(String::as_str));
    let started = Instant::now();
    let mut g = d.spawn("generator", "generator", &args);
    assert!(
        g.wait(Duration::from_secs(900)),
        "generator failed: {}",
        g.log_text()
    );
    let log = g.log_text();
    let tweets = log
        .split("tweets=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    eprintln!("generator done in {:.1} s", started.elapsed().as_secs_f64());
    // Stats stop coming when every cascade has ended: wait for quiet.
    let quiet = std::cell::Cell::new((0usize, Instant::now()));
    let stats = read_topic(
        &d.brokers,
        &d.topic(Topic::Stats),
        Duration::from_secs(600),
        |r| {
            let (n, since) = quiet.get();
            if r.len() != n {
                quiet.set((r.len(), Instant::now()));
                false
            } else {
                n > 0 && since.elapsed() > Duration::from_secs(5)
            }
        },
    );
    let tweets_in = read_topic(
        &d.brokers,
        &d.topic(Topic::Tweets),
        Duration::from_secs(3),
        |_| false,
    );
    let first_ms = tweets_in
        .iter()
        .filter_map(|r| r.timestamp_ms)
        .min()
        .unwrap_or(0);
    let last_stat_ms = stats
        .iter()
        .filter_map(|r| r.timestamp_ms)
        .max()
        .unwrap_or(0);
    let alerts = read_topic(
        &d.brokers,
        &d.topic(Topic::Alerts),
        Duration::from_secs(3),
        |_| false,
    );
    let latencies_ms = alerts.iter().filter_map(latency).collect();
    // Where the time goes: the same measure after each hop.
    for topic in [Topic::CascadeSeries, Topic::CascadeProperties] {
        let records = read_topic(&d.brokers, &d.topic(topic), Duration::from_secs(3), |_| {
            false
        });
        let mut l: Vec<f64> = records
            .iter()
            .filter(|r| r.json()["type"] != "size")
            .filter_map(latency)
            .collect();
        eprintln!(
            "  {topic}: origin to record p50 {:.1} ms, p99 {:.1} ms",
            quantile(&mut l, 0.5),
            quantile(&mut l, 0.99)
        );
    }
    drop(procs);
    Run {
        tweets,
        first_ms,
        last_stat_ms,
        stats: stats.len(),
        latencies_ms,
    }
}

/// Alert timestamp minus its origin-ts header.
fn latency(r: &Record) -> Option<f64> {
    let origin: i64 = r.headers.get("origin-ts")?.parse().ok()?;
    Some((r.timestamp_ms? - origin) as f64)
}

fn main() {
    let cli = Cli::parse();
    let extra: Vec<String> = cli
        .generator_args
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let dir = bin_dir().join("bench-data");

    let d = Deployment::new("bench-tput");
    let mut r = run(&d, &dir.join("tput"), cli.cascades, None, &extra);
    let secs = (r.last_stat_ms - r.first_ms) as f64 / 1000.0;
    println!(
        "throughput: {} tweets, first tweet to last stat {:.2} s: {:.0} tweets/s ({} stats); alert latency under max load p50 {:.0} ms, p99 {:.0} ms",
        r.tweets,
        secs,
        r.tweets as f64 / secs.max(1e-9),
        r.stats,
        quantile(&mut r.latencies_ms, 0.5),
        quantile(&mut r.latencies_ms, 0.99),
    );

    let d = Deployment::new("bench-lat");
    let mut r = run(
        &d,
        &dir.join("lat"),
        cli.latency_cascades,
        Some(cli.speed),
        &extra,
    );
    println!(
        "latency at x{}: window close to alert p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} alerts",
        cli.speed,
        quantile(&mut r.latencies_ms, 0.5),
        quantile(&mut r.latencies_ms, 0.99),
        quantile(&mut r.latencies_ms, 1.0),
        r.latencies_ms.len()
    );
}
