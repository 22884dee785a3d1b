//! The operator's commands against a real broker: `status` (members, lag
//! split into unread and held, models, dead letters) and `reset` (refused
//! while the group runs; earliest, latest, by time once stopped), through
//! the library functions the `tweetoscope` subcommands wrap.
//! Needs the broker of scripts/test.sh (TWEETOSCOPE_TEST_BROKERS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use clap::Parser;
use tweetoscope_core::kafka::KafkaArgs;
use tweetoscope_core::kafka::ops::reset::{self, To};
use tweetoscope_core::kafka::ops::status::{self, GroupStatus, Status};
use tweetoscope_core::model::{Correction, ForestConfig, Target};
use tweetoscope_core::schema::{Message, Topic};
use tweetoscope_e2e::{Deployment, Injector, http_get, metrics_port};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    kafka: KafkaArgs,
}

fn kafka_args(d: &Deployment) -> KafkaArgs {
    let mut argv = vec!["ops".to_owned()];
    argv.extend(d.kafka_args("ops"));
    Cli::parse_from(argv).kafka
}

fn pattern(d: &Deployment) -> String {
    format!("{}.{{stage}}", d.prefix)
}

fn group<'s>(s: &'s Status, stage: &str) -> &'s GroupStatus {
    s.groups
        .iter()
        .find(|g| g.stage == stage)
        .unwrap_or_else(|| panic!("no {stage} group in {s:?}"))
}

/// Polls the status until `done` holds or `limit` passes; the last one.
/// A failed read is tried again until then: on a fresh Apache Kafka the
/// first group's coordinator is not available while `__consumer_offsets`
/// is being created.
fn status_until(d: &Deployment, limit: Duration, done: impl Fn(&Status) -> bool) -> Status {
    let args = kafka_args(d);
    let deadline = Instant::now() + limit;
    loop {
        match status::collect(&args, &pattern(d)) {
            Ok(s) if done(&s) || Instant::now() > deadline => return s,
            Err(e) if Instant::now() > deadline => panic!("status: {e}"),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A small trained model of `window`, as the learner would publish it.
fn model(window: u32) -> Vec<u8> {
    let xs: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i) / 40.0]).collect();
    let ys: Vec<f64> = xs.iter().map(|x| x[0] * 2.0).collect();
    let features = vec!["n_star".to_owned()];
    let forest = ForestConfig::default();
    let c = Correction::train(window, 7, features, Target::LogGrowth, &xs, &ys, &forest).unwrap();
    Message::Model(c.to_msg()).encode()
}

