//! The Kafka deployment computes what `tweetoscope eval` computes, and
//! malformed input on any topic is dead-lettered without changing it.
//! Needs the broker of scripts/test.sh (TWEETOSCOPE_TEST_BROKERS).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Injector, Record, bin_dir, eval, key_of, read_topic, simulate};

type Key = (String, u64);

fn unique_by_key(records: &[Record], kind: Option<&str>) -> BTreeMap<Key, serde_json::Value> {
    records
        .iter()
        .map(Record::json)
        .filter(|v| kind.is_none_or(|k| v["type"] == k))
        .filter_map(|v| Some((key_of(&v)?, v)))
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Runs collector, estimator, predictor (and `extra` stages) over the set,
/// checks alerts and parameters against eval; returns the deployment.
fn run_and_compare(d: &Deployment, cascades: usize, seed: u64, before: impl FnOnce(&Deployment)) {
    let dir: PathBuf = bin_dir().join("e2e-data").join(&d.prefix);
    let (data, index) = simulate(&dir, cascades, seed);
    let seed_s = seed.to_string();
    let replay = ["--sources", "3", "--seed", seed_s.as_str()];
    let mut eval_args = replay.to_vec();
    eval_args.push("--no-learner");
    let expected = eval(&dir, &data, &index, &eval_args);
    assert!(
        expected.len() >= 20,
        "too few predictions in eval: {}",
        expected.len()
    );
    let expected: BTreeMap<Key, serde_json::Value> = expected
        .into_iter()
        .filter_map(|v| Some((key_of(&v)?, v)))
        .collect();

    before(d);
    let _c = d.spawn("collector", "collector", &[]);
    let _e = d.spawn("estimator", "estimator", &[]);
    let _p = d.spawn("predictor", "predictor", &[]);
    let (data_s, index_s) = (data.display().to_string(), index.display().to_string());
    let mut gen_args = vec!["--data", data_s.as_str(), "--index", index_s.as_str()];
    gen_args.extend(replay);
    let mut g = d.spawn("generator", "generator", &gen_args);
    assert!(
        g.wait(Duration::from_secs(120)),
        "generator failed: {}",
        g.log_text()
    );

    let n = expected.len();
    let alerts = read_topic(
        &d.brokers,
        &d.topic(Topic::Alerts),
        Duration::from_secs(240),
        |r| unique_by_key(r, Some("alert")).len() >= n,
    );
    let alerts = unique_by_key(&alerts, Some("alert"));
    let got: HashSet<&Key> = alerts.keys().collect();
    let want: HashSet<&Key> = expected.keys().collect();
    assert_eq!(
        got,
        want,
        "different (cid, window) pairs: {} over Kafka, {} in eval",
        got.len(),
        want.len()
    );
    for (key, a) in &alerts {
        let e = &expected[key];
        let (kafka, evald) = (
            a["n_tot"].as_f64().unwrap_or(f64::NAN),
            e["n_pred"].as_f64().unwrap_or(f64::NAN),
        );
        assert!(
            close(kafka, evald),
            "{key:?}: alert n_tot {kafka} over Kafka, {evald} in eval"
        );
    }
    let props = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeProperties),
        Duration::from_secs(60),
        |r| unique_by_key(r, Some("parameters")).len() >= n,
    );
    let params = unique_by_key(&props, Some("parameters"));
    for (key, e) in &expected {
        let p = &params[key];
        for (i, name) in ["p", "beta"].into_iter().enumerate() {
            let (kafka, evald) = (
                p["params"][i].as_f64().unwrap_or(f64::NAN),
                e[name].as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                close(kafka, evald),
                "{key:?}: {name} {kafka} over Kafka, {evald} in eval"
            );
        }
        let (kafka, evald) = (
            p["n_star"].as_f64().unwrap_or(f64::NAN),
            e["n_star"].as_f64().unwrap_or(f64::NAN),
        );
        assert!(
            close(kafka, evald),
            "{key:?}: n_star {kafka} over Kafka, {evald} in eval"
        );
    }
}

#[test]
fn kafka_pipeline_predicts_what_eval_predicts() {
    let d = Deployment::new("eval");
    run_and_compare(&d, 150, 11, |_| {});
}

#[test]
fn malformed_messages_on_every_topic_are_dead_lettered_and_change_nothing() {
    let d = Deployment::new("dlq");
    let injected: Vec<(Topic, Option<i32>, &[u8])> = vec![
        (Topic::Tweets, None, b"not json"),
        (Topic::Tweets, None, br#"{"type":"tweet","msg":"","t":"soon","m":1,"source":1,"info":"cascade=1"}"#),
        (Topic::Tweets, None, br#"{"type":"retweet","source":1}"#),
        (Topic::Tweets, None, br#"{"type":"tweet","msg":"","t":5,"m":-3,"source":1,"info":"cascade=1"}"#),
        (Topic::CascadeSeries, Some(0), b"{"),
        (Topic::CascadeSeries, Some(0), br#"{"type":"serie","cid":"x","T_obs":600,"tweets":[[5,1],[1,1]]}"#),
        (Topic::CascadeProperties, Some(0), br#"{"type":"parameters","cid":"x","n_obs":3,"n_supp":1,"params":[-1,0.1],"n_star":0.1,"G1":1,"T_obs":600}"#),
        (Topic::CascadeProperties, Some(1), br#"{"type":"size","n_tot":5,"t_end":1,"T_obs":1200}"#),
        (Topic::Samples, Some(0), br#"{"type":"sample","cid":"1","T_obs":600,"X":[1],"W":"big"}"#),
        (Topic::Models, Some(0), br#"{"type":"model","T_obs":600}"#),
    ];
    // The bad model is dead-lettered by both its readers, the predictor
    // and the learner.
    let n_bad = injected.len() + 1;
    let inject = |d: &Deployment| {
        d.create_topics();
        let inj = Injector::new(&d.brokers).unwrap();
        for (topic, partition, payload) in &injected {
            let key = topic.is_window_keyed().then_some("600");
            inj.send(&d.topic(*topic), *partition, key, payload)
                .unwrap();
        }
        inj.flush().unwrap();
    };
    let _learner = d.spawn(
        "learner",
        "learner",
        &["--min-samples", "1000000", "--max-samples", "1000000"],
    );
    run_and_compare(&d, 150, 5, inject);
    let dead = read_topic(
        &d.brokers,
        &d.dead_letters(),
        Duration::from_secs(60),
        |r| r.len() >= n_bad,
    );
    assert_eq!(dead.len(), n_bad, "dead letters: {dead:#?}");
    for r in &dead {
        assert!(
            !r.headers.get("reason").is_none_or(String::is_empty),
            "no reason header: {r:?}"
        );
        assert!(
            r.headers.contains_key("offset") && r.headers.contains_key("stage"),
            "{r:?}"
        );
    }
    let topics: HashSet<&str> = dead
        .iter()
        .filter_map(|r| r.headers.get("topic").map(String::as_str))
        .collect();
    for t in [
        Topic::Tweets,
        Topic::CascadeSeries,
        Topic::CascadeProperties,
        Topic::Samples,
        Topic::Models,
    ] {
        assert!(
            topics.contains(d.topic(t).as_str()),
            "nothing dead-lettered from {t}"
        );
    }
}
