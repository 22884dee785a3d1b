//! `tweetoscope status`: the whole pipeline's state from outside it.
//!
//! Per stage group: its state and members, and per input partition the
//! committed offset and the lag split into unread (a backlog) and held (by
//! design: what the stage keeps in memory until it can commit past it).
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
    /// Sums over the partitions the group committed on.
    pub unread: i64,
    pub held: i64,
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
    /// What could not be read (a missing topic...), one line each.
    pub problems: Vec<String>,
}

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
        groups.push(GroupStatus {
            stage: (*stage).to_owned(),
            group,
            members,
            partitions,
            unread,
            held,
        });
    }
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
        problems,
    })
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
        let _ = writeln!(
            s,
            "{:<10} group {}  {}  {} member(s)  unread {}  held {}",
            g.stage,
            g.group,
            g.members.state,
            g.members.members.len(),
            g.unread,
            g.held
        );
        for m in &g.members.members {
            let _ = writeln!(s, "    member {} {} {}", m.client_id, m.host, m.id);
        }
        for p in &g.partitions {
            let committed = p.committed.map_or("-".to_owned(), |c| c.to_string());
            let (unread, held) = match p.lag {
                Some(l) => (l.unread.to_string(), l.held.to_string()),
                None => ("-".into(), "-".into()),
            };
            let _ = writeln!(
                s,
                "    {:<28} committed {committed:>10}  end {:>10}  unread {unread:>8}  held {held:>8}",
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
    for p in &status.problems {
        let _ = writeln!(s, "warning: {p}");
    }
    s
}
