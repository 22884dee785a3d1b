//! Helpers of the integration tests (`tests/`) and of the Kafka benchmark:
//! spawning the stage binaries against a real broker, injecting records,
//! reading topics whole.
//!
//! The broker is the one `scripts/test.sh` starts (Tansu), or the Apache
//! Kafka cluster of `scripts/test-kafka.sh` and `scripts/test-kafka-cluster.sh`
//! (`scripts/kafka.sh`), exported as `TWEETOSCOPE_TEST_BROKERS`. Each test
//! uses its own topic names and group ids, so tests share the broker without
//! seeing each other.
//!
//! - [`reference`]: what an uninterrupted run produces, and the checks of a
//!   faulted run against it.
//! - [`probe`]: a stage's HTTP endpoints (/metrics, /readyz).
//! - [`once`]: the exactly-once counts of every output topic.

pub mod once;
pub mod probe;
pub mod reference;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use tweetoscope_core::schema::Topic;

/// The broker of the tests. Panics with how to get one: the integration
/// tests must never pass by skipping.
pub fn brokers() -> String {
    match std::env::var("TWEETOSCOPE_TEST_BROKERS") {
        Ok(b) if !b.trim().is_empty() => b,
        _ => panic!(
            "TWEETOSCOPE_TEST_BROKERS is not set: these tests need a Kafka broker. \
             Run them with `bash scripts/test.sh`, which starts one (Tansu) and sets it."
        ),
    }
}

/// `target/<profile>/`, where cargo put the binaries next to the tests.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// A binary built from this workspace.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins` with this profile; scripts/test.sh does)",
        path.display()
    );
    path
}

/// A unique-enough prefix for this test's topics and groups.
pub fn unique(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{test}-{}-{nanos}", std::process::id())
}

/// The topic names and options of one test deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub prefix: String,
    pub brokers: String,
    pub windows: String,
    pub logs: PathBuf,
    /// More options for every binary (and the topic creation), e.g.
    /// `--replication 3` or `-X acks=all` on a cluster.
    pub extra: Vec<String>,
}

impl Deployment {
    pub fn new(test: &str) -> Self {
        let prefix = unique(test);
        let logs = bin_dir().join("e2e-logs");
        let _ = std::fs::create_dir_all(&logs);
        Self {
            prefix,
            brokers: brokers(),
            windows: "600,1200".into(),
            logs,
            extra: Vec::new(),
        }
    }

    pub fn topic(&self, t: Topic) -> String {
        format!("{}.{}", self.prefix, t.default_name())
    }

    pub fn dead_letters(&self) -> String {
        format!("{}.dead_letters", self.prefix)
    }

    /// The Kafka options every binary of this deployment gets.
    pub fn kafka_args(&self, group: &str) -> Vec<String> {
        let mut a = vec![
            "--brokers".into(),
            self.brokers.clone(),
            "--group-id".into(),
            format!("{}.{group}", self.prefix),
            "--dead-letter-topic".into(),
            self.dead_letters(),
            "--session-timeout".into(),
            "6".into(),
            "--shutdown-grace".into(),
            "5".into(),
            "--metrics-addr".into(),
            "127.0.0.1:0".into(),
        ];
        for t in Topic::ALL {
            a.push(format!("--topic-{}", t.default_name().replace('_', "-")));
            a.push(self.topic(t));
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Creates every topic of the deployment, as `tweetoscope topics create`.
    pub fn create_topics(&self) {
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(flatten)]
            kafka: tweetoscope_core::kafka::KafkaArgs,
        }
        let mut argv = vec!["e2e".to_owned()];
        argv.extend(self.kafka_args("create"));
        let cli = <Cli as clap::Parser>::parse_from(argv);
        let windows: Vec<u32> = self
            .windows
            .split(',')
            .filter_map(|w| w.parse().ok())
            .collect();
        let specs = tweetoscope_core::kafka::topics::specs(&cli.kafka, &windows, &Topic::ALL);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio: {e}"));
        if let Err(e) = rt.block_on(tweetoscope_core::kafka::topics::ensure(&cli.kafka, &specs)) {
            panic!("cannot create the topics: {e}");
        }
    }

