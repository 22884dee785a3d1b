//! Faults operators meet (issue 7), against the real broker: the chaos test
//! (kills, a pause, a full restart; long, so `#[ignore]`d and run by
//! scripts/test-chaos.sh) and a collector killed twice mid-stream (limits.rs
//! has the oversized records and a stage started before its broker). The
//! checks read the topics directly, with no dedupe of the project's: every
//! record counts. Needs the broker of scripts/test.sh
//! (TWEETOSCOPE_TEST_BROKERS).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use std::sync::Arc;
use tweetoscope_core::schema::Topic;

use tweetoscope_core::collector::Collector;
use tweetoscope_core::config::{CollectorArgs, ReplayArgs};
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::schema::{Message, PropertiesMsg};
use tweetoscope_core::stage::{Ctx, Origin, Stage};
use tweetoscope_e2e::{Deployment, Proc, Record, bin_dir, key_of, read_topic, simulate};

type Key = (String, u64);

/// Every value of `field` seen per (cid, T_obs) on records of `kind`.
fn values(records: &[Record], kind: &str, field: &str) -> BTreeMap<Key, BTreeSet<String>> {
    let mut by_key: BTreeMap<Key, BTreeSet<String>> = BTreeMap::new();
    for v in records
        .iter()
        .map(Record::json)
        .filter(|v| v["type"] == kind)
    {
        if let Some(key) = key_of(&v) {
            let value = match field {
                "n_obs" => v["tweets"].as_array().map_or(0, Vec::len).to_string(),
                f => v[f].to_string(),
            };
            by_key.entry(key).or_default().insert(value);
        }
    }
    by_key
}

/// What an uninterrupted collector sends, per (cid, T_obs): the tweet
/// counts of its series and the values of its sizes. A key can hold two
/// cascades (one reopened by a tweet after the late horizon), so these are
/// sets.
#[derive(Debug, Default)]
struct Reference {
    series: BTreeMap<Key, BTreeSet<String>>,
    sizes: BTreeMap<Key, BTreeSet<String>>,
}

/// A fresh synthetic set, what the in-process collector makes of the
/// generator's replay of it (the same code, options and seed as the
/// binaries), and the generator arguments that replay it.
fn reference(d: &Deployment, cascades: usize, seed: u64) -> (Reference, Vec<String>) {
    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        replay: ReplayArgs,
        #[command(flatten)]
        collector: CollectorArgs,
    }
    let dir: PathBuf = bin_dir().join("e2e-data").join(&d.prefix);
    let (data, index) = simulate(&dir, cascades, seed);
    let seed = seed.to_string();
    let replay = ["--sources", "4", "--seed", seed.as_str()];
    let cli = <Cli as clap::Parser>::parse_from(["e2e"].iter().chain(&replay));
    let set = Dataset::load(&data, &index).unwrap_or_else(|e| panic!("{e}"));
    let mut collector = Collector::new(cli.collector.config());
    let mut out = Vec::new();
    for (offset, e) in Replay::new(Arc::new(set), cli.replay.config()).enumerate() {
        let ctx = Ctx {
            now: 0.0,
            origin: Origin {
                partition: 0,
                offset: offset as i64,
            },
        };
        if let Err(e) = collector.handle(Message::Tweet(e.msg), ctx, &mut out) {
            panic!("the generator's stream was refused: {e}");
        }
    }
    let mut r = Reference::default();
    for m in &out {
        match m {
            Message::Series(s) => r
                .series
                .entry((s.cid.clone(), u64::from(s.t_obs)))
                .or_default()
                .insert(s.tweets.len().to_string()),
            Message::Properties(PropertiesMsg::Size(z)) => r
                .sizes
                .entry((z.cid.clone(), z.t_obs.map_or(0, u64::from)))
                .or_default()
                .insert(z.n_tot.to_string()),
            _ => false,
        };
    }
    assert!(r.series.len() >= 50, "only {} series", r.series.len());
    let mut args = vec![
        "--data".to_owned(),
        data.display().to_string(),
        "--index".to_owned(),
        index.display().to_string(),
    ];
    args.extend(replay.iter().map(|s| s.to_string()));
    (r, args)
}

