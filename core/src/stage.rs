//! The contract between a pipeline stage and whatever drives it.
//!
//! A stage is a state machine: it takes one decoded message at a time and
//! pushes the messages it produces into `out`. It does no I/O and never
//! reads a clock: the driver passes `now` (wall-clock seconds in production,
//! the simulated clock in `eval`) and where the message came from, so every
//! rule is testable in a plain `#[test]` and both transports (in-process and
//! Kafka) run the very same code.

use crate::hawkes::MarkLaw;
use crate::schema::{Decoder, Message, Topic};

/// Where an input came from on its transport. The in-process transport
/// numbers messages on partition 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    pub partition: i32,
    pub offset: i64,
}

/// What the driver tells a stage along with each message.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ctx {
    /// Seconds: wall clock in production, simulated clock in `eval`.
    pub now: f64,
    pub origin: Origin,
}

impl Ctx {
    /// The context of an in-process driver: one partition, its messages
    /// numbered from 1.
    pub fn in_process(now: f64, offset: i64) -> Self {
        Self {
            now,
            origin: Origin {
                partition: 0,
                offset,
            },
        }
    }
}

/// Why a stage is flushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// A finite input has ended (`eval`): nothing more will come, so what
    /// waits for more can be decided now (the collector ends every source,
    /// as if each had sent `end`).
    EndOfInput,
    /// The process stops while the input goes on (SIGTERM/SIGINT, the end
    /// of the threaded demo): what is held stays uncommitted, and the next
    /// owner of the partitions rebuilds it by replay.
    Shutdown,
}

/// Why a stage refused a message. The driver counts it, logs it with its
/// origin and dead-letters it; it never stops the stage.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{stage} does not consume {topic} messages")]
    UnexpectedTopic { stage: &'static str, topic: Topic },
    #[error("{0}")]
    Invalid(String),
}

/// A pipeline stage as a pure state machine.
pub trait Stage {
    /// Used in logs, metrics and consumer group ids.
    fn name(&self) -> &'static str;

    /// The topics this stage consumes.
    fn inputs(&self) -> &'static [Topic];

    /// The topics this stage produces. With [`Stage::inputs`], the edges of
    /// the pipeline's graph ([`crate::pipeline::Graph`]): the in-process
    /// pipelines route by them, the Kafka driver creates these topics.
    fn outputs(&self) -> &'static [Topic] {
        &[]
    }

    /// Inputs read whole, without the consumer group, before consuming:
    /// what they hold from before a restart (the latest models) is known
    /// before the first message. Only the Kafka driver preloads.
    fn preload(&self) -> &'static [Topic] {
        &[]
    }

    /// How a transport reads this stage's inputs: a stage configured with
    /// a magnitude law completes 2020-edition parameters with it.
    fn decoder(&self) -> Decoder {
        Decoder::new(MarkLaw::COURSE)
    }

    /// Handles one message, pushing what it produces into `out`.
    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError>;

    /// Called periodically by the driver: expire state, publish on a timer.
    fn tick(&mut self, _now: f64, _out: &mut Vec<Message>) {}

    /// Called once at the end of the stream: the end of a finite input, or
    /// a clean shutdown (see [`Flush`]). Drivers call it on every stage
    /// alike, never a stage's own methods by name.
    fn flush(&mut self, _reason: Flush, _out: &mut Vec<Message>) {}

    /// The oldest input offset on `partition` whose effect still lives only
    /// in this stage's memory. A driver commits no further than this, so a
    /// restarted stage rebuilds that state by replay. `None`: nothing held.
    /// Stages reading several topics answer per topic.
    fn retained_offset(&self, _topic: Topic, _partition: i32) -> Option<i64> {
        None
    }

    /// The driver lost these partitions of input `topic` (rebalance): drop
    /// their state, the new owner rebuilds it from the committed offsets.
    fn revoke(&mut self, _topic: Topic, _partitions: &[i32]) {}

    /// The next input on `topic` was produced by `instance` (`stage-pid`,
    /// the Kafka record's `instance` header), heard at `now`. Only the
    /// dashboard cares: it shows the stages it hears from and how recently.
    fn heard(&mut self, _topic: Topic, _instance: &str, _now: f64) {}

    /// Reports the counters and levels the stage keeps anyway (late
    /// tweets, unmatched halves, model versions...). The driver calls it
    /// about once a second; the telemetry module turns the values into
    /// Prometheus metrics, so the stage never touches Prometheus and
    /// nothing is counted twice. Per-message observations (fit durations,
    /// ARE values) are read by the driver from the messages in and out.
    fn observe(&self, _report: &mut dyn StageReport) {}
}

/// Where a stage reports its own counters and levels; see
/// [`Stage::observe`]. `noun` becomes `tweetoscope_<stage>_<noun>` (plus
/// `_total` for counters). Labels must be bounded: window, topic,
/// partition, outcome or reason, never a cascade id (others are refused).
pub trait StageReport {
    /// A count since the stage started (monotonic).
    fn counter(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: u64,
    );
    /// A level that goes up and down.
    fn gauge(
        &mut self,
        noun: &'static str,
        help: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    );
}

/// Records what a stage reports, by name and labels (the stages' tests).
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Recorder(pub std::collections::BTreeMap<String, f64>);

#[cfg(test)]
impl StageReport for Recorder {
    fn counter(
        &mut self,
        noun: &'static str,
        _: &'static str,
        labels: &[(&'static str, &str)],
        value: u64,
    ) {
        self.0.insert(format!("{noun}{labels:?}"), value as f64);
    }
    fn gauge(
        &mut self,
        noun: &'static str,
        _: &'static str,
        labels: &[(&'static str, &str)],
        value: f64,
    ) {
        self.0.insert(format!("{noun}{labels:?}"), value);
    }
}
