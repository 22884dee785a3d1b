//! The loop over a scripted in-memory transport.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use super::*;
use crate::schema::{LogMsg, TweetMsg};
use crate::stage::{Origin, StageError};

/// What the transport says, in order.
enum Step {
    /// A tweets-topic watermark at `t` on (partition, offset), from `instance`.
    Input(i32, i64, f64, Option<&'static str>),
    Undecodable(i32, i64),
    Passed(i32, i64),
    Revoked(i32),
    Idle,
}

/// A transport that plays a script and records what the loop did.
#[derive(Default)]
struct Memory {
    script: VecDeque<Step>,
    instance: String,
    last: Origin,
    now: f64,
    sent: Vec<(String, Cause)>,
    dead: Vec<(Origin, RefusalKind)>,
    commits: Vec<(BTreeMap<i32, i64>, bool)>,
}

impl Memory {
    fn new(script: Vec<Step>) -> Self {
        Self {
            script: script.into(),
            ..Self::default()
        }
    }

    fn sent(&self) -> Vec<&str> {
        self.sent.iter().map(|(s, _)| s.as_str()).collect()
    }
}

fn input(topic: Topic, partition: i32, offset: i64, now: f64) -> (Topic, Ctx) {
    let origin = Origin { partition, offset };
    (topic, Ctx { now, origin })
}

impl Transport for Memory {
    type Error = Infallible;

    async fn next(&mut self) -> Result<Event<'_>, Infallible> {
        let Some(step) = self.script.pop_front() else {
            return Ok(Event::Stop);
        };
        Ok(match step {
            Step::Input(partition, offset, t, instance) => {
                let (topic, ctx) = input(Topic::Tweets, partition, offset, t);
                (self.last, self.now) = (ctx.origin, t);
                self.instance = instance.unwrap_or_default().to_owned();
                Event::Input(Input {
                    topic,
                    ctx,
                    instance: instance.map(|_| self.instance.as_str()),
                    msg: Ok(Message::Tweet(TweetMsg::Watermark { source: 1, t })),
                })
            }
            Step::Undecodable(partition, offset) => {
                let (topic, ctx) = input(Topic::Tweets, partition, offset, self.now);
                self.last = ctx.origin;
                Event::Input(Input {
                    topic,
                    ctx,
                    instance: None,
                    msg: Err(Refusal {
                        kind: RefusalKind::Undecodable,
                        reason: "not JSON".into(),
                    }),
                })
            }
            Step::Passed(partition, offset) => {
                let (topic, ctx) = input(Topic::Tweets, partition, offset, self.now);
                Event::Passed {
                    topic,
                    ctx,
                    instance: Some("elsewhere"),
                }
            }
            Step::Revoked(partition) => Event::Revoked(vec![(Topic::Tweets, vec![partition])]),
            Step::Idle => Event::Idle,
        })
    }

    async fn send(&mut self, out: &mut Vec<Message>, cause: Cause) -> Result<(), Infallible> {
        for msg in out.drain(..) {
            if let Message::Log(log) = msg {
                self.sent.push((log.message, cause));
            }
        }
        Ok(())
    }

    async fn dead_letter(&mut self, why: &Refusal) -> Result<(), Infallible> {
        self.dead.push((self.last, why.kind));
        Ok(())
    }

    async fn commit(&mut self, bounds: &[Bound], last: bool) -> Result<(), Infallible> {
        let by_partition = bounds.iter().map(|b| (b.partition, b.offset)).collect();
        self.commits.push((by_partition, last));
        Ok(())
    }

    fn now(&self) -> f64 {
        self.now
    }
}

/// Echoes each watermark as a log record, refuses negative times, holds
/// the offsets it echoed until a tick, and remembers who it heard from
/// and what it lost.
#[derive(Default)]
struct Echo {
    held: BTreeMap<i32, i64>,
    heard: Vec<String>,
    revoked: Vec<i32>,
    ticks: Vec<f64>,
}

fn log(text: String) -> Message {
    Message::Log(LogMsg {
        t: 0.0,
        source: "echo".into(),
        level: "INFO".into(),
        message: text,
        fields: BTreeMap::new(),
    })
}

impl Stage for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Tweets]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        let Message::Tweet(TweetMsg::Watermark { t, .. }) = msg else {
            return Err(StageError::Invalid("not a watermark".into()));
        };
        // Pushed before the check: the loop must drop it.
        out.push(log(format!("half {t}")));
        if t < 0.0 {
            return Err(StageError::Invalid(format!("negative time {t}")));
        }
        out.pop();
        out.push(log(format!("echo {t}")));
        self.held
            .entry(ctx.origin.partition)
            .or_insert(ctx.origin.offset);
        Ok(())
    }

    fn tick(&mut self, now: f64, out: &mut Vec<Message>) {
        self.ticks.push(now);
        self.held.clear();
        out.push(log(format!("tick {now}")));
    }

    fn flush(&mut self, _: Flush, out: &mut Vec<Message>) {
        out.push(log("flush".into()));
    }

    fn retained_offset(&self, _: Topic, partition: i32) -> Option<i64> {
        self.held.get(&partition).copied()
    }

    fn revoke(&mut self, _: Topic, partitions: &[i32]) {
        self.revoked.extend_from_slice(partitions);
        for p in partitions {
            self.held.remove(p);
        }
    }

    fn heard(&mut self, _: Topic, instance: &str, _: f64) {
        self.heard.push(instance.to_owned());
    }
}

