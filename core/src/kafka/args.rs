//! The Kafka options every binary shares (clap derive; every flag also
//! reads a `TWEETOSCOPE_*` environment variable).
//!
//! Topic names are configurable per role so that several deployments (or
//! tests) share a cluster; the defaults are SPEC §1's names.

use clap::Args;
use rdkafka::ClientConfig;

pub use super::compression::Compression;
pub use super::telemetry_args::TelemetryArgs;
pub use super::topic_names::TopicNames;
pub use super::transaction_args::{Delivery, DeliveryArgs};
use crate::config::{Windows, parse_seconds, redact};
use crate::schema::Topic;
pub use crate::telemetry::logs::LogFormat;

/// Largest record the stages produce (librdkafka's `message.max.bytes`)
/// and accept on the topics they create (`max.message.bytes`): a cascade of
/// 200,000 retweets in a window makes a series of 3.4 MB (measured).
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// `key=value`, as given to `-X`.
#[derive(Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
}

/// Redacted: a secret's value never reaches a Debug dump.
impl std::fmt::Debug for Property {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Property")
            .field("key", &self.key)
            .field("value", &redact::value(&self.key, &self.value))
            .finish()
    }
}

impl std::str::FromStr for Property {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        // The text is not echoed: a mistyped secret (`sasl.password:x`)
        // must not be printed back.
        let (k, v) = s.split_once('=').ok_or_else(|| {
            "a property without `=`: give key=value (e.g. security.protocol=SASL_SSL)".to_owned()
        })?;
        let key = k.trim();
        if key.is_empty() {
            return Err("a property with an empty key: give key=value".into());
        }
        Ok(Property {
            key: key.to_owned(),
            value: v.to_owned(),
        })
    }
}

/// A stage's default `fetch.wait.max.ms` (`-X fetch.wait.max.ms=N`
/// overrides it). 50 ms for most: lower, Tansu answered catch-up reads (a
/// restarted stage replaying its lag) with almost nothing (2026-12-02, 20
/// ms: 5k records/s, 50 ms: 50k records/s). The estimator and predictor
/// carry the alert's path on sparse inputs, where a broker that polls its
/// storage during a fetch wait (Tansu sleeps half the time left between
/// looks) adds up to half the wait per hop: 20 ms for them.
pub fn fetch_wait_ms(stage: &str) -> u32 {
    match stage {
        "estimator" | "predictor" => 20,
        _ => 50,
    }
}

/// The observation windows, for the binaries whose stage options do not
/// already carry them: window-keyed topics are partitioned by their index
/// in this list, so every stage must be given the same list.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// Observation windows, in seconds or as durations (same list for every stage).
    #[arg(long, env = "TWEETOSCOPE_WINDOWS", default_value = "600,1200")]
    pub windows: Windows,
}

