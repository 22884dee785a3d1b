//! Limits and starts operators meet, against the real broker: a stage
//! started before its broker, records too large for Kafka's defaults, a
//! cascade of 200,000 retweets in one window. Needs the broker of
//! scripts/test.sh (TWEETOSCOPE_TEST_BROKERS).

use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, bin, bin_dir, read_topic};

#[test]
fn a_stage_started_before_its_broker_waits_and_stops_cleanly_on_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"));
    let log = bin_dir()
        .join("e2e-logs")
        .join(format!("nobroker-{port}.log"));
    let _ = std::fs::create_dir_all(bin_dir().join("e2e-logs"));
    let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}"));
    let err = file.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(bin("estimator"))
        .args([
            "--brokers",
            &format!("127.0.0.1:{port}"),
            "--shutdown-grace",
            "5",
        ])
        .env("RUST_LOG", "info")
        .stdout(file)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the estimator: {e}"));
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    while text().matches("broker not reachable yet").count() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        text().matches("broker not reachable yet").count() >= 3,
        "no wait: {}",
        text()
    );
    assert!(
        child.try_wait().is_ok_and(|s| s.is_none()),
        "it exited: {}",
        text()
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stopped = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if stopped.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "no clean exit within 8 s of SIGTERM ({status:?}): {}",
        text()
    );
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

/// A cascade of 200,000 retweets inside one window: its series is over
/// Kafka's 1 MB default, and the collector, estimator and predictor still
/// carry it to an alert. Prints the series' size.
#[test]
fn a_cascade_of_200000_retweets_in_a_window_is_still_predicted() {
    let d = Deployment::new("chaoshuge");
    d.create_topics();
    let _c = d.spawn("collector", "collector", &[]);
    let _e = d.spawn("estimator", "estimator", &[]);
    let _p = d.spawn("predictor", "predictor", &[]);
    let p = producer(&d.brokers);
    let tweets = d.topic(Topic::Tweets);
    let n = 200_000;
    let mut payloads = Vec::with_capacity(n + 1);
    for k in 0..n {
        let (kind, t) = if k == 0 {
            ("tweet", 0.0)
        } else {
            ("retweet", 599.0 * k as f64 / n as f64)
        };
        payloads.push(format!(
            r#"{{"type":"{kind}","msg":"","t":{t},"m":{},"source":9,"info":"cascade=4242"}}"#,
            100 + k % 5000
        ));
    }
    payloads.push(r#"{"type":"end","source":9}"#.to_owned());
    for payload in &payloads {
        loop {
            let r: BaseRecord<'_, str, str> = BaseRecord::to(&tweets).key("9").payload(payload);
            match p.send(r) {
                Ok(()) => break,
                Err((e, _)) if e.to_string().contains("Queue full") => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((e, _)) => panic!("cannot inject: {e}"),
            }
        }
    }
    if let Err(e) = p.flush(Duration::from_secs(60)) {
        panic!("cannot flush: {e}");
    }
    let series = read_topic(
        &d.brokers,
        &d.topic(Topic::CascadeSeries),
        Duration::from_secs(120),
        |r| r.len() >= 2,
    );
    let sizes: Vec<(usize, usize)> = series
        .iter()
        .map(|r| {
            (
                r.payload.len(),
                r.json()["tweets"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    println!("series of 200,000 retweets: (bytes, tweets) {sizes:?}");
    assert!(
        sizes
            .iter()
            .any(|&(bytes, count)| count == n && bytes > 1_000_000),
        "{sizes:?}"
    );
    let alerts = read_topic(
        &d.brokers,
        &d.topic(Topic::Alerts),
        Duration::from_secs(120),
        |r| r.len() >= 2,
    );
    assert!(alerts.len() >= 2, "no alert for the huge cascade");
    assert!(
        alerts
            .iter()
            .all(|a| a.json()["n_tot"].as_f64().is_some_and(|v| v >= n as f64))
    );
}
