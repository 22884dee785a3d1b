//! The delivery options of a stage process (`--delivery`, the transaction
//! interval, the instance id of its transactional producer), a group of
//! their own flattened into [`super::KafkaArgs`]. See
//! [`super::transaction`] for what exactly-once does with them.

use clap::{Args, ValueEnum};

use crate::config::parse_seconds;

/// What a consumer of the stage's outputs may count on after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Delivery {
    /// Every output at least once: a restarted stage may produce again
    /// what it had produced (consumers dedupe by `(cid, T_obs)`). Needs
    /// nothing of the broker but produce and commit.
    AtLeastOnce,
    /// Every output once for a `read_committed` consumer: outputs and
    /// input offsets committed in one Kafka transaction, replays
    /// suppressed. Needs a broker with transactions and one
    /// `--instance-id` per replica.
    ExactlyOnce,
}

impl Delivery {
    pub fn label(self) -> &'static str {
        match self {
            Delivery::AtLeastOnce => "at-least-once",
            Delivery::ExactlyOnce => "exactly-once",
        }
    }
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Delivery guarantee and transactions.
#[derive(Debug, Clone, Args)]
pub struct DeliveryArgs {
    /// at-least-once (default, as Kafka Streams): outputs may repeat after
    /// a crash, consumers dedupe by (cid, T_obs). exactly-once: each batch's
    /// outputs and input offsets commit in one transaction, so a
    /// read_committed consumer sees every output once (docs/ARCHITECTURE.md
    /// "Exactly once").
    #[arg(long, env = "TWEETOSCOPE_DELIVERY", value_enum, default_value_t = Delivery::AtLeastOnce)]
    pub delivery: Delivery,
    /// exactly-once: longest time a transaction stays open (its outputs
    /// are invisible to read_committed consumers until it commits).
    #[arg(long, env = "TWEETOSCOPE_TRANSACTION_INTERVAL", value_parser = parse_seconds, default_value = "0.1")]
    pub transaction_interval: f64,
    /// exactly-once: this replica's stable name (default: the host name).
    /// With the group id it makes the transactional id: a restarted replica
    /// must get the same one (its predecessor's open transaction is then
    /// aborted at once), two live replicas different ones (else the older
    /// is fenced and exits).
    #[arg(long, env = "TWEETOSCOPE_INSTANCE_ID")]
    pub instance_id: Option<String>,
}

impl DeliveryArgs {
    pub fn exactly_once(&self) -> bool {
        self.delivery == Delivery::ExactlyOnce
    }

    /// The transactional id of `group`'s replica.
    pub fn transactional_id(&self, group: &str) -> String {
        let instance = self
            .instance_id
            .clone()
            .or_else(host_name)
            .unwrap_or_else(|| "0".to_owned());
        format!("{group}-{instance}")
    }

    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.transaction_interval > 0.0 && self.transaction_interval <= 60.0) {
            p.push("--transaction-interval must be within (0, 60 s]".into());
        }
        if self
            .instance_id
            .as_deref()
            .is_some_and(|i| i.trim().is_empty())
        {
            p.push("--instance-id is empty".into());
        }
        p
    }
}

/// The host name (a pod's name on Kubernetes, a container's id under
/// Compose), from the environment or the kernel.
fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        delivery: DeliveryArgs,
    }

    #[test]
    fn at_least_once_is_the_default_and_exactly_once_is_asked_for() {
        let cli = Cli::parse_from(["x"]);
        assert!(!cli.delivery.exactly_once());
        assert!(cli.delivery.problems().is_empty());
        let cli = Cli::parse_from(["x", "--delivery", "exactly-once", "--instance-id", "a"]);
        assert!(cli.delivery.exactly_once());
        assert_eq!(cli.delivery.transactional_id("g"), "g-a");
        assert!(Cli::try_parse_from(["x", "--delivery", "twice"]).is_err());
    }

    #[test]
    fn a_bad_interval_or_an_empty_instance_is_reported() {
        let cli = Cli::parse_from(["x", "--transaction-interval", "0", "--instance-id", " "]);
        assert_eq!(cli.delivery.problems().len(), 2);
    }
}
