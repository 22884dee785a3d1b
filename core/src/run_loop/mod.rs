//! THE run loop of a stage, written once, over a [`Transport`]: the
//! threaded in-process pipeline runs it over channels
//! ([`crate::pipeline::spawn_threaded`]), the Kafka binaries over a
//! consumer and a producer (`crate::kafka::driver`), the tests over an
//! in-memory script. [`crate::pipeline::SyncPipeline`], which routes
//! between four stages in one queue, uses its per-message [`step`] and
//! [`Refused`] accounting.
//!
//! What every loop does, whatever the transport:
//! - handles each input with its [`Ctx`] (time and origin), tells the stage
//!   who produced it ([`Stage::heard`]);
//! - counts and logs a refused input (undecodable, invalid, or refused by
//!   the stage) with where it came from, and hands it to the transport to
//!   dead-letter; the next input is handled as usual;
//! - hands the outputs of each input to the transport to route;
//! - when a batch closes ([`Event::Idle`]), ticks the stage (at most every
//!   `tick_every`) and commits, per input partition, the next offset to
//!   read held back to [`Stage::retained_offset`]: a restarted stage
//!   rebuilds its in-memory state by replay;
//! - drops the state of revoked partitions ([`Stage::revoke`]);
//! - calls [`Stage::observe`] about once a second and at the end;
//! - at the end of the input or on a stop request, flushes the stage,
//!   sends what it produced and commits a last time.
//!
//! The transport is async because the Kafka one is: rdkafka's
//! `StreamConsumer` and the producer's delivery futures run on tokio, and
//! the Kafka tests and the chaos test rely on its batching (`--batch`,
//! `--batch-wait`, a batch closing early when the input pauses), on
//! signals arriving while a receive waits, and on a shutdown grace that
//! bounds every wait. A synchronous trait over `BaseConsumer::poll` would
//! have meant rewriting the producer side too. The in-process transports
//! never wait on anything but their channel, so their futures are ready at
//! once and [`block_on`] (std only: the default build has no tokio) runs
//! them on the stage's thread.

mod step;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::schema::{Message, Topic, Window};
use crate::stage::{Ctx, Flush, Stage, StageReport};

pub use step::{Refusal, RefusalKind, Refused, step};

/// What a transport says next.
// Most events carry an input: boxing it would add an allocation per input
// to save room only in the rare others.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event<'a> {
    /// One input to handle, or an input that could not be decoded.
    Input(Input<'a>),
    /// An input read but not for this stage (e.g. produced again to its
    /// window's partition): it counts as read for the commit.
    Passed {
        topic: Topic,
        ctx: Ctx,
        instance: Option<&'a str>,
    },
    /// The transport lost these partitions of these input topics.
    Revoked(Vec<(Topic, Vec<i32>)>),
    /// The batch closed (full, timed out, or the input paused).
    Idle,
    /// The input ended, or a stop was requested: flush and commit.
    Stop,
}

/// One input as the transport delivers it.
#[derive(Debug)]
pub struct Input<'a> {
    pub topic: Topic,
    pub ctx: Ctx,
    /// Who produced it (`stage-pid`), when the transport knows.
    pub instance: Option<&'a str>,
    /// The decoded message, or why it could not be decoded.
    pub msg: Result<Message, Refusal>,
}

/// Why the outputs being sent were produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Handling the last input the transport delivered.
    Input,
    /// A tick or the final flush.
    Timer,
}

/// The input, the outputs and the commits of one stage.
// The transports are this crate's and are driven by `run` on the thread
// (or runtime) that created them: no caller needs a `Send` bound on these
// futures, which `async fn` cannot state.
#[allow(async_fn_in_trait)]
pub trait Transport {
    type Error;

    /// Waits for what happens next.
    async fn next(&mut self) -> Result<Event<'_>, Self::Error>;

    /// Routes `out` (drained), produced for `cause`.
    async fn send(&mut self, out: &mut Vec<Message>, cause: Cause) -> Result<(), Self::Error>;

    /// Dead-letters the last input delivered, refused for `why`.
    async fn dead_letter(&mut self, why: &Refusal) -> Result<(), Self::Error>;

    /// Everything sent so far is to be delivered, then each input
    /// partition committed up to its bound (the next offset to read).
    /// `last`: the loop is stopping, nothing follows.
    async fn commit(&mut self, bounds: &[Bound], last: bool) -> Result<(), Self::Error>;

    /// The `now` of a tick: wall clock, or the in-process simulated clock.
    fn now(&self) -> f64;
}

/// How far an input partition may be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub topic: Topic,
    pub partition: i32,
    pub offset: i64,
}

