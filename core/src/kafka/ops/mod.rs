//! What an operator asks of a running deployment, from outside it:
//! [`status`] (groups, members, offsets and lag split into unread and
//! held, the newest model per window, recent dead letters) and [`reset`]
//! (move a stopped group's offsets to replay or skip). The `tweetoscope`
//! command's `status` and `reset` are thin wrappers of these.
//!
//! - [`group`]: one group's members and per-partition offsets, read with
//!   the admin calls any client can make (DescribeGroups, OffsetFetch,
//!   ListOffsets), never by joining the group.
//! - [`status`]: the whole pipeline's state, as a table or JSON.
//! - [`reset`]: where to move a group's offsets, and moving them.

pub mod group;
pub mod reset;
pub mod status;

use std::time::Duration;

use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;

use super::args::KafkaArgs;
use crate::schema::Topic;

/// The consuming stages and the topics each reads with its group (the
/// driver's subscription: [`crate::stage::Stage::inputs`]).
pub const STAGES: &[(&str, &[Topic])] = &[
    ("collector", &[Topic::Tweets]),
    ("estimator", &[Topic::CascadeSeries]),
    ("predictor", &[Topic::CascadeProperties, Topic::Models]),
    ("learner", &[Topic::Samples, Topic::Models]),
    ("dashboard", &[Topic::Alerts, Topic::Stats]),
];

/// The input topics of the stage a group is named after
/// (`tweetoscope-<stage>`, or `<prefix>.<stage>` as the tests name theirs).
pub fn inputs_of_group(group: &str) -> Option<&'static [Topic]> {
    STAGES
        .iter()
        .find(|(s, _)| {
            group
                .strip_suffix(s)
                .is_some_and(|rest| rest.ends_with(['-', '.']))
        })
        .map(|(_, t)| *t)
}

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("{what}: {source}")]
    Kafka {
        what: String,
        #[source]
        source: KafkaError,
    },
    #[error(
        "group {group} has {} member(s) ({}): stop its consumers first, or they would overwrite the reset at their next commit",
        members.len(),
        members.join(", ")
    )]
    GroupActive { group: String, members: Vec<String> },
    #[error("topic {0} does not exist")]
    NoTopic(String),
    #[error("{0}")]
    Usage(String),
}

impl OpsError {
    /// A Kafka error with what was being done.
    pub fn kafka(what: impl Into<String>) -> impl FnOnce(KafkaError) -> OpsError {
        let what = what.into();
        move |source| OpsError::Kafka { what, source }
    }
}

/// A consumer that never subscribes: with `group`, it reads and commits
/// that group's offsets without joining it; without, it only reads.
pub fn client(args: &KafkaArgs, group: Option<&str>) -> Result<BaseConsumer, OpsError> {
    let mut config = args.client_config();
    config
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        // librdkafka's chatter (e.g. a broker's unsupported API) is not
        // this command's output; its errors still come back as results.
        .set("log_level", "3");
    // librdkafka assigns partitions only to a consumer with a group id: a
    // reader without one gets a name of its own, which it never commits.
    let own = format!("tweetoscope-ops-{}", std::process::id());
    config.set("group.id", group.unwrap_or(&own));
    config
        .create()
        .map_err(OpsError::kafka("cannot create a client"))
}

/// How long each broker request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
