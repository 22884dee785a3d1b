//! `tweetoscope status`: the whole pipeline's state from outside it.
//!
//! Per stage group: its state and members, and per input partition the
//! committed offset and the lag split into unread (a backlog) and held (by
//! design: what the stage keeps in memory until it can commit past it),
//! or only how far it is behind when the broker keeps no commit metadata
//! (Tansu: see [`super::group`]), which the output then says.
//! The newest model of each window and its age (the models topic read
//! whole), and how many records reached the dead-letter topic in the last
//! hour (ListOffsets by time). Shown as a table, or as JSON for scripts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use super::group::{self, Members, PartitionOffsets};
use super::{OpsError, STAGES, TIMEOUT, client};
use crate::kafka::args::KafkaArgs;
use crate::schema::{Message, Topic, Window};

/// How far back dead letters are counted.
pub const DEAD_LETTER_SPAN: Duration = Duration::from_secs(3600);
/// Longest read of the models topic.
const MODELS_LIMIT: Duration = Duration::from_secs(30);

/// A stage group's state.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStatus {
    pub stage: String,
    pub group: String,
    #[serde(flatten)]
    pub members: Members,
    pub partitions: Vec<PartitionOffsets>,
    /// Records past the commits, over the partitions the group committed on.
    pub behind: i64,
    /// `behind` split, over the partitions whose commit carried the
    /// consumed position.
    pub unread: i64,
    pub held: i64,
    /// The part of `behind` on partitions whose commit carried none.
    pub unsplit: i64,
}

/// The newest model of a window.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    pub window: Window,
    pub version: u64,
    pub samples: u64,
    /// Since the broker took the record (its timestamp).
    pub age_seconds: Option<f64>,
}

/// Dead letters: in the last hour (`None` when the broker could not say)
/// and in all the topic keeps.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetters {
    pub topic: String,
    pub last_hour: Option<i64>,
    pub kept: i64,
}

/// Everything `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Unix seconds when it was read.
    pub at: f64,
    pub groups: Vec<GroupStatus>,
    pub models: Vec<ModelStatus>,
    /// `None` when there is no dead-letter topic.
    pub dead_letters: Option<DeadLetters>,
    /// Whether the broker gave commit metadata back: `None` when no group
    /// committed anything yet, `Some(false)` when none of the commits came
    /// back with it (Tansu), so that no lag could be split.
    pub commit_metadata: Option<bool>,
    /// What could not be read (a missing topic...), one line each.
    pub problems: Vec<String>,
}

/// What the output says when the broker keeps no commit metadata.
pub const NO_METADATA: &str = "the broker gave back no commit metadata (Tansu 0.6 never returns it): \
the lag is shown whole (behind), not split into unread and held; each stage's /metrics \
serves the split (tweetoscope_<stage>_consumer_unread_records and _held_records)";

