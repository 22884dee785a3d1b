//! Replacing a course stage: course-shaped records, written by a producer
//! of this test with librdkafka's default key-hash partitioner (no explicit
//! partition, as course producers do), are read by the Rust stages on the
//! broker, and no pair is lost. Needs the broker of scripts/test.sh
//! (TWEETOSCOPE_TEST_BROKERS).
//!
//! librdkafka hashes keys with CRC32: with 2 partitions both "600" and
//! "1200" land on partition 1 (and "None" too), so window 600 arrives on
//! the wrong partition; the tests check that, then that the stages route it
//! to its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{
    Deployment, Injector, Key, Record, bin_dir, key_of, keys, read_topic, simulate, wait_for_log,
    wait_split,
};

const WINDOWS: [u64; 2] = [600, 1200];

fn injected(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| r.headers.get("test").is_some_and(|v| v == "injected"))
        .collect()
}

/// Course parameters of cascade `i`, in the edition `i` selects: 2021 with
/// `msg: null`, 2021 with `msg: 0` and a numeric cid, 2020 (no n_star, no
/// G1), 2021 with `params: [p, beta, n_star, G1]` and neither field.
/// Returns the payload and the n_obs + n_supp its alert must predict.
fn course_parameters(i: u64, window: u64) -> (serde_json::Value, f64) {
    let n_obs = 10 + i % 7 + window / 600;
    let n_supp = 50.0 + i as f64;
    let p = 0.005 + 0.0002 * i as f64;
    let beta = 0.0003;
    let value = match i % 4 {
        0 => json!({"cid": i.to_string(), "msg": null, "n_obs": n_obs, "n_supp": n_supp,
                    "params": [p, beta], "n_star": p * 35.0, "G1": n_supp * (1.0 - p * 35.0),
                    "type": "parameters"}),
        1 => json!({"cid": i, "msg": 0, "n_obs": n_obs, "n_supp": n_supp,
                    "params": [p, beta], "n_star": p * 35.0, "G1": n_supp * (1.0 - p * 35.0),
                    "type": "parameters"}),
        2 => json!({"cid": i.to_string(), "msg": "", "n_obs": n_obs, "n_supp": n_supp,
                    "params": [p, beta], "type": "parameters"}),
        _ => json!({"cid": i.to_string(), "msg": "", "n_obs": n_obs, "n_supp": n_supp,
                    "params": [p, beta, p * 35.0, n_supp * (1.0 - p * 35.0)],
                    "type": "parameters"}),
    };
    (value, n_obs as f64 + n_supp)
}

