//! Replicas in one consumer group split the windows, and a killed stage
//! (kill -9) loses nothing: its successor or survivor rebuilds the state by
//! replay from the committed, lagging offsets. Needs the broker of
//! scripts/test.sh (TWEETOSCOPE_TEST_BROKERS).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{
    Deployment, Key, Proc, Record, bin_dir, key_of, keys, read_topic, simulate, wait_split,
};

/// The generator over a fresh synthetic set; `speed` paces it.
fn generator(d: &Deployment, cascades: usize, seed: u64, speed: Option<&str>) -> Proc {
    let dir: PathBuf = bin_dir().join("e2e-data").join(&d.prefix);
    let (data, index) = simulate(&dir, cascades, seed);
    let (data, index, seed) = (
        data.display().to_string(),
        index.display().to_string(),
        seed.to_string(),
    );
    let mut args = vec![
        "--data",
        data.as_str(),
        "--index",
        index.as_str(),
        "--sources",
        "4",
        "--seed",
        seed.as_str(),
    ];
    if let Some(s) = speed {
        args.extend(["--speed", s]);
    }
    d.spawn("generator", "generator", &args)
}

/// The (cid, window) pairs that got a series: each must get its stat.
fn expected_stats(d: &Deployment) -> BTreeSet<Key> {
    // Sizes come last for a cascade; wait until the series topic is quiet.
    let series = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeSeries),
        Duration::from_secs(20),
        |_| false,
    );
    keys(&series, "serie")
}

fn wait_stats(d: &Deployment, expected: &BTreeSet<Key>, limit: Duration) -> Vec<Record> {
    read_topic(&d.brokers, &d.topic(Topic::Stats), limit, |r| {
        keys(r, "stat").is_superset(expected)
    })
}

/// Windows handled by each instance, from the `instance` header.
fn windows_by_instance(records: &[Record]) -> HashMap<u64, BTreeSet<String>> {
    let mut m: HashMap<u64, BTreeSet<String>> = HashMap::new();
    for r in records {
        if let (Some(w), Some(i)) = (r.json()["T_obs"].as_u64(), r.headers.get("instance")) {
            m.entry(w).or_default().insert(i.clone());
        }
    }
    m
}

#[test]
fn two_predictor_replicas_each_own_whole_windows_and_every_stat_appears_once() {
    let d = Deployment::new("predrep");
    d.create_topics();
    let _c = d.spawn("collector", "collector", &[]);
    let _e = d.spawn("estimator", "estimator", &[]);
    let p1 = d.spawn("predictor", "predictor-1", &[]);
    let p2 = d.spawn("predictor", "predictor-2", &[]);
    wait_split(&p1, &p2);
    let mut g = generator(&d, 150, 21, None);
    assert!(
        g.wait(Duration::from_secs(120)),
        "generator failed: {}",
        g.log_text()
    );
    let expected = expected_stats(&d);
    assert!(!expected.is_empty());
    let stats = wait_stats(&d, &expected, Duration::from_secs(120));
    assert!(keys(&stats, "stat").is_superset(&expected), "missing stats");
    let by_window = windows_by_instance(&stats);
    assert_eq!(by_window.len(), 2, "{by_window:?}");
    for (w, instances) in &by_window {
        assert_eq!(instances.len(), 1, "window {w} handled by {instances:?}");
    }
    let owners: BTreeSet<&String> = by_window.values().flatten().collect();
    assert_eq!(
        owners.len(),
        2,
        "one replica handled every window: {owners:?}"
    );
}