/// Broker, group, topics, partitions and client properties.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Bootstrap brokers, host:port[,host:port...].
    #[arg(long, env = "TWEETOSCOPE_BROKERS", default_value = "localhost:9092")]
    pub brokers: String,
    /// Consumer group id (default: the stage's name). Replicas share one.
    #[arg(long, env = "TWEETOSCOPE_GROUP_ID")]
    pub group_id: Option<String>,
    #[command(flatten)]
    pub topics: TopicNames,
    /// Partitions of the window-keyed topics created when missing
    /// (cascade_series, cascade_properties, samples, models). Default: one
    /// per window, so each window can have its own replica.
    #[arg(long, env = "TWEETOSCOPE_PARTITIONS")]
    pub partitions: Option<i32>,
    /// Partitions of the tweets topic created when missing.
    #[arg(long, env = "TWEETOSCOPE_TWEETS_PARTITIONS", default_value_t = 4)]
    pub tweets_partitions: i32,
    /// Replication factor of the topics created when missing.
    #[arg(long, env = "TWEETOSCOPE_REPLICATION", default_value_t = 1)]
    pub replication: i32,
    /// A librdkafka property passed to every client, e.g.
    /// -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN. Repeatable;
    /// in the environment, separate them with `;`.
    #[arg(
        short = 'X',
        long = "kafka-property",
        env = "TWEETOSCOPE_KAFKA_PROPERTIES",
        value_delimiter = ';'
    )]
    pub properties: Vec<Property>,
    /// How produced records are compressed. gzip: every Kafka client reads
    /// it without optional packages (kafka-python, the course's client,
    /// needs the `lz4` package for lz4). lz4 costs less CPU where every
    /// consumer is a Rust stage (or librdkafka, or Java).
    #[arg(long, env = "TWEETOSCOPE_COMPRESSION", value_enum, default_value_t = Compression::Gzip)]
    pub compression: Compression,
    /// Where undecodable or refused messages go, with the reason in a
    /// header. Empty: they are only counted and logged.
    #[arg(
        long,
        env = "TWEETOSCOPE_DEAD_LETTER_TOPIC",
        default_value = "dead_letters"
    )]
    pub dead_letter_topic: String,
    /// Consumer session timeout: how long a dead replica keeps its
    /// partitions before the group hands them over.
    #[arg(long, env = "TWEETOSCOPE_SESSION_TIMEOUT", value_parser = parse_seconds, default_value = "10")]
    pub session_timeout: f64,
    /// On SIGTERM/SIGINT, the longest the stage takes to flush and commit.
    #[arg(long, env = "TWEETOSCOPE_SHUTDOWN_GRACE", value_parser = parse_seconds, default_value = "10")]
    pub shutdown_grace: f64,
    /// Most messages handled between two commits.
    #[arg(long, env = "TWEETOSCOPE_BATCH", default_value_t = 5000)]
    pub batch: usize,
    /// Longest wait for a batch to fill before it is handled and committed.
    #[arg(long, env = "TWEETOSCOPE_BATCH_WAIT", value_parser = parse_seconds, default_value = "0.05")]
    pub batch_wait: f64,
    /// Longest time between two commits while outputs are in flight: a
    /// batch that closes with every output delivered commits at once;
    /// otherwise the stage goes on reading and commits at a later batch,
    /// waiting for the deliveries only once this much time has passed.
    #[arg(long, env = "TWEETOSCOPE_COMMIT_INTERVAL", value_parser = parse_seconds, default_value = "1")]
    pub commit_interval: f64,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Check the configuration and exit without connecting: print every
    /// problem at once (exit 1), or the effective configuration with
    /// secrets redacted (exit 0). No environment variable: a deployment
    /// must never be left unable to start by one.
    #[arg(long)]
    pub check: bool,
    /// Not a flag: set by a binary that reads every input partition itself
    /// (the logger), without a group and without commits.
    #[arg(skip)]
    pub assign: Option<super::assign::Start>,
}

