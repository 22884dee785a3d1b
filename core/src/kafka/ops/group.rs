//! One consumer group seen from outside: its members (DescribeGroups) and,
//! per partition of its topics, the committed offset, the consumed
//! position the stage wrote in the commit's metadata (see
//! [`crate::kafka::commit`]), the watermarks and the lag split into unread
//! and held ([`crate::telemetry::Lag`]).
//!
//! The split needs the broker to give that metadata back. Apache Kafka
//! does; Tansu 0.6 stores it but answers every OffsetFetch with an empty
//! string (its storage's `offset_fetch` returns offsets only), so there a
//! partition shows how far it is `behind` the commit, unsplit.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use super::{OpsError, TIMEOUT};
use crate::kafka::commit::consumed_of;
use crate::telemetry::Lag;

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub id: String,
    pub client_id: String,
    pub host: String,
}

/// A group's state and members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Members {
    /// The broker's word: Stable, Empty, Dead, PreparingRebalance...
    pub state: String,
    pub members: Vec<Member>,
}

/// The state and members of `group` (state `Dead`, no member, for a group
/// the broker does not know).
pub fn members(client: &BaseConsumer, group: &str) -> Result<Members, OpsError> {
    let list = client
        .fetch_group_list(Some(group), TIMEOUT)
        .map_err(OpsError::kafka(format!("cannot describe group {group}")))?;
    let Some(g) = list.groups().iter().find(|g| g.name() == group) else {
        return Ok(Members {
            state: "Dead".into(),
            members: Vec::new(),
        });
    };
    let members = g
        .members()
        .iter()
        .map(|m| Member {
            id: m.id().to_owned(),
            client_id: m.client_id().to_owned(),
            host: m.client_host().to_owned(),
        })
        .collect();
    Ok(Members {
        state: g.state().to_owned(),
        members,
    })
}

/// One partition of a group's topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionOffsets {
    pub topic: String,
    pub partition: i32,
    /// The oldest offset the broker keeps and the next it will write.
    pub low: i64,
    pub high: i64,
    /// The group's committed offset, if it committed one.
    pub committed: Option<i64>,
    /// The consumed position written with that commit, if the broker gave
    /// the commit's metadata back.
    pub consumed: Option<i64>,
    /// Records past the committed offset; `None` when the group never
    /// committed here.
    pub behind: Option<i64>,
    /// `behind` split into unread and held; `None` without a consumed
    /// position to split it at.
    pub lag: Option<Lag>,
}

/// The partitions of `topics` (existing ones) with watermarks; committed
/// offsets too when `client` was made with a group.
pub fn offsets(
    client: &BaseConsumer,
    topics: &[&str],
    with_group: bool,
) -> Result<Vec<PartitionOffsets>, OpsError> {
    let mut tpl = TopicPartitionList::new();
    let mut rows = Vec::new();
    for &topic in topics {
        for partition in partitions(client, topic)? {
            let (low, high) = client
                .fetch_watermarks(topic, partition, TIMEOUT)
                .map_err(OpsError::kafka(format!("cannot read {topic}/{partition}")))?;
            tpl.add_partition(topic, partition);
            rows.push(PartitionOffsets {
                topic: topic.to_owned(),
                partition,
                low,
                high,
                committed: None,
                consumed: None,
                behind: None,
                lag: None,
            });
        }
    }
    if !with_group || rows.is_empty() {
        return Ok(rows);
    }
    let committed = client
        .committed_offsets(tpl, TIMEOUT)
        .map_err(OpsError::kafka("cannot fetch the committed offsets"))?;
    for row in &mut rows {
        let Some(e) = committed.find_partition(&row.topic, row.partition) else {
            continue;
        };
        if let Offset::Offset(at) = e.offset() {
            row.committed = Some(at);
            row.consumed = consumed_of(e.metadata());
            // The end is at least what was read: Tansu 0.6 answers
            // ListOffsets with less than that once records come in
            // batches of several.
            row.high = row.high.max(at).max(row.consumed.unwrap_or(0));
            row.behind = Some(row.high - at);
            row.lag = row.consumed.and_then(|c| Lag::of(row.high, c, at));
        }
    }
    Ok(rows)
}

/// The partition ids of `topic`; an error when it does not exist.
pub fn partitions(client: &BaseConsumer, topic: &str) -> Result<Vec<i32>, OpsError> {
    let md = client
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(OpsError::kafka(format!(
            "cannot read the metadata of {topic}"
        )))?;
    let ids: Vec<i32> = md
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if ids.is_empty() {
        return Err(OpsError::NoTopic(topic.to_owned()));
    }
    Ok(ids)
}