#[test]
fn status_shows_members_lag_split_into_unread_and_held_models_and_dead_letters() {
    let d = Deployment::new("status");
    d.create_topics();
    let injector = Injector::new(&d.brokers).unwrap();
    injector
        .send(&d.topic(Topic::Models), Some(0), Some("600"), &model(600))
        .unwrap();
    // Undecodable: the collector dead-letters it.
    injector
        .send(&d.topic(Topic::Tweets), None, Some("1"), b"{not json")
        .unwrap();
    injector.flush().unwrap();
    let collector = d.spawn("collector", "collector", &[]);
    let metrics = metrics_port(&collector);
    // Paced, so that cascades stay open (held) while the status is read.
    let _generator = d.spawn(
        "generator",
        "generator",
        &["--cascades", "400", "--seed", "3", "--speed", "20000"],
    );
    // In the process: librdkafka's statistics split the lag, and the
    // collector's open cascades are held.
    let deadline = Instant::now() + Duration::from_secs(120);
    let held = loop {
        let held = gauge_sum(metrics, "tweetoscope_collector_consumer_held_records");
        if held > 0 || Instant::now() > deadline {
            break held;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(held > 0, "open cascades are held: {}", collector.log_text());
    assert!(
        gauge_sum(metrics, "tweetoscope_collector_consumer_unread_records") >= 0,
        "the unread gauge is served"
    );
    // From outside: members, commits, the dead letter.
    let s = status_until(&d, Duration::from_secs(120), |s| {
        let c = group(s, "collector");
        c.members.members.len() == 1
            && c.partitions.iter().any(|p| p.committed.is_some())
            && s.dead_letters
                .as_ref()
                .is_some_and(|dl| dl.last_hour == Some(1))
    });
    let c = group(&s, "collector");
    assert_eq!(c.members.members.len(), 1, "{c:?}");
    for p in &c.partitions {
        let Some(committed) = p.committed else {
            assert_eq!((p.behind, p.lag), (None, None), "{p:?}");
            continue;
        };
        assert_eq!(p.behind, Some(p.high - committed), "{p:?}");
        // Apache Kafka gives the commit's metadata back: the consumed
        // position the stage wrote lies between the commit and the end,
        // and splits what is behind. Tansu 0.6 answers with an empty
        // string: nothing to split at.
        match (p.consumed, p.lag) {
            (Some(consumed), Some(lag)) => {
                assert!(committed <= consumed && consumed <= p.high, "{p:?}");
                assert_eq!(lag.held, consumed - committed, "{p:?}");
                assert_eq!(lag.unread + lag.held, p.high - committed, "{p:?}");
            }
            (None, None) => {}
            _ => panic!("a consumed position and a split go together: {p:?}"),
        }
    }
    assert_eq!(c.behind, c.unread + c.held + c.unsplit, "{c:?}");
    let table = status::render(&s);
    match s.commit_metadata {
        Some(true) => assert_eq!(c.unsplit, 0, "{c:?}"),
        Some(false) => {
            assert_eq!((c.unread, c.held), (0, 0), "{c:?}");
            assert!(table.contains(status::NO_METADATA), "{table}");
        }
        None => panic!("the collector committed: {s:?}"),
    }
    eprintln!("commit metadata returned: {:?}\n{table}", s.commit_metadata);
    assert!(group(&s, "estimator").members.members.is_empty());
    assert_eq!(s.models.len(), 1, "{:?}", s.models);
    assert_eq!((s.models[0].window, s.models[0].version), (600, 7));
    assert!(s.models[0].age_seconds.is_some_and(|a| a < 600.0));
    let dl = s.dead_letters.as_ref().unwrap();
    assert_eq!((dl.last_hour, dl.kept), (Some(1), 1), "{dl:?}");

    let json = serde_json::to_value(&s).unwrap();
    assert!(json["groups"][0]["partitions"].is_array(), "{json}");
    assert!(
        table.contains("collector") && table.contains("behind"),
        "{table}"
    );
    drop(collector);
}

#[test]
fn reset_is_refused_while_the_group_runs_and_moves_it_once_stopped() {
    let d = Deployment::new("reset");
    d.create_topics();
    let injector = Injector::new(&d.brokers).unwrap();
    for i in 0..20u32 {
        let key = i.to_string();
        injector
            .send(&d.topic(Topic::Tweets), None, Some(&key), b"{not json")
            .unwrap();
        // One record per batch: Tansu's ListOffsets counts batches.
        injector.flush().unwrap();
    }
    let group_id = format!("{}.collector", d.prefix);
    let tweets = d.topic(Topic::Tweets);
    let args = kafka_args(&d);
    let mut collector = d.spawn("collector", "collector", &[]);
    // Every garbage record dead-lettered and committed past.
    let caught_up = |s: &Status| {
        let c = group(s, "collector");
        c.members.members.len() == 1 && c.partitions.iter().all(|p| p.committed == Some(p.high))
    };
    let s = status_until(&d, Duration::from_secs(90), caught_up);
    assert!(caught_up(&s), "{:?}", group(&s, "collector"));
    let refused = reset::plan(&args, &group_id, &[&tweets], To::Earliest).unwrap_err();
    assert!(
        refused.to_string().contains("stop its consumers first"),
        "{refused}"
    );

    assert!(
        collector.terminate(Duration::from_secs(20)),
        "{}",
        collector.log_text()
    );
    let stopped = status_until(&d, Duration::from_secs(30), |s| {
        group(s, "collector").members.members.is_empty()
    });
    assert!(group(&stopped, "collector").members.members.is_empty());

    let committed = |to: To| {
        let moves = reset::plan(&args, &group_id, &[&tweets], to).unwrap();
        reset::apply(&args, &group_id, &moves).unwrap();
        let s = status::collect(&args, &pattern(&d)).unwrap();
        group(&s, "collector")
            .partitions
            .iter()
            .map(|p| (p.committed, p.low, p.high))
            .collect::<Vec<_>>()
    };
    for (c, low, _) in committed(To::Earliest) {
        assert_eq!(c, Some(low));
    }
    for (c, _, high) in committed(To::Latest) {
        assert_eq!(c, Some(high));
    }
    for (c, low, _) in committed(To::Time(0)) {
        assert_eq!(c, Some(low), "every record is after 1970");
    }
    let tomorrow = To::Time(i64::try_from(now_ms()).unwrap() + 86_400_000);
    for (c, _, high) in committed(tomorrow) {
        assert_eq!(c, Some(high), "no record is from tomorrow");
    }
}

/// The sum of a gauge's series on a stage's /metrics.
fn gauge_sum(port: u16, name: &str) -> i64 {
    let Some((200, body)) = http_get(port, "/metrics") else {
        return -1;
    };
    body.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as i64
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}