impl KafkaArgs {
    /// Every problem with these options, not just the first.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.brokers.trim().is_empty() {
            p.push("--brokers is empty".into());
        }
        if self
            .group_id
            .as_deref()
            .is_some_and(|g| g.trim().is_empty())
        {
            p.push("--group-id is empty".into());
        }
        let mut names: Vec<&str> = Topic::ALL.iter().map(|t| self.topics.name(*t)).collect();
        if !self.dead_letter_topic.is_empty() {
            names.push(&self.dead_letter_topic);
        }
        for name in &names {
            if let Err(e) = check_topic_name(name) {
                p.push(e);
            }
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            p.push("two topic roles have the same name".into());
        }
        if self.partitions.is_some_and(|n| n < 1) || self.tweets_partitions < 1 {
            p.push("--partitions and --tweets-partitions must be >= 1".into());
        }
        if self.replication < 1 {
            p.push("--replication must be >= 1".into());
        }
        if !(1.0..=300.0).contains(&self.session_timeout) {
            p.push(format!(
                "--session-timeout {} s must be within [1 s, 300 s]",
                self.session_timeout
            ));
        }
        if !(self.shutdown_grace > 0.0 && self.shutdown_grace <= 600.0) {
            p.push("--shutdown-grace must be within (0, 600 s]".into());
        }
        if self.batch == 0 || self.batch_wait <= 0.0 || self.batch_wait > 10.0 {
            p.push("--batch must be >= 1 and --batch-wait within (0, 10 s]".into());
        }
        p.extend(self.telemetry.problems());
        p.extend(self.delivery.problems());
        for prop in &self.properties {
            if let Err(e) = ClientConfig::new()
                .set(&prop.key, &prop.value)
                .create_native_config()
            {
                let shown = redact::value(&prop.key, &prop.value);
                let mut why = e.to_string();
                if shown != prop.value && !prop.value.is_empty() {
                    why = why.replace(&prop.value, shown);
                }
                p.push(format!("-X {}={shown}: {why}", prop.key));
            }
        }
        p
    }

    /// Partitions of a window-keyed topic for `windows`.
    pub fn window_partitions(&self, windows: &[crate::schema::Window]) -> i32 {
        self.partitions
            .unwrap_or_else(|| i32::try_from(windows.len().max(1)).unwrap_or(i32::MAX))
    }

    pub fn group(&self, stage: &str) -> String {
        self.group_id
            .clone()
            .unwrap_or_else(|| format!("tweetoscope-{stage}"))
    }

    /// A client config with the brokers and every `-X` property.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for p in &self.properties {
            c.set(&p.key, &p.value);
        }
        c
    }

    /// The producer's config: records up to
    /// [`MAX_RECORD_BYTES`], compressed by `--compression`
    /// (JSON series shrink several times, and the broker checks the
    /// compressed size).
    /// Idempotent writes are not required for at-least-once (duplicates are
    /// deduplicated downstream) and not every Kafka-protocol broker
    /// implements them, so they are left to `-X`, except in the generator.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        // Tansu's cost is per request: at 1 ms the producers sent tiny
        // batches (bench-kafka 2026-12-04: 102,000 tweets/s, broker 2.6 CPU
        // s per million tweets; 5 ms: 128,000 and 1.7; 10 and 25 ms no
        // better). A record waits at most 5 ms more before it is sent.
        c.set("linger.ms", "5")
            .set("queue.buffering.max.messages", "1000000")
            .set("message.timeout.ms", "60000")
            .set("message.max.bytes", MAX_RECORD_BYTES.to_string());
        self.compression.apply(&mut c);
        merge(&mut c, &self.client_config());
        c
    }

    /// A group consumer's config: manual commits, from the start of a topic
    /// new to the group, range assignment so that partition i of every input
    /// topic lands on the same replica (a window's properties and models).
    pub fn consumer_config(&self, group: &str, fetch_wait_ms: u32) -> ClientConfig {
        let session_ms = (self.session_timeout * 1000.0).round() as u64;
        let mut c = ClientConfig::new();
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", "range")
            .set("session.timeout.ms", session_ms.to_string())
            .set(
                "heartbeat.interval.ms",
                (session_ms / 3).max(100).to_string(),
            )
            .set("enable.partition.eof", "false")
            // Records of aborted or open transactions are never handed to
            // a stage, in either delivery mode: a producer without
            // transactions (the course's, the generator) is read as before.
            .set("isolation.level", "read_committed")
            // A fetch returns within this when there is nothing new (the
            // default 500 ms adds up on every hop of a quiet stream): see
            // `fetch_wait_ms` for each stage's.
            .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
            // Prefetch bound: a stage lagging its input otherwise holds up
            // to 100,000 records per partition (librdkafka's default
            // queued.min.messages, 64 MiB) fetched ahead, so its peak RSS
            // grew with the run's length (bench-kafka 2026-12-04: collector
            // 110 MiB on the short runs, 157 MiB on the 10 times longer
            // one). 10,000 records (a fraction of a second of work at the
            // stage's rate) per partition, at most 1 MiB: a fetch is still
            // many batches; the cost is more fetch requests while lagging.
            // 1 MiB rather than 8 (2026-12-05, three long runs each): the
            // collector's peak 57 to 63 MiB instead of 147 to 155, with
            // throughput no lower (150k to 185k tweets/s vs 146k to 164k).
            // With the queue that full, librdkafka postpones the next fetch
            // by fetch.queue.backoff.ms (default 1 s, a stall once the
            // stage drains its queue): 10 ms, as its documentation advises
            // for low thresholds.
            .set("queued.min.messages", "10000")
            .set("queued.max.messages.kbytes", "1024")
            .set("fetch.queue.backoff.ms", "10")
            // Consumer lag per partition, for the metrics (Context::stats).
            .set("statistics.interval.ms", "5000");
        merge(&mut c, &self.client_config());
        c
    }
}

