//! One run of the pipeline on a broker of its own: every stage binary, then
//! the generator; what came out (tweets, stats, latencies) and what each
//! process used.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Proc, Record, read_topic, unique, wait_for_log};

use crate::broker::{Broker, Kind};
use crate::procstat::{cpu_seconds, peak_rss_mib, reaped_children_cpu_seconds, rss_mib};

/// The consuming stages, started before the generator: (binary, options).
const STAGES: &[(&str, &[&str])] = &[
    ("collector", &[]),
    ("estimator", &[]),
    ("predictor", &[]),
    ("learner", &[]),
    ("dashboard", &["--web-addr", "127.0.0.1:0"]),
    ("logger", &[]),
];

/// What a run replays and how.
pub struct Plan<'a> {
    pub name: &'a str,
    pub broker: &'a Kind,
    pub data: &'a Path,
    pub index: &'a Path,
    /// `None`: as fast as possible.
    pub speed: Option<f64>,
    pub generator_args: &'a [String],
    /// Stop the generator (SIGTERM) after this long; `None`: the whole
    /// replay. A paced replay's tail is long and sparse.
    pub limit: Option<Duration>,
}

/// What one process used during the run.
#[derive(Debug, Clone)]
pub struct Usage {
    pub label: String,
    /// From the generator's start to the last stat seen.
    pub cpu_s: f64,
    /// Peak resident set over the process's life.
    pub peak_rss_mib: f64,
    /// The largest resident set sampled (every 100 ms) in the first and in
    /// the second half of the time from the generator's start to the last
    /// stat: equal when the process's memory stopped growing by mid-run.
    pub rss_halves_mib: (f64, f64),
}

/// Samples the resident set of `pids` every 100 ms until told to stop:
/// (seconds since the start, MiB per pid).
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(f64, Vec<f64>)>>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> Self {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let rss = pids.iter().map(|&p| rss_mib(p).unwrap_or(0.0)).collect();
                samples.push((start.elapsed().as_secs_f64(), rss));
                std::thread::sleep(Duration::from_millis(100));
            }
            samples
        });
        Self { stop, thread }
    }

    /// Stops sampling; per pid, the largest sample before `end / 2`
    /// seconds and the largest from then to `end`, `end` being the last
    /// sample of a process that exited sooner (the generator).
    fn halves(self, end: f64) -> Vec<(f64, f64)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let samples = self.thread.join().unwrap_or_default();
        let n = samples.first().map_or(0, |(_, v)| v.len());
        (0..n)
            .map(|i| {
                let end = samples
                    .iter()
                    .filter(|(_, v)| v[i] > 0.0)
                    .map(|(t, _)| *t)
                    .fold(0.0, f64::max)
                    .min(end);
                let peak = |keep: &dyn Fn(f64) -> bool| {
                    samples
                        .iter()
                        .filter(|(t, _)| keep(*t))
                        .map(|(_, v)| v[i])
                        .fold(0.0, f64::max)
                };
                (
                    peak(&|t| t < end / 2.0),
                    peak(&|t| t >= end / 2.0 && t <= end),
                )
            })
            .collect()
    }
}

#[derive(Debug)]
pub struct Run {
    pub tweets: u64,
    pub records: u64,
    /// From the first tweet's timestamp to the last stat's (broker clocks).
    pub seconds: f64,
    pub stats: usize,
    /// Window close (`origin-ts`) to alert.
    pub alert_ms: Vec<f64>,
    /// The same for windows closed after the run's first second (the
    /// stages' start: empty caches, first fetches, the densest second).
    pub alert_ms_after_1s: Vec<f64>,
    /// Window close to each hop's record: series, then parameters.
    pub hops_ms: Vec<(Topic, Vec<f64>)>,
    pub usage: Vec<Usage>,
}

impl Run {
    pub fn tweets_per_s(&self) -> f64 {
        self.tweets as f64 / self.seconds.max(1e-9)
    }
}

