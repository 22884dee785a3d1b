//! Topics created when missing, with the configured partitions.
//!
//! Window-keyed topics get one partition per window by default (each window
//! can then have its own replica); `models` is compacted, keeping the last
//! model of each window. Every topic takes records up to 17 MiB
//! (`max.message.bytes`; Kafka's default is 1 MB), so that a cascade of
//! 200,000 retweets in a window still goes through. A broker that refuses the compaction setting (some
//! Kafka-protocol brokers ignore topic configs) still gets the topic, with a
//! warning: the predictor reads the whole models topic at start and keeps the
//! newest version per window, so compaction only bounds its size.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::args::KafkaArgs;
use crate::schema::{Topic, Window};

const TIMEOUT: Duration = Duration::from_secs(15);
/// One attempt to reach the broker at start: short, so that SIGTERM during
/// the wait is answered within it.
const PROBE: Duration = Duration::from_secs(2);

/// `max.message.bytes` of the topics the stages create: the largest
/// record the producer sends plus room for the batch around it.
const MAX_MESSAGE_BYTES: usize = super::args::MAX_RECORD_BYTES + 1024 * 1024;

/// A topic as this deployment wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub compact: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TopicsError {
    #[error("cannot create the admin client: {0}")]
    Client(#[source] KafkaError),
    #[error("cannot read the cluster metadata from {brokers}: {source}")]
    Metadata {
        brokers: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot create topic {name}: {code}")]
    Create {
        name: String,
        code: RDKafkaErrorCode,
    },
    #[error("the create-topics request failed: {0}")]
    Request(#[source] KafkaError),
}

/// The specs of `roles` (plus the dead-letter topic when configured).
pub fn specs(args: &KafkaArgs, windows: &[Window], roles: &[Topic]) -> Vec<TopicSpec> {
    let mut v: Vec<TopicSpec> = roles
        .iter()
        .map(|&t| TopicSpec {
            name: args.topics.name(t).to_owned(),
            partitions: match t {
                Topic::Tweets => args.tweets_partitions,
                t if t.is_window_keyed() => args.window_partitions(windows),
                _ => 1,
            },
            compact: t == Topic::Models,
        })
        .collect();
    if !args.dead_letter_topic.is_empty() {
        v.push(TopicSpec {
            name: args.dead_letter_topic.clone(),
            partitions: 1,
            compact: false,
        });
    }
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v.dedup_by(|a, b| a.name == b.name);
    v
}

/// Creates the missing topics of `specs`; returns every topic's actual
/// partition count (an existing topic keeps its own, with a warning when it
/// differs from the spec).
pub async fn ensure(
    args: &KafkaArgs,
    specs: &[TopicSpec],
) -> Result<HashMap<String, i32>, TopicsError> {
    let admin: AdminClient<DefaultClientContext> =
        args.client_config().create().map_err(TopicsError::Client)?;
    let existing = wait_for_cluster(&admin, &args.brokers).await;
    let missing: Vec<&TopicSpec> = specs
        .iter()
        .filter(|s| !existing.contains_key(&s.name))
        .collect();
    for spec in specs {
        if let Some(&n) = existing.get(&spec.name)
            && n != spec.partitions
        {
            tracing::warn!(topic = %spec.name, existing = n, configured = spec.partitions, "topic exists with another partition count; using it");
        }
    }
    if !missing.is_empty() {
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let max_bytes = MAX_MESSAGE_BYTES.to_string();
        fn new<'a>(s: &'a TopicSpec, replication: i32, config: Option<&'a str>) -> NewTopic<'a> {
            let t = NewTopic::new(&s.name, s.partitions, TopicReplication::Fixed(replication));
            match (config, s.compact) {
                (None, _) => t,
                (Some(max_bytes), false) => t.set("max.message.bytes", max_bytes),
                (Some(max_bytes), true) => t
                    .set("max.message.bytes", max_bytes)
                    .set("cleanup.policy", "compact"),
            }
        }
        let new_topics: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|s| new(s, args.replication, Some(&max_bytes)))
            .collect();
        let results = admin
            .create_topics(&new_topics, &opts)
            .await
            .map_err(TopicsError::Request)?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, "topic created"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) if missing.iter().any(|s| s.name == name) => {
                    tracing::warn!(topic = %name, %code, "broker refused the topic's configs (max.message.bytes, cleanup.policy); creating it with the broker's defaults");
                    let Some(spec) = missing.iter().find(|s| s.name == name) else {
                        continue;
                    };
                    let plain = [new(spec, args.replication, None)];
                    let retry = admin
                        .create_topics(&plain, &opts)
                        .await
                        .map_err(TopicsError::Request)?;
                    for r in retry {
                        match r {
                            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                            Err((name, code)) => return Err(TopicsError::Create { name, code }),
                        }
                    }
                }
                Err((name, code)) => return Err(TopicsError::Create { name, code }),
            }
        }
    }
    // Metadata of new topics can lag their creation for a moment, and
    // Apache Kafka lists a new topic's partitions before their leaders are
    // elected (a reader starting then gets NotLeaderForPartition; Tansu
    // answers with a leader at once): wait for both.
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let counts = partition_counts(&admin, &args.brokers)?;
        let ready = specs
            .iter()
            .all(|s| counts.get(&s.name).is_some_and(|&n| n > 0));
        if (ready && leaderless(&admin, specs).is_empty()) || std::time::Instant::now() > deadline {
            return Ok(counts);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The topics of `specs` with a partition that has no leader (yet), or
/// whose metadata could not be read.
fn leaderless(admin: &AdminClient<DefaultClientContext>, specs: &[TopicSpec]) -> Vec<String> {
    specs
        .iter()
        .filter(|s| {
            !admin
                .inner()
                .fetch_metadata(Some(&s.name), TIMEOUT)
                .is_ok_and(|md| {
                    md.topics().iter().all(|t| {
                        t.error().is_none()
                            && t.partitions()
                                .iter()
                                .all(|p| p.error().is_none() && p.leader() >= 0)
                    })
                })
        })
        .map(|s| s.name.clone())
        .collect()
}

/// Waits until the cluster answers, retrying with a backoff from 0.5 s to
/// 10 s and a warning per attempt: a stage started before its broker (a
/// Compose or Kubernetes start) waits instead of failing. Each attempt
/// blocks for at most [`PROBE`]; dropping the future (SIGTERM) stops it.
async fn wait_for_cluster(
    admin: &AdminClient<DefaultClientContext>,
    brokers: &str,
) -> HashMap<String, i32> {
    let mut delay = Duration::from_millis(500);
    let mut attempt = 0u32;
    loop {
        match metadata(admin, brokers, PROBE) {
            Ok(counts) => {
                if attempt > 0 {
                    tracing::info!(brokers, attempts = attempt + 1, "broker reachable");
                }
                return counts;
            }
            Err(error) => {
                attempt += 1;
                tracing::warn!(brokers, attempt, retry_in_s = delay.as_secs_f64(), %error, "broker not reachable yet; waiting");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

fn partition_counts(
    admin: &AdminClient<DefaultClientContext>,
    brokers: &str,
) -> Result<HashMap<String, i32>, TopicsError> {
    metadata(admin, brokers, TIMEOUT)
}

fn metadata(
    admin: &AdminClient<DefaultClientContext>,
    brokers: &str,
    timeout: Duration,
) -> Result<HashMap<String, i32>, TopicsError> {
    let md = admin
        .inner()
        .fetch_metadata(None, timeout)
        .map_err(|source| TopicsError::Metadata {
            brokers: brokers.to_owned(),
            source,
        })?;
    Ok(md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| {
            (
                t.name().to_owned(),
                i32::try_from(t.partitions().len()).unwrap_or(i32::MAX),
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use crate::kafka::args::TestCli as Cli;

    #[test]
    fn window_keyed_topics_get_one_partition_per_window_and_models_are_compacted() {
        let cli = Cli::parse_from(["x", "--tweets-partitions", "3"]);
        let s = specs(
            &cli.kafka,
            &[300, 600, 1200],
            &[Topic::Tweets, Topic::Models, Topic::Alerts],
        );
        let find = |n: &str| s.iter().find(|s| s.name == n).cloned();
        assert_eq!(find("tweets").map(|s| s.partitions), Some(3));
        assert_eq!(
            find("models").map(|s| (s.partitions, s.compact)),
            Some((3, true))
        );
        assert_eq!(find("alerts").map(|s| s.partitions), Some(1));
        assert!(find("dead_letters").is_some());
    }
}