/// Copies `from` over `to`: user properties win over our defaults.
fn merge(to: &mut ClientConfig, from: &ClientConfig) {
    for (k, v) in from.config_map() {
        to.set(k, v);
    }
}

/// Kafka's rule: 1 to 249 characters of [a-zA-Z0-9._-].
fn check_topic_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid topic name ([a-zA-Z0-9._-], 1 to 249 characters)"
        ))
    }
}

/// A command of the Kafka options alone, for the tests of this folder.
#[cfg(test)]
#[derive(Debug, clap::Parser)]
pub(crate) struct TestCli {
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use super::TestCli as Cli;

    #[test]
    fn every_problem_of_a_bad_config_is_reported() {
        let cli = Cli::parse_from([
            "x",
            "--brokers",
            "",
            "--topic-alerts",
            "stats",
            "--partitions",
            "0",
            "--session-timeout",
            "0.1",
            "-X",
            "no.such.property=1",
        ]);
        let problems = cli.kafka.problems();
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }

    #[test]
    fn properties_are_key_value_and_override_defaults() {
        let cli = Cli::parse_from(["x", "-X", "linger.ms=50", "-X", "client.id=a=b"]);
        assert!(cli.kafka.problems().is_empty());
        let c = cli.kafka.producer_config();
        assert_eq!(c.get("linger.ms"), Some("50"));
        assert_eq!(c.get("client.id"), Some("a=b"));
        assert!("novalue".parse::<Property>().is_err());
    }

    #[test]
    fn producers_compress_with_gzip_unless_told_otherwise() {
        let codec = |argv: &[&str]| {
            let c = Cli::parse_from(argv).kafka.producer_config();
            c.get("compression.type").map(str::to_owned)
        };
        assert_eq!(codec(&["x"]).as_deref(), Some("gzip"));
        let level = |argv: &[&str]| {
            let c = Cli::parse_from(argv).kafka.producer_config();
            c.get("compression.level").map(str::to_owned)
        };
        assert_eq!(level(&["x"]).as_deref(), Some("1"));
        assert_eq!(
            level(&["x", "-X", "compression.level=6"]).as_deref(),
            Some("6")
        );
        assert_eq!(level(&["x", "--compression", "lz4"]), None);
        assert_eq!(
            codec(&["x", "--compression", "lz4"]).as_deref(),
            Some("lz4")
        );
        assert_eq!(
            codec(&["x", "--compression", "lz4", "-X", "compression.type=none"]).as_deref(),
            Some("none"),
            "-X wins"
        );
        assert!(Cli::try_parse_from(["x", "--compression", "brotli"]).is_err());
    }

    #[test]
    fn the_alert_path_fetches_with_a_shorter_wait_unless_told_otherwise() {
        let cli = Cli::parse_from(["x"]);
        let wait = |stage| {
            let c = cli.kafka.consumer_config("g", fetch_wait_ms(stage));
            c.get("fetch.wait.max.ms").map(str::to_owned)
        };
        assert_eq!(wait("estimator").as_deref(), Some("20"));
        assert_eq!(wait("predictor").as_deref(), Some("20"));
        assert_eq!(wait("collector").as_deref(), Some("50"));
        assert_eq!(wait("learner").as_deref(), Some("50"));
        let cli = Cli::parse_from(["x", "-X", "fetch.wait.max.ms=5"]);
        let c = cli.kafka.consumer_config("g", fetch_wait_ms("estimator"));
        assert_eq!(c.get("fetch.wait.max.ms"), Some("5"));
    }

    #[test]
    fn topic_roles_are_found_by_name() {
        let cli = Cli::parse_from(["x", "--topic-tweets", "t1"]);
        assert_eq!(cli.kafka.topics.role("t1"), Some(Topic::Tweets));
        assert_eq!(cli.kafka.topics.role("tweets"), None);
        assert_eq!(cli.kafka.window_partitions(&[600, 1200]), 2);
    }
}