/// Compares what was read, per key, with the reference: keys it lacks are
/// invented, keys missing are lost, other values are changed.
fn compare(
    what: &str,
    got: &BTreeMap<Key, BTreeSet<String>>,
    want: &BTreeMap<Key, BTreeSet<String>>,
) {
    let invented: Vec<&Key> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let lost: Vec<&Key> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let changed: Vec<_> = got
        .iter()
        .filter(|(k, v)| want.get(*k).is_some_and(|w| w != *v))
        .map(|(k, v)| (k, v, &want[k]))
        .collect();
    assert!(invented.is_empty(), "invented {what}: {invented:?}");
    assert!(lost.is_empty(), "lost {what}: {lost:?}");
    assert!(
        changed.is_empty(),
        "{what} that differ (got, want): {changed:?}"
    );
}

/// Checks every series and size record, duplicates included, against
/// the uninterrupted collector: the same values per key, no other key.
fn check_series_and_sizes(d: &Deployment, want: &Reference) {
    let series_topic = d.topic(Topic::CascadeSeries);
    let series = read_topic(&d.brokers, &series_topic, Duration::from_secs(120), |r| {
        values(r, "serie", "n_obs") == want.series
    });
    let got = values(&series, "serie", "n_obs");
    println!(
        "series: {} records for {} keys ({} duplicates)",
        series.len(),
        got.len(),
        series.len() - got.values().map(BTreeSet::len).sum::<usize>()
    );
    compare("series", &got, &want.series);
    let props = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeProperties),
        Duration::from_secs(60),
        |r| values(r, "size", "n_tot") == want.sizes,
    );
    compare("sizes", &values(&props, "size", "n_tot"), &want.sizes);
}

/// Reads `models` whole: per window, in publishing order, each model must
/// have a newer version and at least as many samples as the one before (a
/// restarted learner replaying part of its samples must not supersede the
/// full model).
fn check_models_never_shrink(d: &Deployment) {
    let mut records = read_topic(
        &d.brokers,
        &d.topic(Topic::Models),
        Duration::from_secs(10),
        |_| false,
    );
    records.sort_by_key(|r| (r.partition, r.offset));
    let mut by_window: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
    for v in records.iter().map(Record::json) {
        let (Some(w), Some(version), Some(n)) = (
            v["T_obs"].as_u64(),
            v["version"].as_u64(),
            v["n_samples"].as_u64(),
        ) else {
            continue;
        };
        by_window.entry(w).or_default().push((version, n));
    }
    println!("models (version, samples) per window: {by_window:?}");
    assert!(!by_window.is_empty(), "no model published");
    for (w, models) in &by_window {
        for pair in models.windows(2) {
            let ((v0, n0), (v1, n1)) = (pair[0], pair[1]);
            assert!(
                v1 > v0 && n1 >= n0,
                "window {w}: model ({v1}, {n1} samples) published after ({v0}, {n0}): {models:?}"
            );
        }
    }
}

fn signal(p: &Proc, sig: &str) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), p.pid().to_string()])
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "kill -{sig} {} failed",
        p.label
    );
}

