//! The client context: librdkafka's callbacks as tracing events, the
//! partitions a rebalance took away, handed to the run loop, and (for a
//! group consumer) rebalance, lag and readiness telemetry.
//!
//! Rebalance callbacks run inside the consumer's poll, in the middle of the
//! run loop's batch; the stage must not be touched from there (it is owned
//! by the loop), so revoked partitions are queued and the loop applies them
//! between two messages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, Consumer, ConsumerContext, ConsumerGroupMetadata, Rebalance,
};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;

use crate::telemetry::{Health, Lag, Transport};

/// What a group consumer must do before partitions are taken away, inside
/// the rebalance callback: the exactly-once transaction commits there,
/// while the group generation it was built in is valid
/// (`super::transaction`). `lost`: the member was expelled, that
/// generation is gone.
pub trait RevokeHook: Send + Sync + std::fmt::Debug {
    fn revoking(&self, group: Option<ConsumerGroupMetadata>, revoked: &[(String, i32)], lost: bool);
}

/// Logs client events with the stage's name; collects revoked partitions.
#[derive(Debug)]
pub struct Context {
    stage: &'static str,
    revoke_hook: Option<Arc<dyn RevokeHook>>,
    revoked: Mutex<Vec<(String, i32)>>,
    /// An asynchronous commit failed since the last check.
    commit_failed: AtomicBool,
    telemetry: Option<(Transport, Health)>,
}

impl Context {
    pub fn new(stage: &'static str) -> Self {
        Self {
            stage,
            revoke_hook: None,
            revoked: Mutex::new(Vec::new()),
            commit_failed: AtomicBool::new(false),
            telemetry: None,
        }
    }

    /// A group consumer's context: counts rebalances, keeps the assigned
    /// partitions and lag gauges, and marks the process ready once joined.
    pub fn for_consumer(stage: &'static str, transport: Transport, health: Health) -> Self {
        health.expect_group();
        Self {
            telemetry: Some((transport, health)),
            ..Self::new(stage)
        }
    }

    /// Calls `hook` before every revocation.
    pub fn with_revoke_hook(self, hook: Arc<dyn RevokeHook>) -> Self {
        Self {
            revoke_hook: Some(hook),
            ..self
        }
    }

    /// Whether a commit failed since the last call: the run loop then
    /// forgets what it believed committed and commits again.
    pub fn take_commit_failed(&self) -> bool {
        self.commit_failed.swap(false, Ordering::SeqCst)
    }

    /// Partitions revoked since the last call, as (topic, partition).
    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        match self.revoked.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            // A panic while holding this lock can only come from Vec::push
            // (allocation failure); the data is still a valid Vec.
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

fn list(tpl: &TopicPartitionList) -> String {
    let parts: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect();
    parts.join(",")
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        let stage = self.stage;
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(stage, facility = fac, message, "librdkafka")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(stage, facility = fac, message, "librdkafka")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(stage, facility = fac, message, "librdkafka")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(stage, facility = fac, message, "librdkafka"),
        }
    }

    /// librdkafka's statistics (every `statistics.interval.ms`): per
    /// assigned partition, the lag from the committed offset and its two
    /// parts, see [`Lag`]; and whether any broker connection is up (for
    /// `/readyz`).
    fn stats(&self, statistics: Statistics) {
        let Some((transport, health)) = &self.telemetry else {
            return;
        };
        health.broker_reachable(any_broker_up(&statistics));
        for (name, topic) in &statistics.topics {
            for (partition, p) in &topic.partitions {
                // -1 is librdkafka's internal "unassigned" partition.
                if *partition < 0 {
                    continue;
                }
                let Some(lag) = Lag::of(p.hi_offset, p.app_offset, p.committed_offset) else {
                    continue;
                };
                let labels = [name.as_str(), &partition.to_string()];
                transport
                    .consumer_lag
                    .with_label_values(&labels)
                    .set(lag.total());
                transport
                    .consumer_unread
                    .with_label_values(&labels)
                    .set(lag.unread);
                transport
                    .consumer_held
                    .with_label_values(&labels)
                    .set(lag.held);
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // Transient broker errors (connection refused, all brokers down)
        // are retried by librdkafka itself; they are worth a warning only.
        tracing::warn!(stage = self.stage, %error, reason, "kafka client error");
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown)
            && let Some((_, health)) = &self.telemetry
        {
            health.broker_reachable(false);
        }
    }
}

/// Whether the client holds an open connection to a real broker (node id
/// >= 0: not a bootstrap address or the logical coordinator handle).
fn any_broker_up(statistics: &Statistics) -> bool {
    statistics
        .brokers
        .values()
        .any(|b| b.nodeid >= 0 && b.state == "UP")
}

impl ConsumerContext for Context {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                tracing::info!(stage = self.stage, partitions = %list(tpl), "partitions revoked");
                if let Some((transport, _)) = &self.telemetry {
                    transport.rebalances.with_label_values(&["revoke"]).inc();
                    transport.assigned_partitions.set(0);
                    for e in tpl.elements() {
                        let labels = [e.topic(), &e.partition().to_string()];
                        for gauge in [
                            &transport.consumer_lag,
                            &transport.consumer_unread,
                            &transport.consumer_held,
                        ] {
                            let _ = gauge.remove_label_values(&labels);
                        }
                    }
                }
                let parts = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect::<Vec<_>>();
                if let Some(hook) = &self.revoke_hook {
                    hook.revoking(
                        consumer.group_metadata(),
                        &parts,
                        consumer.assignment_lost(),
                    );
                }
                match self.revoked.lock() {
                    Ok(mut v) => v.extend(parts),
                    Err(poisoned) => poisoned.into_inner().extend(parts),
                }
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(stage = self.stage, partitions = %list(tpl), "partitions assigned");
                if let Some((transport, health)) = &self.telemetry {
                    transport.rebalances.with_label_values(&["assign"]).inc();
                    transport.assigned_partitions.set(tpl.count() as i64);
                    // An empty assignment (a standby replica) is a join too.
                    health.joined_group();
                }
            }
            Rebalance::Error(error) => {
                tracing::warn!(stage = self.stage, %error, "rebalance failed");
                if let Some((transport, _)) = &self.telemetry {
                    transport.rebalances.with_label_values(&["error"]).inc();
                }
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let committed: Vec<String> = offsets
            .elements()
            .iter()
            .map(|e| {
                format!(
                    "{}/{}@{}",
                    e.topic(),
                    e.partition(),
                    e.offset().to_raw().unwrap_or(-1)
                )
            })
            .collect();
        match result {
            Ok(()) => tracing::debug!(
                stage = self.stage,
                offsets = committed.join(","),
                "offsets committed"
            ),
            Err(error) => {
                self.commit_failed.store(true, Ordering::SeqCst);
                if let Some((transport, _)) = &self.telemetry {
                    transport.commit_failures.inc();
                }
                tracing::warn!(stage = self.stage, offsets = committed.join(","), %error, "commit failed")
            }
        }
    }
}