    /// Spawns a stage binary; `label` names its log file.
    pub fn spawn(&self, binary: &str, label: &str, extra: &[&str]) -> Proc {
        self.spawn_in_group(binary, binary, label, extra)
    }

    /// Spawns a stage binary in consumer group `group` (of this
    /// deployment), e.g. a second, independent dashboard.
    pub fn spawn_in_group(&self, binary: &str, group: &str, label: &str, extra: &[&str]) -> Proc {
        self.spawn_full(binary, group, label, extra, &[])
    }

    /// As [`Deployment::spawn`], with more environment variables.
    pub fn spawn_with_env(
        &self,
        binary: &str,
        label: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        self.spawn_full(binary, binary, label, extra, env)
    }

    fn spawn_full(
        &self,
        binary: &str,
        group: &str,
        label: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        let mut args = self.kafka_args(group);
        if binary != "generator" && binary != "logger" && binary != "collector" {
            args.extend(["--windows".into(), self.windows.clone()]);
        }
        if binary == "collector" {
            args.extend(["--windows".into(), self.windows.clone()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = self.logs.join(format!("{}.{label}.log", self.prefix));
        let file =
            File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = file
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone a file handle: {e}"));
        let child = Command::new(bin(binary))
            .args(&args)
            .env(
                "RUST_LOG",
                std::env::var("E2E_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        Proc {
            child: Some(child),
            label: label.to_owned(),
            log,
        }
    }
}

/// A spawned process, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Option<Child>,
    pub label: String,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to `grace` for a clean exit; returns whether
    /// it exited successfully in time.
    pub fn terminate(&mut self, grace: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits for the process to exit by itself; its success.
    pub fn wait(&mut self, limit: Duration) -> bool {
        let Some(c) = self.child.as_mut() else {
            return false;
        };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                self.child = None;
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: HashMap<String, String>,
    pub timestamp_ms: Option<i64>,
}

impl Record {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// Reads `topic` from the beginning (no group) until `done(records)` or
/// `limit`; returns what was read.
pub fn read_topic(
    brokers: &str,
    topic: &str,
    limit: Duration,
    done: impl Fn(&[Record]) -> bool,
) -> Vec<Record> {
    let consumer: BaseConsumer = match ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        // Committed records only, as the stages read (records of an open
        // or aborted transaction of an exactly-once stage are not outputs).
        .set("isolation.level", "read_committed")
        .create()
    {
        Ok(c) => c,
        Err(e) => panic!("cannot create a reader: {e}"),
    };
    let deadline = Instant::now() + limit;
    let mut records = Vec::new();
    let mut assigned = 0;
    while Instant::now() < deadline {
        // Topics appear when the stages create them; partitions are read
        // as soon as they exist.
        if let Ok(md) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            let n = md.topics().first().map_or(0, |t| t.partitions().len());
            if n > assigned {
                let mut tpl = TopicPartitionList::new();
                for p in 0..n {
                    let _ = tpl.add_partition_offset(topic, p as i32, Offset::Beginning);
                }
                if consumer.assign(&tpl).is_ok() {
                    assigned = n;
                    records.clear();
                }
            }
        }
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                {
                    let headers = m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| {
                                    (
                                        h.key.to_owned(),
                                        String::from_utf8_lossy(h.value.unwrap_or_default())
                                            .into_owned(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    records.push(Record {
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        payload: m.payload().unwrap_or_default().to_vec(),
                        headers,
                        timestamp_ms: m.timestamp().to_millis(),
                    });
                }
            }
        }
        if assigned > 0 && done(&records) {
            break;
        }
    }
    records
}

/// A producer for injecting records.
pub struct Injector {
    producer: ThreadedProducer<DefaultProducerContext>,
}

impl std::fmt::Debug for Injector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Injector")
    }
}

impl Injector {
    pub fn new(brokers: &str) -> anyhow::Result<Self> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .create()
            .context("producer")?;
        Ok(Self { producer })
    }

    pub fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&str>,
        payload: &[u8],
    ) -> anyhow::Result<()> {
        let mut r: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).payload(payload);
        if let Some(k) = key {
            r = r.key(k);
        }
        if let Some(p) = partition {
            r = r.partition(p);
        }
        r = r.headers(OwnedHeaders::new().insert(Header {
            key: "test",
            value: Some("injected"),
        }));
        if let Err((e, _)) = self.producer.send(r) {
            bail!("cannot enqueue to {topic}: {e}");
        }
        Ok(())
    }

    pub fn flush(&self) -> anyhow::Result<()> {
        self.producer
            .flush(Duration::from_secs(10))
            .context("flush")
    }
}

/// Writes a synthetic set with `tweetoscope simulate`; its data and index.
pub fn simulate(dir: &Path, cascades: usize, seed: u64) -> (PathBuf, PathBuf) {
    let _ = std::fs::create_dir_all(dir);
    let out = dir.join("set");
    let status = Command::new(bin("tweetoscope"))
        .args([
            "simulate",
            "--cascades",
            &cascades.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run tweetoscope simulate: {e}"));
    assert!(status.success(), "tweetoscope simulate failed");
    (dir.join("set-data.csv"), dir.join("set-index.csv"))
}

/// Runs `tweetoscope eval` with `args` and returns
/// its prediction lines.
pub fn eval(dir: &Path, data: &Path, index: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = dir.join("eval.jsonl");
    let status = Command::new(bin("tweetoscope"))
        .arg("eval")
        .arg("--data")
        .arg(data)
        .arg("--index")
        .arg(index)
        .arg("--out")
        .arg(&out)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run tweetoscope eval: {e}"));
    assert!(status.success(), "tweetoscope eval failed");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// (cid, T_obs) of a JSON message.
pub fn key_of(v: &serde_json::Value) -> Option<(String, u64)> {
    let cid = match &v["cid"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((cid, v["T_obs"].as_u64()?))
}

/// Waits until `log` contains `needle` `count` times.
pub fn wait_for_log(p: &Proc, needle: &str, count: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if p.log_text().matches(needle).count() >= count {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A (cid, T_obs) key, as the checks of the tests count them.
pub type Key = (String, u64);

/// The distinct keys of the records of `kind` (`"stat"`, `"alert"`...).
pub fn keys(records: &[Record], kind: &str) -> std::collections::BTreeSet<Key> {
    records
        .iter()
        .map(Record::json)
        .filter(|v| v["type"] == kind)
        .filter_map(|v| key_of(&v))
        .collect()
}

/// Waits until two replicas of a group hold their partitions, then past the
/// rebalance that the second member's join causes.
pub fn wait_split(a: &Proc, b: &Proc) {
    let settled = |p: &Proc| wait_for_log(p, "partitions assigned", 1, Duration::from_secs(40));
    assert!(
        settled(a) && settled(b),
        "replicas did not join: {}\n{}",
        a.log_text(),
        b.log_text()
    );
    // A rebalance with the second member follows the first assignment.
    std::thread::sleep(Duration::from_secs(8));
}

/// A local port nobody listens on (for a moment).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free local port: {e}"))
}

/// The status and body of `GET path` on a local port, or None while
/// nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_owned()))
}

/// The port of a stage's /metrics, from the address it logs at start.
pub fn metrics_port(p: &Proc) -> u16 {
    assert!(
        wait_for_log(p, "serving /metrics", 1, Duration::from_secs(60)),
        "{} never served /metrics: {}",
        p.label,
        p.log_text()
    );
    let text = p.log_text();
    let addr = text
        .lines()
        .filter(|l| l.contains("serving /metrics"))
        .flat_map(str::split_whitespace)
        .find_map(|w| w.strip_prefix("addr="))
        .unwrap_or_else(|| panic!("no addr= in {text}"));
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {addr}"))
}