/// The chaos test of issue 7. Under a steady stream, with two replicas of
/// estimator, predictor and learner: every stage killed (-9) in turn, two
/// rounds; a predictor paused (SIGSTOP) past its session timeout, then
/// resumed; the whole pipeline stopped (SIGTERM, each must exit cleanly)
/// and restarted. Read back without the project's dedupe, every (cid,
/// T_obs) of an uninterrupted collector gets the same series and sizes
/// (duplicates included) and a stat; none other appears; no model is
/// superseded by one of fewer samples. Prints the duplicates and the time from the
/// restart to the last stat.
#[test]
#[ignore = "long (about 100 s): run by scripts/test-chaos.sh"]
fn the_pipeline_under_kills_a_pause_and_a_full_restart_loses_and_invents_nothing() {
    let d = Deployment::new("chaos");
    d.create_topics();
    let (expected, mut gen_args) = reference(&d, 300, 41);
    let keys: BTreeSet<&Key> = expected.series.keys().collect();
    // The set spans about 2.7e6 s of source time: about 80 s at x35,000,
    // long enough for every fault below to hit a running stream.
    gen_args.extend(["--speed".to_owned(), "35000".to_owned()]);
    let stages = [
        "collector",
        "estimator",
        "estimator",
        "predictor",
        "predictor",
        "learner",
        "learner",
    ];
    let spawn =
        |i: usize, round: &str| d.spawn(stages[i], &format!("{}-{i}-{round}", stages[i]), &[]);
    let mut procs: Vec<Proc> = (0..stages.len()).map(|i| spawn(i, "start")).collect();
    let gen_refs: Vec<&str> = gen_args.iter().map(String::as_str).collect();
    let mut g = d.spawn("generator", "generator", &gen_refs);
    let started = Instant::now();
    let first = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeSeries),
        Duration::from_secs(60),
        |r| r.len() >= 10,
    );
    assert!(first.len() >= 10, "no series: {}", procs[0].log_text());
    for round in 0..2 {
        for (i, p) in procs.iter_mut().enumerate() {
            p.kill();
            std::thread::sleep(Duration::from_millis(500));
            *p = spawn(i, &format!("kill{round}"));
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    println!("kills done at {:.0} s", started.elapsed().as_secs_f64());
    signal(&procs[3], "STOP");
    std::thread::sleep(Duration::from_secs(10)); // session timeout 6 s
    signal(&procs[3], "CONT");
    std::thread::sleep(Duration::from_secs(3));
    for p in &mut procs {
        let label = p.label.clone();
        assert!(
            p.terminate(Duration::from_secs(15)),
            "{label} did not stop cleanly on SIGTERM: {}",
            p.log_text()
        );
    }
    procs = (0..stages.len()).map(|i| spawn(i, "restart")).collect();
    let restarted = Instant::now();
    println!("restarted at {:.0} s", started.elapsed().as_secs_f64());
    assert!(
        g.wait(Duration::from_secs(240)),
        "generator failed: {}",
        g.log_text()
    );
    let stats = read_topic(
        &d.brokers,
        &d.topic(Topic::Stats),
        Duration::from_secs(300),
        |r| {
            values(r, "stat", "ARE")
                .keys()
                .collect::<BTreeSet<_>>()
                .is_superset(&keys)
        },
    );
    let recovered = restarted.elapsed().as_secs_f64();
    let by_key = values(&stats, "stat", "ARE");
    let lost: Vec<&&Key> = keys.iter().filter(|k| !by_key.contains_key(**k)).collect();
    let invented: Vec<&Key> = by_key
        .keys()
        .filter(|k| !expected.series.contains_key(*k))
        .collect();
    println!(
        "stats: {} records for {} keys ({} duplicates); last stat {recovered:.0} s after the restart",
        stats.len(),
        by_key.len(),
        stats.len() - by_key.len()
    );
    assert!(lost.is_empty(), "{} stats lost: {lost:?}", lost.len());
    assert!(invented.is_empty(), "invented stats: {invented:?}");
    check_series_and_sizes(&d, &expected);
    check_models_never_shrink(&d);
    for p in &mut procs {
        let label = p.label.clone();
        assert!(
            p.terminate(Duration::from_secs(15)),
            "{label} did not stop cleanly"
        );
    }
}

/// A stage started before its broker waits for it (a warning per attempt)
/// instead of exiting, and SIGTERM during the wait stops it cleanly.
/// The collector is killed twice while cascades are open; its successors
/// replay from the committed offsets. Every series and size record,
/// duplicates included, must be one an uninterrupted collector sends: no
/// other key, no other tweet count or size.
#[test]
fn a_collector_killed_twice_mid_stream_invents_and_loses_nothing() {
    let d = Deployment::new("chaoscoll");
    d.create_topics();
    let (expected, mut gen_args) = reference(&d, 300, 31);
    gen_args.extend(["--speed".to_owned(), "100000".to_owned()]);
    let mut c = d.spawn("collector", "collector-1", &[]);
    let gen_refs: Vec<&str> = gen_args.iter().map(String::as_str).collect();
    let mut g = d.spawn("generator", "generator", &gen_refs);
    let series_topic = d.topic(Topic::CascadeSeries);
    for (round, at_least) in [(2, 20), (3, 60)] {
        let seen = read_topic(&d.brokers, &series_topic, Duration::from_secs(90), |r| {
            r.len() >= at_least
        });
        assert!(
            seen.len() >= at_least,
            "the collector produced {} series: {}",
            seen.len(),
            c.log_text()
        );
        c.kill();
        std::thread::sleep(Duration::from_secs(1));
        c = d.spawn("collector", &format!("collector-{round}"), &[]);
    }
    assert!(
        g.wait(Duration::from_secs(180)),
        "generator failed: {}",
        g.log_text()
    );
    check_series_and_sizes(&d, &expected);
}
