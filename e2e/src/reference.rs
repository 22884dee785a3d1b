//! What an uninterrupted run produces, and the checks that compare a
//! faulted run with it, record by record (duplicates included, no dedupe of
//! the project's): the chaos test (tests/chaos.rs) and the broker-fault
//! test (tests/cluster.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tweetoscope_core::collector::Collector;
use tweetoscope_core::config::{CollectorArgs, ReplayArgs};
use tweetoscope_core::data::Dataset;
use tweetoscope_core::generator::Replay;
use tweetoscope_core::schema::{Message, PropertiesMsg, Topic};
use tweetoscope_core::stage::{Ctx, Origin, Stage};

use crate::{Deployment, Key, Record, bin_dir, key_of, read_topic, simulate};

/// Every value of `field` seen per (cid, T_obs) on records of `kind`.
pub fn values(records: &[Record], kind: &str, field: &str) -> BTreeMap<Key, BTreeSet<String>> {
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
pub struct Reference {
    pub series: BTreeMap<Key, BTreeSet<String>>,
    pub sizes: BTreeMap<Key, BTreeSet<String>>,
}

/// A fresh synthetic set, what the in-process collector makes of the
/// generator's replay of it (the same code, options and seed as the
/// binaries), and the generator arguments that replay it.
pub fn reference(d: &Deployment, cascades: usize, seed: u64) -> (Reference, Vec<String>) {
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
    (r, generator_args(&data, &index, &replay))
}

/// The generator's arguments that replay the set at `data`/`index` with
/// the replay options `replay`.
pub fn generator_args(data: &Path, index: &Path, replay: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--data".to_owned(),
        data.display().to_string(),
        "--index".to_owned(),
        index.display().to_string(),
    ];
    args.extend(replay.iter().map(|s| s.to_string()));
    args
}

/// Compares what was read, per key, with the reference: keys it lacks are
/// invented, keys missing are lost, other values are changed.
pub fn compare(
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
pub fn check_series_and_sizes(d: &Deployment, want: &Reference) {
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

/// Reads `stats` until every (cid, T_obs) of the reference has one (at most
/// 300 s), then checks that none is lost and none invented; prints the
/// duplicates.
pub fn check_stats(d: &Deployment, expected: &Reference) {
    let keys: BTreeSet<&Key> = expected.series.keys().collect();
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
    let by_key = values(&stats, "stat", "ARE");
    let lost: Vec<&&Key> = keys.iter().filter(|k| !by_key.contains_key(**k)).collect();
    let invented: Vec<&Key> = by_key
        .keys()
        .filter(|k| !expected.series.contains_key(*k))
        .collect();
    println!(
        "stats: {} records for {} keys ({} duplicates)",
        stats.len(),
        by_key.len(),
        stats.len() - by_key.len()
    );
    assert!(lost.is_empty(), "{} stats lost: {lost:?}", lost.len());
    assert!(invented.is_empty(), "invented stats: {invented:?}");
}