/// Watches one stage's loop: metrics and liveness (the telemetry module
/// implements it; `None` for a loop nobody watches). It is also where the
/// stage's [`Stage::observe`] report goes: "observe" is that report only.
pub trait Watcher: StageReport + Send {
    /// One input handled: its topic and window, what came out, how long.
    fn handled(
        &mut self,
        input: Topic,
        window: Option<Window>,
        outputs: &[Message],
        elapsed: Duration,
    );
    /// The loop went round (liveness).
    fn beat(&mut self) {}
}

/// How often the loop does what it does on a timer.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// Shortest time between two ticks (checked when a batch closes).
    pub tick_every: Duration,
    /// Time between two [`Stage::observe`] calls.
    pub observe_every: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Self {
            tick_every: Duration::from_secs(1),
            observe_every: Duration::from_secs(1),
        }
    }
}

/// Runs `stage` over `transport` until [`Event::Stop`]; returns the count
/// of refused inputs. Errors are the transport's (a broker gone past the
/// grace, ...): a bad input never stops the loop.
pub async fn run<S: Stage + ?Sized, T: Transport>(
    stage: &mut S,
    transport: &mut T,
    cadence: Cadence,
    mut watcher: Option<&mut dyn Watcher>,
) -> Result<Refused, T::Error> {
    let mut out = Vec::new();
    let mut next: HashMap<(Topic, i32), i64> = HashMap::new();
    let mut refused = Refused::default();
    let (mut last_tick, mut last_observe) = (Instant::now(), Instant::now());
    loop {
        if let Some(o) = reborrow(&mut watcher) {
            o.beat();
            if last_observe.elapsed() >= cadence.observe_every {
                last_observe = Instant::now();
                stage.observe(o);
            }
        }
        match transport.next().await? {
            Event::Input(input) => {
                let (topic, ctx) = (input.topic, input.ctx);
                let origin = ctx.origin;
                next.insert((topic, origin.partition), origin.offset + 1);
                if let Some(instance) = input.instance {
                    stage.heard(topic, instance, ctx.now);
                }
                let handled = input
                    .msg
                    .and_then(|msg| step(stage, topic, msg, ctx, &mut out, reborrow(&mut watcher)));
                match handled {
                    Ok(()) => transport.send(&mut out, Cause::Input).await?,
                    Err(why) => {
                        refused.record(stage.name(), topic, origin, &why);
                        transport.dead_letter(&why).await?;
                    }
                }
            }
            Event::Passed {
                topic,
                ctx,
                instance,
            } => {
                next.insert((topic, ctx.origin.partition), ctx.origin.offset + 1);
                if let Some(instance) = instance {
                    stage.heard(topic, instance, ctx.now);
                }
            }
            Event::Revoked(lost) => {
                for (topic, partitions) in lost {
                    for p in &partitions {
                        next.remove(&(topic, *p));
                    }
                    stage.revoke(topic, &partitions);
                }
            }
            Event::Idle => {
                if last_tick.elapsed() >= cadence.tick_every {
                    last_tick = Instant::now();
                    stage.tick(transport.now(), &mut out);
                    transport.send(&mut out, Cause::Timer).await?;
                }
                transport.commit(&bounds(stage, &next), false).await?;
            }
            Event::Stop => break,
        }
    }
    // The loop stops on a signal or when its channel closes: the input
    // itself goes on (a topic), or is cut short (the threaded demo).
    stage.flush(Flush::Shutdown, &mut out);
    transport.send(&mut out, Cause::Timer).await?;
    if let Some(o) = watcher {
        stage.observe(o);
    }
    transport.commit(&bounds(stage, &next), true).await?;
    Ok(refused)
}

/// The watcher for one call, the loop keeping it.
fn reborrow<'s>(watcher: &'s mut Option<&mut dyn Watcher>) -> Option<&'s mut dyn Watcher> {
    match watcher {
        Some(o) => Some(&mut **o),
        None => None,
    }
}

/// Per input partition, the next offset to read held back to the oldest
/// one whose effect lives only in the stage's memory.
fn bounds<S: Stage + ?Sized>(stage: &S, next: &HashMap<(Topic, i32), i64>) -> Vec<Bound> {
    next.iter()
        .map(|(&(topic, partition), &at)| Bound {
            topic,
            partition,
            offset: stage
                .retained_offset(topic, partition)
                .map_or(at, |retained| at.min(retained)),
        })
        .collect()
}

/// Runs a future on this thread, parking while it is pending: enough for
/// the in-process transports, whose only waits are blocking channel reads.
pub fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
