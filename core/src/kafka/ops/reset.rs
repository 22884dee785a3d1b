//! `tweetoscope reset`: moves a stopped group's committed offsets, to
//! replay a window of the input (`--to 2026-12-07T10:00:00Z`, `--to -1h`)
//! or skip a backlog (`--to latest`).
//!
//! Refused while the group has members: a running consumer commits its
//! own position at its next batch and the reset would be lost (Kafka's
//! own tool refuses too). The offsets are committed by a client that
//! never joins the group.

use std::str::FromStr;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use super::group::{self, PartitionOffsets};
use super::{OpsError, TIMEOUT, client};
use crate::kafka::args::KafkaArgs;

/// Where to move the offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// The oldest record kept.
    Earliest,
    /// Past the newest record: skip everything not read yet.
    Latest,
    /// The first record at or after this time (Unix milliseconds).
    Time(i64),
}

impl FromStr for To {
    type Err = String;

    /// `earliest`, `latest`, an RFC 3339 time (`2026-12-07T10:00:00Z`),
    /// Unix milliseconds, or a duration ago (`-1h`, `-30m`).
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "earliest" => return Ok(To::Earliest),
            "latest" => return Ok(To::Latest),
            _ => {}
        }
        if let Some(ago) = s.strip_prefix('-') {
            let d = humantime::parse_duration(ago).map_err(|e| format!("`{s}`: {e}"))?;
            let now = std::time::SystemTime::now();
            let at = now
                .checked_sub(d)
                .ok_or_else(|| format!("`{s}` is before 1970"))?;
            return Ok(To::Time(unix_ms(at)));
        }
        if let Ok(ms) = s.parse::<i64>() {
            return Ok(To::Time(ms));
        }
        humantime::parse_rfc3339_weak(s)
            .map(|t| To::Time(unix_ms(t)))
            .map_err(|_| {
                format!(
                    "`{s}` is not earliest, latest, a time (2026-12-07T10:00:00Z), Unix milliseconds or a duration ago (-1h)"
                )
            })
    }
}

fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One partition's move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub topic: String,
    pub partition: i32,
    /// The committed offset before (`None`: never committed).
    pub from: Option<i64>,
    pub to: i64,
}

/// An error naming the members when `group` has any.
fn ensure_stopped(args: &KafkaArgs, group: &str) -> Result<(), OpsError> {
    let admin = client(args, None)?;
    let members = group::members(&admin, group)?.members;
    if members.is_empty() {
        return Ok(());
    }
    // Some brokers (Tansu 0.6) leave client id and host empty.
    let named = |m: &group::Member| match m.client_id.is_empty() {
        true => m.id.clone(),
        false => format!("{}@{}", m.client_id, m.host),
    };
    Err(OpsError::GroupActive {
        group: group.to_owned(),
        members: members.iter().map(named).collect(),
    })
}

/// Where each partition of `topics` would move for `group`; refused when
/// the group has members.
pub fn plan(args: &KafkaArgs, group: &str, topics: &[&str], to: To) -> Result<Vec<Move>, OpsError> {
    ensure_stopped(args, group)?;
    let reader = client(args, Some(group))?;
    let rows = group::offsets(&reader, topics, true)?;
    let targets = match to {
        // No record can be that recent (Tansu 0.6 answers such a
        // ListOffsets with 0, Kafka with the end): the end.
        To::Time(ms) if ms > unix_ms(std::time::SystemTime::now()) => {
            rows.iter().map(|r| r.high).collect()
        }
        To::Time(ms) => by_time(&reader, &rows, ms)?,
        To::Earliest => rows.iter().map(|r| r.low).collect(),
        To::Latest => rows.iter().map(|r| r.high).collect(),
    };
    Ok(rows
        .into_iter()
        .zip(targets)
        .map(|(r, to)| Move {
            topic: r.topic,
            partition: r.partition,
            from: r.committed,
            to,
        })
        .collect())
}

/// The first offset at or after `ms` on each partition; the end when no
/// record is that recent.
fn by_time(
    reader: &rdkafka::consumer::BaseConsumer,
    rows: &[PartitionOffsets],
    ms: i64,
) -> Result<Vec<i64>, OpsError> {
    let mut tpl = TopicPartitionList::new();
    for r in rows {
        tpl.add_partition_offset(&r.topic, r.partition, Offset::Offset(ms))
            .map_err(OpsError::kafka("cannot ask for offsets by time"))?;
    }
    let found = reader
        .offsets_for_times(tpl, TIMEOUT)
        .map_err(OpsError::kafka("the broker cannot find offsets by time"))?;
    Ok(rows
        .iter()
        .map(|r| {
            match found
                .find_partition(&r.topic, r.partition)
                .map(|e| e.offset())
            {
                Some(Offset::Offset(o)) => o.clamp(r.low, r.high),
                _ => r.high,
            }
        })
        .collect())
}

/// Commits the moves for `group` (checking again that it has no member).
pub fn apply(args: &KafkaArgs, group: &str, moves: &[Move]) -> Result<(), OpsError> {
    ensure_stopped(args, group)?;
    let writer = client(args, Some(group))?;
    let mut tpl = TopicPartitionList::new();
    for m in moves {
        tpl.add_partition_offset(&m.topic, m.partition, Offset::Offset(m.to))
            .map_err(OpsError::kafka("cannot build the offsets"))?;
    }
    writer
        .commit(&tpl, CommitMode::Sync)
        .map_err(OpsError::kafka(format!(
            "cannot commit the offsets of {group}"
        )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_ends_times_or_durations_ago() {
        assert_eq!("earliest".parse(), Ok(To::Earliest));
        assert_eq!("latest".parse(), Ok(To::Latest));
        assert_eq!("1765100000000".parse(), Ok(To::Time(1_765_100_000_000)));
        assert_eq!(
            "2026-12-07T10:00:00Z".parse(),
            Ok(To::Time(1_796_637_600_000))
        );
        let Ok(To::Time(ago)) = "-1h".parse::<To>() else {
            panic!("-1h is a time")
        };
        let expected = unix_ms(std::time::SystemTime::now()) - 3_600_000;
        assert!((ago - expected).abs() < 60_000, "{ago} vs {expected}");
        let error = "yesterday".parse::<To>().unwrap_err();
        assert!(error.contains("earliest, latest"), "{error}");
    }
}