/// Reads the state of the deployment `args` points at; each stage's group
/// is `pattern` with `{stage}` replaced (e.g. `tweetoscope-{stage}`).
pub fn collect(args: &KafkaArgs, pattern: &str) -> Result<Status, OpsError> {
    let admin = client(args, None)?;
    let mut problems = Vec::new();
    let mut groups = Vec::new();
    for (stage, inputs) in STAGES {
        let group = pattern.replace("{stage}", stage);
        let names: Vec<&str> = inputs.iter().map(|t| args.topics.name(*t)).collect();
        let members = group::members(&admin, &group)?;
        let reader = client(args, Some(&group))?;
        let mut partitions = Vec::new();
        for name in names {
            match group::offsets(&reader, &[name], true) {
                Ok(rows) => partitions.extend(rows),
                Err(OpsError::NoTopic(t)) => problems.push(format!("topic {t} does not exist")),
                Err(e) => return Err(e),
            }
        }
        let lags = partitions.iter().filter_map(|p| p.lag);
        let (unread, held) = lags.fold((0, 0), |(u, h), l| (u + l.unread, h + l.held));
        let behind = partitions.iter().filter_map(|p| p.behind).sum();
        groups.push(GroupStatus {
            stage: (*stage).to_owned(),
            group,
            members,
            partitions,
            behind,
            unread,
            held,
            unsplit: behind - unread - held,
        });
    }
    let commit_metadata = metadata_kept(&groups);
    problems.sort_unstable();
    problems.dedup();
    let models = match newest_models(&admin, args.topics.name(Topic::Models)) {
        Ok(m) => m,
        Err(OpsError::NoTopic(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let dead_letters = match args.dead_letter_topic.as_str() {
        "" => None,
        topic => match dead_letters(&admin, topic) {
            Ok(d) => Some(d),
            Err(OpsError::NoTopic(_)) => None,
            Err(e) => return Err(e),
        },
    };
    Ok(Status {
        at: now_secs(),
        groups,
        models,
        dead_letters,
        commit_metadata,
        problems,
    })
}

/// Whether any commit came back with the consumed position (`None`
/// without any commit).
fn metadata_kept(groups: &[GroupStatus]) -> Option<bool> {
    let committed = groups.iter().flat_map(|g| &g.partitions);
    let mut committed = committed.filter(|p| p.committed.is_some()).peekable();
    committed.peek()?;
    Some(committed.any(|p| p.consumed.is_some()))
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The newest model of each window on the models topic, read whole.
fn newest_models(admin: &BaseConsumer, topic: &str) -> Result<Vec<ModelStatus>, OpsError> {
    let rows = group::offsets(admin, &[topic], false)?;
    let mut ends: Vec<(i32, i64)> = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for r in rows.iter().filter(|r| r.high > r.low) {
        ends.push((r.partition, r.high));
        tpl.add_partition_offset(topic, r.partition, Offset::Beginning)
            .map_err(OpsError::kafka("cannot assign the models topic"))?;
    }
    let mut newest: BTreeMap<Window, ModelStatus> = BTreeMap::new();
    if ends.is_empty() {
        return Ok(Vec::new());
    }
    admin
        .assign(&tpl)
        .map_err(OpsError::kafka("cannot read the models topic"))?;
    let started = Instant::now();
    while !ends.is_empty() && started.elapsed() < MODELS_LIMIT {
        let Some(Ok(m)) = admin.poll(Duration::from_millis(200)) else {
            continue;
        };
        let (partition, next) = (m.partition(), m.offset() + 1);
        ends.retain(|&(p, high)| p != partition || next < high);
        let decoded = Message::decode(Topic::Models, m.key(), m.payload().unwrap_or_default());
        let Ok(Message::Model(model)) = decoded else {
            continue;
        };
        if newest
            .get(&model.t_obs)
            .is_some_and(|n| n.version >= model.version)
        {
            continue;
        }
        let age = m
            .timestamp()
            .to_millis()
            .map(|ms| (now_secs() - ms as f64 / 1000.0).max(0.0));
        newest.insert(
            model.t_obs,
            ModelStatus {
                window: model.t_obs,
                version: model.version,
                samples: model.n_samples,
                age_seconds: age,
            },
        );
    }
    let _ = admin.unassign();
    Ok(newest.into_values().collect())
}

/// Records on the dead-letter topic, in the last hour and kept.
fn dead_letters(admin: &BaseConsumer, topic: &str) -> Result<DeadLetters, OpsError> {
    let rows = group::offsets(admin, &[topic], false)?;
    let kept = rows.iter().map(|r| r.high - r.low).sum();
    let since_ms = ((now_secs() - DEAD_LETTER_SPAN.as_secs_f64()) * 1000.0) as i64;
    let mut tpl = TopicPartitionList::new();
    for r in &rows {
        tpl.add_partition_offset(topic, r.partition, Offset::Offset(since_ms))
            .map_err(OpsError::kafka("cannot ask for offsets by time"))?;
    }
    let last_hour = admin.offsets_for_times(tpl, TIMEOUT).ok().map(|found| {
        rows.iter()
            .map(|r| {
                let from = found
                    .find_partition(topic, r.partition)
                    .map(|e| match e.offset() {
                        Offset::Offset(o) => o.clamp(r.low, r.high),
                        // No record at or after that time.
                        _ => r.high,
                    })
                    .unwrap_or(r.high);
                r.high - from
            })
            .sum()
    });
    Ok(DeadLetters {
        topic: topic.to_owned(),
        last_hour,
        kept,
    })
}

/// The status as an operator reads it: one block per group, then models
/// and dead letters.
pub fn render(status: &Status) -> String {
    let mut s = String::new();
    for g in &status.groups {
        let split = if g.unsplit == 0 {
            format!("unread {}  held {}", g.unread, g.held)
        } else {
            format!("({} not split)", g.unsplit)
        };
        let _ = writeln!(
            s,
            "{:<10} group {}  {}  {} member(s)  behind {}  {split}",
            g.stage,
            g.group,
            g.members.state,
            g.members.members.len(),
            g.behind,
        );
        for m in &g.members.members {
            let _ = writeln!(s, "    member {} {} {}", m.client_id, m.host, m.id);
        }
        for p in &g.partitions {
            let committed = p.committed.map_or("-".to_owned(), |c| c.to_string());
            let behind = p.behind.map_or("-".to_owned(), |b| b.to_string());
            let (unread, held) = match (p.lag, p.behind) {
                (Some(l), _) => (l.unread.to_string(), l.held.to_string()),
                (None, Some(_)) => ("?".into(), "?".into()),
                (None, None) => ("-".into(), "-".into()),
            };
            let _ = writeln!(
                s,
                "    {:<28} committed {committed:>10}  end {:>10}  behind {behind:>8}  unread {unread:>8}  held {held:>8}",
                format!("{}/{}", p.topic, p.partition),
                p.high
            );
        }
    }
    if status.models.is_empty() {
        let _ = writeln!(s, "models     none yet");
    }
    for m in &status.models {
        let age = m.age_seconds.map_or("?".to_owned(), |a| {
            humantime::format_duration(Duration::from_secs(a as u64)).to_string()
        });
        let _ = writeln!(
            s,
            "model      window {:>6}  version {}  {} samples  age {age}",
            m.window, m.version, m.samples
        );
    }
    if let Some(d) = &status.dead_letters {
        let hour = d.last_hour.map_or("?".to_owned(), |n| n.to_string());
        let _ = writeln!(
            s,
            "dead letters on {}: {hour} in the last hour, {} kept",
            d.topic, d.kept
        );
    }
    if status.commit_metadata == Some(false) {
        let _ = writeln!(s, "note: {NO_METADATA}");
    }
    for p in &status.problems {
        let _ = writeln!(s, "warning: {p}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Lag;

    fn row(committed: i64, consumed: Option<i64>, high: i64) -> PartitionOffsets {
        PartitionOffsets {
            topic: "tweets".into(),
            partition: 0,
            low: 0,
            high,
            committed: Some(committed),
            consumed,
            behind: Some(high - committed),
            lag: consumed.and_then(|c| Lag::of(high, c, committed)),
        }
    }

    fn status(rows: Vec<PartitionOffsets>) -> Status {
        let behind = rows.iter().filter_map(|p| p.behind).sum();
        let (unread, held) = rows
            .iter()
            .filter_map(|p| p.lag)
            .fold((0, 0), |(u, h), l| (u + l.unread, h + l.held));
        let groups = vec![GroupStatus {
            stage: "collector".into(),
            group: "tweetoscope-collector".into(),
            members: Members {
                state: "Stable".into(),
                members: Vec::new(),
            },
            partitions: rows,
            behind,
            unread,
            held,
            unsplit: behind - unread - held,
        }];
        Status {
            at: 0.0,
            commit_metadata: metadata_kept(&groups),
            groups,
            models: Vec::new(),
            dead_letters: None,
            problems: Vec::new(),
        }
    }

    #[test]
    fn a_commit_with_its_consumed_position_splits_the_lag() {
        let s = status(vec![row(10, Some(15), 40)]);
        assert_eq!(s.commit_metadata, Some(true));
        let table = render(&s);
        assert!(table.contains("behind 30  unread 25  held 5"), "{table}");
        assert!(!table.contains("note:"), "{table}");
    }

    #[test]
    fn commits_without_metadata_show_the_lag_whole_and_say_why() {
        let s = status(vec![row(10, None, 40)]);
        assert_eq!(s.commit_metadata, Some(false));
        let table = render(&s);
        assert!(table.contains("behind 30  (30 not split)"), "{table}");
        assert!(table.contains(NO_METADATA), "{table}");
    }

    #[test]
    fn without_any_commit_nothing_is_said_of_metadata() {
        let mut s = status(Vec::new());
        s.groups[0].partitions.clear();
        assert_eq!(s.commit_metadata, None);
        assert!(!render(&s).contains("note:"));
    }
}
