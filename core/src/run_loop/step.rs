//! What every driver does with one input: handle it, observe it, or
//! account for its refusal.

use std::time::Instant;

use super::Watcher;
use crate::schema::{Message, Topic};
use crate::stage::{Ctx, Origin, Stage};

/// Why an input was refused, as a bounded label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// Not JSON, or not the topic's schema.
    Undecodable,
    /// Decoded, but the values are unusable (non-finite, unsorted...).
    Invalid,
    /// The stage refused it.
    Refused,
}

impl RefusalKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Undecodable => "undecodable",
            Self::Invalid => "invalid",
            Self::Refused => "refused",
        }
    }
}

/// An input refused, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub kind: RefusalKind,
    pub reason: String,
}

/// Inputs refused so far: the count every driver keeps, the last reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refused {
    pub count: u64,
    pub last: Option<String>,
}

impl Refused {
    /// Counts and logs one refusal with where the input came from.
    pub fn record(&mut self, stage: &'static str, topic: Topic, origin: Origin, why: &Refusal) {
        self.count += 1;
        tracing::warn!(
            stage,
            %topic,
            partition = origin.partition,
            offset = origin.offset,
            kind = why.kind.label(),
            reason = why.reason,
            "message refused"
        );
        self.last = Some(why.reason.clone());
    }
}

/// Handles one decoded input, pushing its outputs into `out` and telling
/// the watcher; a refused input leaves nothing in `out`.
pub fn step<S: Stage + ?Sized>(
    stage: &mut S,
    topic: Topic,
    msg: Message,
    ctx: Ctx,
    out: &mut Vec<Message>,
    watcher: Option<&mut dyn Watcher>,
) -> Result<(), Refusal> {
    let window = msg.window();
    let started = watcher.is_some().then(Instant::now);
    let before = out.len();
    if let Err(error) = stage.handle(msg, ctx, out) {
        out.truncate(before);
        return Err(Refusal {
            kind: RefusalKind::Refused,
            reason: error.to_string(),
        });
    }
    if let (Some(o), Some(started)) = (watcher, started) {
        o.handled(topic, window, &out[before..], started.elapsed());
    }
    Ok(())
}
