//! A course stage's consumer reads every topic the Rust stages produce:
//! kafka-python 2.0.2 (the course repositories' client) WITHOUT the
//! optional `lz4`, `python-snappy` and `zstandard` packages, run by
//! `e2e/python/course_consumer.py`. `scripts/course-venv.sh` installs it
//! under `target/course-venv` (scripts/test.sh runs it and sets
//! `TWEETOSCOPE_COURSE_PYTHON`). Needs the broker of scripts/test.sh.
//!
//! The Rust producers compress with gzip by default (`--compression`):
//! kafka-python decompresses it with the standard library's zlib, while an
//! lz4 record kills it on its first poll (checked here too, so the test
//! can fail).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tweetoscope_core::schema::Topic;
use tweetoscope_e2e::{Deployment, Proc, bin_dir, read_topic, simulate};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| Path::new("."))
}

/// The course venv's python: `TWEETOSCOPE_COURSE_PYTHON`, else the one
/// scripts/course-venv.sh makes.
fn course_python() -> PathBuf {
    if let Ok(p) = std::env::var("TWEETOSCOPE_COURSE_PYTHON")
        && !p.trim().is_empty()
    {
        return p.into();
    }
    let venv = root().join("target/course-venv/bin/python");
    assert!(
        venv.exists(),
        "kafka-python without lz4 is needed: run `bash scripts/course-venv.sh` \
         (scripts/test.sh does) or set TWEETOSCOPE_COURSE_PYTHON"
    );
    venv
}

/// Runs the course consumer over `topics`: its JSON report, or its error.
fn course_read(brokers: &str, topics: &[String]) -> Result<serde_json::Value, String> {
    let out = Command::new(course_python())
        .arg(root().join("e2e/python/course_consumer.py"))
        .arg(brokers)
        .args(topics)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the course consumer: {e}"));
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn stop(procs: &mut [Proc]) {
    for p in procs {
        assert!(
            p.terminate(Duration::from_secs(30)),
            "{} did not stop cleanly: {}",
            p.label,
            p.log_text()
        );
    }
}

#[test]
fn kafka_python_without_lz4_reads_every_topic_the_rust_stages_produce() {
    let d = Deployment::new("course-read");
    d.create_topics();
    let dir: PathBuf = bin_dir().join("e2e-data").join(&d.prefix);
    let (data, index) = simulate(&dir, 60, 11);
    let (data, index) = (data.display().to_string(), index.display().to_string());
    let mut procs = vec![
        d.spawn("collector", "collector", &[]),
        d.spawn("estimator", "estimator", &[]),
        d.spawn("predictor", "predictor", &[]),
        d.spawn("learner", "learner", &["--min-samples", "10"]),
    ];
    let mut g = d.spawn(
        "generator",
        "generator",
        &["--data", &data, "--index", &index],
    );
    assert!(
        g.wait(Duration::from_secs(120)),
        "generator failed: {}",
        g.log_text()
    );
    let models = read_topic(
        &d.brokers,
        &d.topic(Topic::Models),
        Duration::from_secs(300),
        |r| !r.is_empty(),
    );
    let logs: String = procs.iter().map(Proc::log_text).collect();
    assert!(!models.is_empty(), "no model published:\n{logs}");
    // Everything produced, nothing in flight: the counts are final.
    stop(&mut procs);

    let names: Vec<String> = Topic::ALL.iter().map(|&t| d.topic(t)).collect();
    let report = course_read(&d.brokers, &names)
        .unwrap_or_else(|e| panic!("the course consumer failed:\n{e}"));
    for (&topic, name) in Topic::ALL.iter().zip(&names) {
        let theirs = &report[name];
        // rdkafka's count of the same topic: read until it has as many
        // (a loaded machine reads slowly).
        let want = theirs["records"].as_u64().unwrap_or(0) as usize;
        let ours = read_topic(&d.brokers, name, Duration::from_secs(60), |r| {
            r.len() >= want
        })
        .len();
        assert_eq!(
            theirs["records"].as_u64(),
            Some(ours as u64),
            "{topic}: kafka-python read {theirs}, rdkafka {ours} records"
        );
        assert_eq!(theirs["not_json"], 0, "{topic}: {theirs}");
        if topic != Topic::Logs {
            assert!(ours > 0, "{topic}: nothing produced");
        }
    }
    // A course learner reads `W` (2020, 2021) or `w` (one 2021 repository).
    let fields = &report[&d.topic(Topic::Samples)]["fields"];
    for f in ["X", "W", "w", "cid"] {
        assert!(
            fields.as_array().is_some_and(|a| a.contains(&f.into())),
            "samples lack {f}: {fields}"
        );
    }
}

#[test]
fn kafka_python_without_lz4_cannot_read_lz4_records() {
    let d = Deployment::new("course-lz4");
    d.create_topics();
    let topic = d.topic(Topic::Alerts);
    // librdkafka sends a batch uncompressed when compressing does not
    // shrink it (one small record): a batch of many is compressed.
    let producer: rdkafka::producer::BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &d.brokers)
        .set("compression.type", "lz4")
        .set("linger.ms", "200")
        .create()
        .unwrap_or_else(|e| panic!("producer: {e}"));
    for i in 0..500 {
        let value = format!(r#"{{"type":"alert","cid":"{i}","msg":"","T_obs":600,"n_tot":12}}"#);
        producer
            .send(rdkafka::producer::BaseRecord::<str, str>::to(&topic).payload(&value))
            .unwrap_or_else(|(e, _)| panic!("send: {e}"));
    }
    rdkafka::producer::Producer::flush(&producer, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let err = course_read(&d.brokers, &[topic]).expect_err("kafka-python read lz4 without lz4");
    assert!(err.contains("UnsupportedCodecError"), "{err}");
}