fn play(stage: &mut Echo, script: Vec<Step>, tick_every: Duration) -> (Memory, Refused) {
    let mut memory = Memory::new(script);
    let cadence = Cadence {
        tick_every,
        ..Cadence::default()
    };
    let Ok(refused) = block_on(run(stage, &mut memory, cadence, None));
    (memory, refused)
}

#[test]
fn a_retained_offset_holds_the_commit_until_the_state_is_released() {
    let mut echo = Echo::default();
    let script = vec![
        Step::Input(0, 10, 1.0, None),
        Step::Input(0, 11, 2.0, None),
        Step::Input(1, 5, 2.5, None),
        Step::Idle,
        Step::Input(0, 12, 3.0, None),
    ];
    // Never ticks before the end: the stage holds what it echoed.
    let (memory, _) = play(&mut echo, script, Duration::from_secs(3600));
    let first = &memory.commits[0];
    assert_eq!(
        first.0,
        BTreeMap::from([(0, 10), (1, 5)]),
        "held at the first echoed offsets"
    );
    assert!(!first.1);
    let last = memory.commits.last().unwrap();
    assert_eq!(
        last.0,
        BTreeMap::from([(0, 10), (1, 5)]),
        "still held at the end"
    );
    assert!(last.1, "the last commit says so");
}

#[test]
fn a_tick_when_idle_releases_the_state_and_the_commit_moves_to_the_next_offset() {
    let mut echo = Echo::default();
    let script = vec![
        Step::Input(0, 10, 1.0, None),
        Step::Input(0, 11, 2.0, None),
        Step::Idle,
        Step::Input(0, 12, 3.0, None),
    ];
    let (memory, _) = play(&mut echo, script, Duration::ZERO);
    assert_eq!(
        echo.ticks,
        vec![2.0],
        "ticked once, when idle, at the transport's now"
    );
    assert_eq!(memory.commits[0].0, BTreeMap::from([(0, 12)]));
    assert_eq!(
        memory.commits[1].0,
        BTreeMap::from([(0, 12)]),
        "12 echoed, held"
    );
    assert_eq!(
        memory.sent(),
        vec!["echo 1", "echo 2", "tick 2", "echo 3", "flush"],
        "outputs routed in order, flushed at the end"
    );
    assert_eq!(memory.sent[2].1, Cause::Timer);
    assert_eq!(memory.sent[3].1, Cause::Input);
}

#[test]
fn refused_inputs_are_dead_lettered_with_their_origin_and_the_next_is_handled() {
    let mut echo = Echo::default();
    let script = vec![
        Step::Input(2, 7, -1.0, None),
        Step::Undecodable(2, 8),
        Step::Input(2, 9, 4.0, Some("collector-42")),
    ];
    let (memory, refused) = play(&mut echo, script, Duration::from_secs(3600));
    assert_eq!(
        memory.dead,
        vec![
            (
                Origin {
                    partition: 2,
                    offset: 7
                },
                RefusalKind::Refused
            ),
            (
                Origin {
                    partition: 2,
                    offset: 8
                },
                RefusalKind::Undecodable
            ),
        ]
    );
    assert_eq!(refused.count, 2);
    assert_eq!(refused.last.as_deref(), Some("not JSON"));
    assert_eq!(
        memory.sent(),
        vec!["echo 4", "flush"],
        "nothing of a refused input is sent"
    );
    assert_eq!(echo.heard, vec!["collector-42"]);
    // Refused inputs count as read: the commit passes them.
    assert_eq!(memory.commits.last().unwrap().0, BTreeMap::from([(2, 9)]));
}

#[test]
fn passed_inputs_move_the_commit_and_revoked_partitions_leave_it() {
    let mut echo = Echo::default();
    let script = vec![
        Step::Passed(3, 40),
        Step::Input(4, 1, 1.0, None),
        Step::Revoked(4),
        Step::Idle,
    ];
    let (memory, _) = play(&mut echo, script, Duration::from_secs(3600));
    assert_eq!(echo.revoked, vec![4]);
    assert_eq!(
        echo.heard,
        vec!["elsewhere"],
        "heard from whoever produced it"
    );
    assert_eq!(
        memory.commits[0].0,
        BTreeMap::from([(3, 41)]),
        "partition 4 is no longer ours"
    );
}
