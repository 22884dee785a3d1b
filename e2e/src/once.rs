//! The exactly-once checks (issue 22): every record of each output topic
//! read back by an independent `read_committed` reader, with no dedupe of
//! the project's, each (cid, T_obs) counted: once per topic, with the
//! content of an uninterrupted run ([`crate::reference`]). Used by
//! tests/exactly_once.rs and by the chaos test in exactly-once mode.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tweetoscope_core::schema::Topic;

use crate::reference::{Reference, compare, values};
use crate::{Deployment, Key, Record, key_of, read_topic};

/// Records per (cid, T_obs) of `kind` in `records`.
pub fn counts(records: &[Record], kind: &str) -> BTreeMap<Key, usize> {
    let mut by_key = BTreeMap::new();
    for v in records
        .iter()
        .map(Record::json)
        .filter(|v| v["type"] == kind)
    {
        if let Some(key) = key_of(&v) {
            *by_key.entry(key).or_insert(0) += 1;
        }
    }
    by_key
}

/// Asserts that every key of `kind` came once and that the keys are a
/// subset of (or, with `all`, equal to) the reference's.
pub fn once(what: &str, records: &[Record], kind: &str, want: &BTreeSet<&Key>, all: bool) -> usize {
    let by_key = counts(records, kind);
    let repeated: Vec<(&Key, &usize)> = by_key.iter().filter(|(_, n)| **n > 1).collect();
    let invented: Vec<&Key> = by_key.keys().filter(|k| !want.contains(k)).collect();
    println!(
        "{what}: {} records of {} keys, {} repeated",
        by_key.values().sum::<usize>(),
        by_key.len(),
        repeated.len()
    );
    assert!(repeated.is_empty(), "{what} repeated: {repeated:?}");
    assert!(invented.is_empty(), "invented {what}: {invented:?}");
    if all {
        let lost: Vec<&&Key> = want.iter().filter(|k| !by_key.contains_key(**k)).collect();
        assert!(lost.is_empty(), "{} {what} lost: {lost:?}", lost.len());
    }
    by_key.len()
}

/// Reads `topic` whole once `at_least` records of `kind` arrived (or 120 s).
pub fn read_whole(d: &Deployment, topic: Topic, kind: &str, at_least: usize) -> Vec<Record> {
    read_topic(&d.brokers, &d.topic(topic), Duration::from_secs(120), |r| {
        counts(r, kind).values().sum::<usize>() >= at_least
    })
}

/// Counts every output topic: series and sizes once per key with the
/// reference's values, parameters, alerts and samples at most once per
/// key, a stat once for every key.
pub fn check_exactly_once(d: &Deployment, want: &Reference) {
    let keys: BTreeSet<&Key> = want.series.keys().collect();
    // Stats come last: once each key has one, the pipeline is done.
    let stats = read_topic(
        &d.brokers,
        &d.topic(Topic::Stats),
        Duration::from_secs(300),
        |r| counts(r, "stat").len() >= keys.len(),
    );
    // Anything still in flight (a duplicate) lands meanwhile.
    std::thread::sleep(Duration::from_secs(3));
    let stats = read_whole(d, Topic::Stats, "stat", stats.len());
    once("stats", &stats, "stat", &keys, true);
    let series = read_whole(d, Topic::CascadeSeries, "serie", keys.len());
    once("series", &series, "serie", &keys, true);
    compare("series", &values(&series, "serie", "n_obs"), &want.series);
    let props = read_whole(d, Topic::CascadeProperties, "size", want.sizes.len());
    let size_keys: BTreeSet<&Key> = want.sizes.keys().collect();
    once("sizes", &props, "size", &size_keys, true);
    compare("sizes", &values(&props, "size", "n_tot"), &want.sizes);
    once("parameters", &props, "parameters", &keys, false);
    let alerts = read_whole(d, Topic::Alerts, "alert", 1);
    assert!(
        once("alerts", &alerts, "alert", &keys, false) > 0,
        "no alert"
    );
    let samples = read_whole(d, Topic::Samples, "sample", 1);
    assert!(
        once("samples", &samples, "sample", &keys, false) > 0,
        "no sample"
    );
}
