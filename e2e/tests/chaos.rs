//! Faults operators meet (issue 7), against the real broker: a collector
//! killed (kill -9) twice mid-stream, and records too large for Kafka's
//! defaults. The checks read the topics directly, with no dedupe of the
//! project's: every record counts. Needs the broker of scripts/test.sh
//! (TWEETOSCOPE_TEST_BROKERS); run by scripts/test-chaos.sh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Record, bin_dir, eval, key_of, read_topic, simulate};

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

/// The collector is killed twice while cascades are open; its successors
/// replay from the committed offsets. Every series must be the one an
/// uninterrupted run (`eval`) cuts, duplicates included: no key eval does
/// not have, no other tweet count; and every size record of a key agrees.
#[test]
fn a_collector_killed_twice_mid_stream_invents_and_loses_nothing() {
    let d = Deployment::new("chaoscoll");
    d.create_topics();
    let dir: PathBuf = bin_dir().join("e2e-data").join(&d.prefix);
    let (data, index) = simulate(&dir, 300, 31);
    let replay = ["--sources", "4", "--seed", "31"];
    let mut eval_args = replay.to_vec();
    eval_args.push("--no-learner");
    let expected: BTreeMap<Key, String> = eval(&dir, &data, &index, &eval_args)
        .into_iter()
        .filter_map(|v| Some((key_of(&v)?, v["n_obs"].to_string())))
        .collect();
    assert!(expected.len() >= 50, "eval made {} series", expected.len());

    let mut c = d.spawn("collector", "collector-1", &[]);
    let (data_s, index_s) = (data.display().to_string(), index.display().to_string());
    let mut args = vec!["--data", data_s.as_str(), "--index", index_s.as_str()];
    args.extend(replay);
    args.extend(["--speed", "100000"]);
    let mut g = d.spawn("generator", "generator", &args);
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
    let series = read_topic(&d.brokers, &series_topic, Duration::from_secs(180), |r| {
        values(r, "serie", "n_obs").len() >= expected.len()
    });
    let got = values(&series, "serie", "n_obs");
    let invented: Vec<&Key> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    let lost: Vec<&Key> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let changed: Vec<(&Key, &BTreeSet<String>, &String)> = got
        .iter()
        .filter_map(|(k, v)| {
            let e = expected.get(k)?;
            (v.len() != 1 || !v.contains(e)).then_some((k, v, e))
        })
        .collect();
    let duplicates = series.len() - got.len();
    println!(
        "{} series records for {} keys: {duplicates} duplicates",
        series.len(),
        got.len()
    );
    assert!(invented.is_empty(), "invented series: {invented:?}");
    assert!(lost.is_empty(), "lost series: {lost:?}");
    assert!(
        changed.is_empty(),
        "series with other tweet counts than eval: {changed:?}"
    );
    let props = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeProperties),
        Duration::from_secs(30),
        |r| values(r, "size", "n_tot").len() >= expected.len(),
    );
    let sizes = values(&props, "size", "n_tot");
    assert_eq!(sizes.len(), expected.len(), "a size per series");
    let conflicting: Vec<_> = sizes.iter().filter(|(_, v)| v.len() != 1).collect();
    assert!(conflicting.is_empty(), "sizes that differ: {conflicting:?}");
}

fn producer(brokers: &str) -> ThreadedProducer<DefaultProducerContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap_or_else(|e| panic!("cannot create a producer: {e}"))
}

/// A 2 MB record that is not JSON is dead-lettered (a truncated copy),
/// and a valid tweet with a 2 MB text goes through as a series: neither
/// stops the collector.
#[test]
fn records_over_a_megabyte_are_dead_lettered_or_delivered_never_fatal() {
    let d = Deployment::new("chaosbig");
    d.create_topics();
    let mut c = d.spawn("collector", "collector", &["--min-cascade-size", "2"]);
    let p = producer(&d.brokers);
    let tweets = d.topic(Topic::Tweets);
    let junk = vec![b'x'; 2_000_000];
    let big_msg = "y".repeat(2_000_000);
    let mut payloads = vec![junk];
    for (t, kind) in [(0, "tweet"), (10, "retweet"), (20, "retweet")] {
        payloads.push(
            format!(
                r#"{{"type":"{kind}","msg":"{big_msg}","t":{t},"m":5,"source":1,"info":"cascade=77"}}"#
            )
            .into_bytes(),
        );
    }
    payloads.push(br#"{"type":"end","source":1}"#.to_vec());
    for payload in &payloads {
        let r: BaseRecord<'_, str, [u8]> = BaseRecord::to(&tweets).key("1").payload(payload);
        if let Err((e, _)) = p.send(r) {
            panic!("cannot inject: {e}");
        }
    }
    if let Err(e) = p.flush(Duration::from_secs(30)) {
        panic!("cannot flush: {e}");
    }
    let dead = read_topic(
        &d.brokers,
        &d.dead_letters(),
        Duration::from_secs(60),
        |r| !r.is_empty(),
    );
    assert_eq!(dead.len(), 1, "{}", c.log_text());
    assert!(dead[0].payload.len() <= 64 * 1024);
    assert_eq!(
        dead[0].headers.get("truncated-from").map(String::as_str),
        Some("2000000")
    );
    let series = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeSeries),
        Duration::from_secs(60),
        |r| r.len() >= 2,
    );
    assert_eq!(series.len(), 2, "{}", c.log_text());
    assert!(series.iter().all(|r| r.payload.len() > 2_000_000));
    assert!(
        c.terminate(Duration::from_secs(20)),
        "the collector did not run on and stop cleanly: {}",
        c.log_text()
    );
}