#[test]
fn two_estimator_replicas_share_the_series_and_fit_none_twice() {
    let d = Deployment::new("estrep");
    d.create_topics();
    let _c = d.spawn("collector", "collector", &[]);
    let e1 = d.spawn("estimator", "estimator-1", &[]);
    let e2 = d.spawn("estimator", "estimator-2", &[]);
    wait_split(&e1, &e2);
    let _p = d.spawn("predictor", "predictor", &[]);
    let mut g = generator(&d, 150, 22, None);
    assert!(
        g.wait(Duration::from_secs(120)),
        "generator failed: {}",
        g.log_text()
    );
    let expected = expected_stats(&d);
    let _ = wait_stats(&d, &expected, Duration::from_secs(120));
    let props = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeProperties),
        Duration::from_secs(5),
        |_| false,
    );
    let mut fits: BTreeMap<Key, usize> = BTreeMap::new();
    let params: Vec<Record> = props
        .into_iter()
        .filter(|r| r.json()["type"] == "parameters")
        .collect();
    for r in &params {
        if let Some(k) = key_of(&r.json()) {
            *fits.entry(k).or_default() += 1;
        }
    }
    let twice: Vec<_> = fits.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "fitted more than once: {twice:?}");
    assert_eq!(
        fits.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "a series was not fitted"
    );
    let owners: BTreeSet<String> = params
        .iter()
        .filter_map(|r| r.headers.get("instance").cloned())
        .collect();
    assert_eq!(owners.len(), 2, "one replica fitted everything: {owners:?}");
}

/// Waits for the generator to finish, then for every (cid, window) that got
/// a series to come out as a stat; fails naming the lost ones.
fn assert_no_stat_lost(d: &Deployment, g: &mut Proc) {
    assert!(
        g.wait(Duration::from_secs(180)),
        "generator failed: {}",
        g.log_text()
    );
    let expected = expected_stats(d);
    let stats = wait_stats(d, &expected, Duration::from_secs(180));
    let got = keys(&stats, "stat");
    let lost: Vec<_> = expected.difference(&got).collect();
    assert!(
        lost.is_empty(),
        "{} of {} cascades lost their stat: {lost:?}",
        lost.len(),
        expected.len()
    );
}

#[test]
fn a_collector_killed_mid_stream_and_restarted_loses_no_cascade() {
    let d = Deployment::new("collkill");
    d.create_topics();
    // The synthetic cascades run for weeks with long silences; with the
    // default 1-day late horizon a forgotten cascade reopens as a fragment
    // whose series depends on where the replay starts (see collector.rs,
    // "Restarts"). A horizon longer than the set keeps this test about the
    // transport: lagging commits and replay.
    let horizon = ["--late-horizon", "60d"];
    let mut c = d.spawn("collector", "collector-1", &horizon);
    let _e = d.spawn("estimator", "estimator", &[]);
    let _p = d.spawn("predictor", "predictor", &[]);
    let mut g = generator(&d, 300, 23, Some("150000"));
    // Let it run a while, with cascades open, then kill -9.
    let first = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeSeries),
        Duration::from_secs(60),
        |r| r.len() >= 20,
    );
    assert!(
        first.len() >= 20,
        "the collector produced nothing: {}",
        c.log_text()
    );
    c.kill();
    std::thread::sleep(Duration::from_secs(2));
    let _c2 = d.spawn("collector", "collector-2", &horizon);
    assert_no_stat_lost(&d, &mut g);
}

#[test]
fn a_predictor_replica_killed_hands_its_windows_to_the_survivor() {
    let d = Deployment::new("predkill");
    d.create_topics();
    let _c = d.spawn("collector", "collector", &[]);
    let _e = d.spawn("estimator", "estimator", &[]);
    let mut p1 = d.spawn("predictor", "predictor-1", &[]);
    let p2 = d.spawn("predictor", "predictor-2", &[]);
    wait_split(&p1, &p2);
    let mut g = generator(&d, 300, 24, Some("150000"));
    let early = read_topic(
        &d.brokers,
        &d.topic(Topic::Alerts),
        Duration::from_secs(60),
        |r| r.len() >= 20,
    );
    assert!(early.len() >= 20, "no alert before the kill");
    p1.kill();
    assert_no_stat_lost(&d, &mut g);
    assert!(
        p2.log_text().matches("partitions assigned").count() >= 2,
        "the survivor never took over"
    );
}