#[test]
fn course_parameters_and_sizes_on_key_hash_partitions_all_meet_in_two_predictor_replicas() {
    let d = Deployment::new("compat-pred");
    d.create_topics();
    let p1 = d.spawn("predictor", "predictor-1", &[]);
    let p2 = d.spawn("predictor", "predictor-2", &[]);
    wait_split(&p1, &p2);

    let producer = Injector::new(&d.brokers).unwrap_or_else(|e| panic!("{e:#}"));
    let props = d.topic(Topic::CascadeProperties);
    let mut expected: BTreeSet<Key> = BTreeSet::new();
    let mut predicted: HashMap<Key, f64> = HashMap::new();
    for i in 0..40u64 {
        for w in WINDOWS {
            let (params, n_pred) = course_parameters(i, w);
            let size =
                json!({"type": "size", "cid": i.to_string(), "n_tot": 100 + i, "t_end": 5000});
            let key = w.to_string();
            // Either order: the predictor keeps the first half waiting.
            let (first, second) = if i % 2 == 0 {
                (params, size)
            } else {
                (size, params)
            };
            for v in [first, second] {
                producer
                    .send(&props, None, Some(&key), v.to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{e:#}"));
            }
            expected.insert((i.to_string(), w));
            predicted.insert((i.to_string(), w), n_pred);
        }
    }
    producer.flush().unwrap_or_else(|e| panic!("{e:#}"));

    let stats = read_topic(
        &d.brokers,
        &d.topic(Topic::Stats),
        Duration::from_secs(90),
        |r| keys(r, "stat").is_superset(&expected),
    );
    let got = keys(&stats, "stat");
    let lost: Vec<&Key> = expected.difference(&got).collect();
    assert!(
        lost.is_empty(),
        "{} of {} pairs never met: {lost:?}\n{}\n{}",
        lost.len(),
        expected.len(),
        p1.log_text(),
        p2.log_text()
    );

    // The test did exercise a wrong partition: the key hash misplaced some.
    let records = read_topic(&d.brokers, &props, Duration::from_secs(3), |_| false);
    let misplaced = injected(&records)
        .iter()
        .filter(|r| {
            let w: u64 = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default())
                .parse()
                .unwrap_or(0);
            let own = WINDOWS.iter().position(|&x| x == w).unwrap_or(0) as i32;
            r.partition != own
        })
        .count();
    assert!(
        misplaced > 0,
        "the key hash put every window on its own partition"
    );
    let warned = [&p1, &p2]
        .iter()
        .any(|p| p.log_text().contains("produced again to it"));
    assert!(warned, "no predictor reported the re-routing");

    // Each window was handled by one replica only, and both worked.
    let mut owners: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in &stats {
        if let (Some(w), Some(i)) = (r.json()["T_obs"].as_u64(), r.headers.get("instance")) {
            owners.entry(w).or_default().insert(i.clone());
        }
    }
    for (w, by) in &owners {
        assert_eq!(by.len(), 1, "window {w} handled by {by:?}");
    }
    let all: BTreeSet<&String> = owners.values().flatten().collect();
    assert_eq!(all.len(), 2, "one replica handled every window: {all:?}");

    // Alerts predict n_obs + n_supp (w = 1), 2020 and four-element
    // messages included.
    let alerts = read_topic(
        &d.brokers,
        &d.topic(Topic::Alerts),
        Duration::from_secs(30),
        |r| keys(r, "alert").is_superset(&expected),
    );
    for v in alerts.iter().map(Record::json) {
        let Some(k) = key_of(&v) else { continue };
        let want = predicted[&k];
        let n = v["n_tot"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (n - want).abs() < 1e-6 * want,
            "{k:?}: alert {n}, want {want}"
        );
    }

    // Samples fall back to the course features (the course parameters carry
    // no `features` map) rather than being lost.
    let samples = read_topic(
        &d.brokers,
        &d.topic(Topic::Samples),
        Duration::from_secs(30),
        |r| keys(r, "sample").is_superset(&expected),
    );
    assert!(
        keys(&samples, "sample").is_superset(&expected),
        "samples lost"
    );
    for v in samples.iter().map(Record::json) {
        assert_eq!(v["features"], json!(["beta", "n_star", "G1"]), "{v}");
    }
    let dead = read_topic(
        &d.brokers,
        &d.dead_letters(),
        Duration::from_secs(3),
        |_| false,
    );
    assert!(
        dead.is_empty(),
        "dead letters: {:?}",
        dead.iter().map(Record::json).collect::<Vec<_>>()
    );
}

#[test]
fn course_series_keyed_none_with_absolute_times_and_repeats_are_each_fitted_once() {
    let d = Deployment::new("compat-est");
    d.create_topics();
    let e = d.spawn("estimator", "estimator", &[]);
    assert!(
        wait_for_log(&e, "partitions assigned", 1, Duration::from_secs(40)),
        "{}",
        e.log_text()
    );
    let producer = Injector::new(&d.brokers).unwrap_or_else(|e| panic!("{e:#}"));
    let series = d.topic(Topic::CascadeSeries);
    let mut expected: BTreeSet<Key> = BTreeSet::new();
    let t0 = 1_600_000_000u64;
    for i in 0..10u64 {
        for w in WINDOWS {
            let mut tweets: Vec<(u64, u64)> = (0..20)
                .map(|k| (t0 + 37 * k * (1 + i % 3), 100 + k))
                .collect();
            // Past the window: dropped by the estimator.
            tweets.push((t0 + 3000 + w, 10));
            // A 2021 collector resends the series on every tweet.
            for _ in 0..3 {
                let v =
                    json!({"type": "serie", "cid": i, "msg": null, "T_obs": w, "tweets": tweets});
                producer
                    .send(&series, None, Some("None"), v.to_string().as_bytes())
                    .unwrap_or_else(|e| panic!("{e:#}"));
            }
            expected.insert((i.to_string(), w));
        }
    }
    producer.flush().unwrap_or_else(|e| panic!("{e:#}"));
    let props = d.topic(Topic::CascadeProperties);
    let fitted = |r: &[Record]| keys(r, "parameters").is_superset(&expected);
    let first = read_topic(&d.brokers, &props, Duration::from_secs(90), fitted);
    assert!(fitted(&first), "series not fitted:\n{}", e.log_text());
    // Let any second fit arrive, then count.
    let params: Vec<serde_json::Value> =
        read_topic(&d.brokers, &props, Duration::from_secs(5), |_| false)
            .iter()
            .map(Record::json)
            .filter(|v| v["type"] == "parameters")
            .collect();
    assert_eq!(
        params.len(),
        expected.len(),
        "each (cid, T_obs) fitted once"
    );
    // Window 600's series arrived on partition 1 ("None" hashes there) and
    // were produced again to partition 0, each once, not once per repeat.
    let copies = read_topic(&d.brokers, &series, Duration::from_secs(3), |_| false)
        .into_iter()
        .filter(|r| !r.headers.contains_key("test"))
        .map(|r| r.json())
        .collect::<Vec<_>>();
    assert_eq!(copies.len(), 10, "series produced again: {copies:?}");
    assert!(copies.iter().all(|v| v["T_obs"] == 600), "{copies:?}");
    for v in &params {
        let n_obs = v["n_obs"].as_u64().unwrap_or(0);
        let w = v["T_obs"].as_u64().unwrap_or(0);
        let within = (0..20u64)
            .filter(|k| {
                37 * k
                    * (1 + v["cid"]
                        .as_str()
                        .and_then(|c| c.parse::<u64>().ok())
                        .unwrap_or(0)
                        % 3)
                    < w
            })
            .count() as u64;
        assert_eq!(
            n_obs, within,
            "{v}: only the tweets before the window, times from the first"
        );
    }
}

#[test]
fn the_generator_course_mode_sends_tweet_ids_and_only_tweets() {
    let d = Deployment::new("compat-gen");
    let dir: PathBuf = bin_dir().join("e2e-data").join(&d.prefix);
    let (data, index) = simulate(&dir, 20, 5);
    let (data, index) = (data.display().to_string(), index.display().to_string());
    let mut g = d.spawn(
        "generator",
        "generator",
        &[
            "--data",
            &data,
            "--index",
            &index,
            "--format",
            "course-2021",
        ],
    );
    assert!(
        g.wait(Duration::from_secs(60)),
        "generator failed: {}",
        g.log_text()
    );
    let marker = "replay done";
    assert!(g.log_text().contains(marker), "{}", g.log_text());
    let records = read_topic(
        &d.brokers,
        &d.topic(Topic::Tweets),
        Duration::from_secs(5),
        |_| false,
    );
    assert!(!records.is_empty());
    for v in records.iter().map(Record::json) {
        assert!(v["type"] == "tweet" || v["type"] == "retweet", "{v}");
        let id = v["tweet_id"].as_u64();
        assert!(id.is_some(), "{v}");
        assert_eq!(
            v["info"],
            json!(format!("cascade={}", id.unwrap_or(0))),
            "{v}"
        );
    }
}

/// A course sample of cascade `i`: named as our predictor names its
/// fallback (`features`, `W`), or as a 2021 course predictor writes it
/// (no names, lowercase `w`).
fn course_sample(i: u64, named: bool) -> serde_json::Value {
    let x = [
        0.0003 + 1e-5 * i as f64,
        0.2 + 0.01 * i as f64,
        20.0 + i as f64,
    ];
    let w = 0.5 + 0.1 * i as f64;
    if named {
        json!({"type": "sample", "cid": i.to_string(), "X": x, "W": w,
               "features": ["beta", "n_star", "G1"], "n_obs": 10, "n_tot": 30})
    } else {
        json!({"type": "sample", "cid": i, "X": x, "w": w})
    }
}

#[test]
fn course_samples_train_a_course_model_or_are_refused_with_the_reason() {
    let d = Deployment::new("compat-learn");
    d.create_topics();
    let l = d.spawn("learner", "learner", &["--min-samples", "10"]);
    assert!(
        wait_for_log(&l, "partitions assigned", 1, Duration::from_secs(40)),
        "{}",
        l.log_text()
    );
    let producer = Injector::new(&d.brokers).unwrap_or_else(|e| panic!("{e:#}"));
    let samples = d.topic(Topic::Samples);
    for i in 0..12u64 {
        // Window 600: our predictor's fallback; 1200: a course predictor's.
        for (key, named) in [("600", true), ("1200", false)] {
            let v = course_sample(i, named);
            producer
                .send(&samples, None, Some(key), v.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
    }
    // Samples it cannot use: other features.
    for i in 0..3u64 {
        let v = json!({"type": "sample", "cid": format!("u{i}"), "X": [1.0, 2.0],
                       "W": 1.0, "features": ["p", "q"]});
        producer
            .send(&samples, None, Some("600"), v.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
    producer.flush().unwrap_or_else(|e| panic!("{e:#}"));

    let models = read_topic(
        &d.brokers,
        &d.topic(Topic::Models),
        Duration::from_secs(90),
        |r| !r.is_empty(),
    );
    let [model] = models.as_slice() else {
        panic!("models: {models:?}\n{}", l.log_text())
    };
    let m = model.json();
    assert_eq!(m["T_obs"], 600, "{m}");
    assert_eq!(m["features"], json!(["beta", "n_star", "G1"]), "{m}");
    assert_eq!(m["target"], "log_w", "{m}");
    assert_eq!(
        m["n_samples"], 10,
        "the first model comes at --min-samples: {m}"
    );

    let dead = read_topic(
        &d.brokers,
        &d.dead_letters(),
        Duration::from_secs(30),
        |r| r.len() >= 3,
    );
    assert_eq!(dead.len(), 3, "{dead:?}");
    for r in &dead {
        let reason = r.headers.get("reason").cloned().unwrap_or_default();
        assert!(reason.contains("neither this learner's"), "{reason}");
    }
    // Window 1200 came from a course predictor: no model for it, said once.
    assert!(
        wait_for_log(
            &l,
            "samples from a course predictor",
            1,
            Duration::from_secs(20)
        ),
        "{}",
        l.log_text()
    );
    let log = l.log_text();
    assert_eq!(log.matches("sample refused").count(), 1, "{log}");
    assert_eq!(
        log.matches("samples from a course predictor").count(),
        1,
        "{log}"
    );
    let models = read_topic(
        &d.brokers,
        &d.topic(Topic::Models),
        Duration::from_secs(3),
        |_| false,
    );
    assert_eq!(models.len(), 1, "a model for a course predictor's window");
}