/// CPU seconds of every live process, in `pids` order.
fn cpu_of(pids: &[u32]) -> Vec<f64> {
    pids.iter()
        .map(|&p| cpu_seconds(p).unwrap_or(f64::NAN))
        .collect()
}

/// The value of ` NAME=` on the generator's `replay done` line (its
/// effective-configuration line also holds `topic-tweets=...`).
fn field(log: &str, name: &str) -> Option<u64> {
    let line = log.lines().rev().find(|l| l.contains("replay done"))?;
    line.split(&format!(" {name}="))
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A broker of the plan's kind and a deployment's topics on it.
pub fn deploy(plan: &Plan, logs: &Path) -> (Broker, Deployment) {
    let broker = Broker::start(
        plan.broker,
        &logs.join(format!("{}.{}.log", plan.name, plan.broker.name())),
    );
    let d = Deployment {
        prefix: unique(plan.name),
        brokers: broker.address.clone(),
        windows: "600,1200".into(),
        logs: logs.to_path_buf(),
        extra: Vec::new(),
    };
    d.create_topics();
    (broker, d)
}

pub fn run(plan: &Plan, logs: &Path) -> Run {
    let (broker, d) = deploy(plan, logs);
    let stages: Vec<Proc> = STAGES
        .iter()
        .map(|(bin, args)| d.spawn(bin, bin, args))
        .collect();
    for p in &stages {
        assert!(
            wait_for_log(p, "partitions assigned", 1, Duration::from_secs(60)),
            "{} did not join: {}",
            p.label,
            p.log_text()
        );
    }
    let mut pids: Vec<u32> = stages.iter().map(Proc::pid).collect();
    pids.push(broker.pid());
    let cpu_start = cpu_of(&pids);

    let gen_cpu_start = reaped_children_cpu_seconds();
    let args = generator_args(plan);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let mut g = d.spawn("generator", "generator", &args);
    let gen_pid = g.pid();
    let sampler = RssSampler::start([&pids[..], &[gen_pid]].concat());
    let mut gen_rss: f64 = 0.0;
    loop {
        if let Some(r) = peak_rss_mib(gen_pid) {
            gen_rss = gen_rss.max(r);
        }
        let ok = g.wait(Duration::from_millis(100));
        if g.pid() == 0 {
            assert!(ok, "generator failed: {}", g.log_text());
            break;
        }
        if plan.limit.is_some_and(|l| started.elapsed() > l) {
            let ok = g.terminate(Duration::from_secs(60));
            assert!(ok, "generator failed to stop: {}", g.log_text());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "generator still running after 30 min"
        );
    }
    let gen_cpu = reaped_children_cpu_seconds() - gen_cpu_start;
    let log = g.log_text();
    let (tweets, records) = generator_counts(&log);
    eprintln!(
        "  {}: generator done in {:.1} s ({tweets} tweets, {records} records)",
        plan.name,
        started.elapsed().as_secs_f64()
    );

    // Stats stop coming when every cascade has ended (a stopped replay:
    // when those that ended are out): wait for 5 s of quiet, noting the
    // CPU of every process when the last one came.
    let last = std::cell::RefCell::new((0usize, Instant::now(), cpu_of(&pids)));
    let stats = read_topic(
        &d.brokers,
        &d.topic(Topic::Stats),
        Duration::from_secs(if plan.limit.is_some() { 120 } else { 900 }),
        |r| {
            let mut last = last.borrow_mut();
            if r.len() != last.0 {
                *last = (r.len(), Instant::now(), cpu_of(&pids));
                false
            } else {
                last.0 > 0 && last.1.elapsed() > Duration::from_secs(5)
            }
        },
    );
    let (_, last_at, cpu_end) = last.into_inner();
    let halves = sampler.halves((last_at - started).as_secs_f64());
    let mut usage: Vec<Usage> = vec![Usage {
        label: "generator".into(),
        cpu_s: gen_cpu,
        peak_rss_mib: gen_rss,
        rss_halves_mib: halves[pids.len()],
    }];
    for (i, &pid) in pids.iter().enumerate() {
        let label = stages.get(i).map_or("broker", |p| p.label.as_str());
        usage.push(Usage {
            label: label.into(),
            cpu_s: cpu_end[i] - cpu_start[i],
            peak_rss_mib: peak_rss_mib(pid).unwrap_or(f64::NAN),
            rss_halves_mib: halves[i],
        });
    }

    let first_ms = read_topic(
        &d.brokers,
        &d.topic(Topic::Tweets),
        Duration::from_secs(10),
        |r| !r.is_empty(),
    )
    .iter()
    .filter_map(|r| r.timestamp_ms)
    .min()
    .unwrap_or(0);
    let last_stat_ms = stats
        .iter()
        .filter_map(|r| r.timestamp_ms)
        .max()
        .unwrap_or(0);
    let read = |topic| {
        read_topic(&d.brokers, &d.topic(topic), Duration::from_secs(3), |_| {
            false
        })
    };
    let alerts = read(Topic::Alerts);
    let alert_ms = alerts.iter().filter_map(latency).collect();
    let alert_ms_after_1s = alerts
        .iter()
        .filter(|r| origin_ms(r).is_some_and(|o| o > first_ms + 1000))
        .filter_map(latency)
        .collect();
    let hops_ms = [Topic::CascadeSeries, Topic::CascadeProperties]
        .into_iter()
        .map(|t| {
            let l = read(t)
                .iter()
                .filter(|r| r.json()["type"] != "size")
                .filter_map(latency)
                .collect();
            (t, l)
        })
        .collect();
    drop(stages);
    drop(broker);
    Run {
        tweets,
        records,
        seconds: (last_stat_ms - first_ms) as f64 / 1000.0,
        stats: stats.len(),
        alert_ms,
        alert_ms_after_1s,
        hops_ms,
        usage,
    }
}

fn origin_ms(r: &Record) -> Option<i64> {
    r.headers.get("origin-ts")?.parse().ok()
}

/// A record's timestamp minus its `origin-ts` header.
fn latency(r: &Record) -> Option<f64> {
    Some((r.timestamp_ms? - origin_ms(r)?) as f64)
}

/// The generator's options for a plan: the set, 8 sources, the pace.
pub fn generator_args(plan: &Plan) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--data".into(),
        plan.data.display().to_string(),
        "--index".into(),
        plan.index.display().to_string(),
        "--sources".into(),
        "8".into(),
        "--seed".into(),
        "3".into(),
    ];
    if let Some(s) = plan.speed {
        args.extend(["--speed".into(), s.to_string()]);
    }
    args.extend(plan.generator_args.iter().cloned());
    args
}

/// The generator's count of tweets and of records in its log.
pub fn generator_counts(log: &str) -> (u64, u64) {
    match (field(log, "tweets"), field(log, "messages")) {
        (Some(tweets), Some(messages)) if tweets > 0 => (tweets, messages),
        _ => panic!("no tweets counted on the generator's `replay done` line: {log}"),
    }
}

/// Where the runs keep their logs and data.
pub fn work_dir() -> PathBuf {
    tweetoscope_e2e::bin_dir().join("bench-data")
}

#[cfg(test)]
mod tests {
    use super::generator_counts;

    #[test]
    fn counts_come_from_the_replay_done_line_not_the_configuration() {
        let log = "INFO effective configuration config=topic-tweets=b.tweets cascades=3\n\
                   INFO generator: replay done cascades=3 tweets=311889 messages=311897 seconds=4.1";
        assert_eq!(generator_counts(log), (311_889, 311_897));
    }

    #[test]
    #[should_panic(expected = "replay done")]
    fn a_log_without_the_replay_done_line_is_refused() {
        generator_counts("INFO effective configuration config=topic-tweets=b.tweets");
    }
}
