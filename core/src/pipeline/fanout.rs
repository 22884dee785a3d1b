//! A finite input through the whole pipeline, deterministically: on one
//! thread ([`run_whole`]), or with the first stage on this thread and the
//! rest split by observation window over worker threads ([`run_split`]),
//! each a [`SyncPipeline`]. `tweetoscope eval` runs both; the output is
//! the same for every number of workers.
//!
//! Everything downstream of the first stage (the collector) is
//! independent per window (a window's series, parameters, sizes, samples
//! and model never meet another's), so each window's messages can go to
//! their own worker, fed the first stage's outputs in their order. A
//! window's messages are then handled in the order one pipeline handles
//! them; a [`Sink`] is told which of the first stage's calls (`unit`) each
//! message follows from, so that lines sorted by unit come out the same.

use std::sync::mpsc::SyncSender;

use super::{Stages, SyncPipeline};
use crate::run_loop::{Refused, step};
use crate::schema::{Message, Window};
use crate::stage::{Ctx, Flush};

/// What sees every message routed, and which call of the first stage it
/// follows from (its `unit`, numbered from 1: inputs, ticks, the end).
pub trait Sink {
    fn see(&mut self, unit: u64, msg: &Message);
}

/// One input of the pipeline, at its (simulated) time.
#[derive(Debug)]
pub struct Timed {
    pub at: f64,
    pub msg: Message,
}

/// Runs `inputs` through one [`SyncPipeline`] on this thread, ticking
/// every stage each `tick_every` of input time, then ends the input.
pub fn run_whole(
    stages: Stages,
    inputs: impl Iterator<Item = Timed>,
    tick_every: f64,
    sink: &mut dyn Sink,
) {
    let mut pipeline = SyncPipeline::new(stages);
    let mut unit = 0;
    let mut next_tick = 0.0;
    let mut now = 0.0;
    for input in inputs {
        now = input.at;
        unit += 1;
        pipeline.push(input.msg, now, &mut |m| sink.see(unit, m));
        if now >= next_tick {
            unit += 1;
            pipeline.tick(now, &mut |m| sink.see(unit, m));
            next_tick = now + tick_every;
        }
    }
    unit += 1;
    pipeline.finish(now, &mut |m| sink.see(unit, m));
}

/// Work items per channel send to a window worker: one send (and maybe
/// one wake-up) per batch rather than per item. With one send per item,
/// the futex calls were 8 % of eval's CPU (perf, 2026-12-05).
const WORK_BATCH: usize = 256;

/// What the first stage's thread sends a window worker; `unit` numbers
/// the first stage's calls, as in [`run_whole`].
enum Work {
    Handle(u64, f64, Vec<Message>),
    Tick(u64, f64, Vec<Message>),
    Finish(u64, f64, Vec<Message>),
}

/// The first stage's side of the window workers' channels.
struct Fanout<'w> {
    txs: Vec<SyncSender<Vec<Work>>>,
    /// Per worker, the items not sent yet.
    queued: Vec<Vec<Work>>,
    windows: &'w [Window],
}

impl Fanout<'_> {
    /// The worker of a message's window; `None`: a message of no window,
    /// which no later stage reads.
    fn worker_of(&self, msg: &Message) -> Option<usize> {
        let w = msg.window()?;
        let at = self.windows.iter().position(|x| *x == w).unwrap_or(0);
        Some(at % self.txs.len())
    }

    /// Queues each worker's share of one call of the first stage (`all`:
    /// an item for every worker, even one with no messages: a tick, the
    /// end).
    fn send(
        &mut self,
        kind: fn(u64, f64, Vec<Message>) -> Work,
        unit: u64,
        now: f64,
        msgs: Vec<Message>,
        all: bool,
    ) {
        let mut split: Vec<Vec<Message>> = vec![Vec::new(); self.txs.len()];
        for m in msgs {
            if let Some(i) = self.worker_of(&m) {
                split[i].push(m);
            }
        }
        for ((tx, queued), msgs) in self.txs.iter().zip(&mut self.queued).zip(split) {
            if all || !msgs.is_empty() {
                queued.push(kind(unit, now, msgs));
            }
            if queued.len() >= WORK_BATCH {
                // A worker stops only when the scope ends.
                let _ = tx.send(std::mem::take(queued));
            }
        }
    }

    /// Sends what is queued; the workers end once they have handled it.
    fn close(self) {
        for (tx, queued) in self.txs.iter().zip(self.queued) {
            if !queued.is_empty() {
                let _ = tx.send(queued);
            }
        }
    }
}

/// Runs `inputs` through the pipeline `build` makes, its first stage on
/// this thread and the windows' stages on `workers` threads (window `i`
/// on worker `i % workers`, at most one per window), each with the sink
/// `sink` makes; returns the sinks and what the first stage refused.
/// A panicking worker is reported as `None`.
pub fn run_split<S: Sink + Send>(
    build: &(dyn Fn() -> Stages + Sync),
    inputs: impl Iterator<Item = Timed>,
    windows: &[Window],
    workers: usize,
    tick_every: f64,
    sink: &(dyn Fn() -> S + Sync),
) -> (Option<Vec<S>>, Refused) {
    let workers = workers.min(windows.len()).max(1);
    std::thread::scope(|scope| {
        let mut txs = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..workers {
            // Bounded: the first stage runs at most this far ahead.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Work>>(64);
            let mut s = sink();
            let mut pipeline = SyncPipeline::new(build());
            txs.push(tx);
            handles.push(scope.spawn(move || {
                for work in rx.into_iter().flatten() {
                    match work {
                        Work::Handle(unit, now, msgs) => {
                            pipeline.push_all(msgs, now, &mut |m| s.see(unit, m));
                        }
                        Work::Tick(unit, now, msgs) => {
                            pipeline.tick_after(msgs, now, &mut |m| s.see(unit, m));
                        }
                        Work::Finish(unit, now, msgs) => {
                            pipeline.push_all(msgs, now, &mut |m| s.see(unit, m));
                            pipeline.finish(now, &mut |m| s.see(unit, m));
                        }
                    }
                }
                s
            }));
        }
        // The first stage's calls, each output to its window's worker;
        // ticks and the end go to every worker, whose stages tick too.
        let mut fanout = Fanout {
            txs,
            queued: (0..workers).map(|_| Vec::new()).collect(),
            windows,
        };
        let refused = feed(&mut build(), inputs, tick_every, &mut fanout);
        fanout.close();
        let sinks = handles.into_iter().map(|h| h.join().ok()).collect();
        (sinks, refused)
    })
}

/// Runs the first stage of `stages` over `inputs`, handing what each call
/// produces to the window workers.
fn feed(
    stages: &mut Stages,
    inputs: impl Iterator<Item = Timed>,
    tick_every: f64,
    fanout: &mut Fanout,
) -> Refused {
    let mut refused = Refused::default();
    let Some(first) = stages.get(0) else {
        return refused;
    };
    let (mut unit, mut offset) = (0u64, 0i64);
    let mut out = Vec::new();
    let mut next_tick = 0.0;
    let mut now = 0.0;
    for input in inputs {
        now = input.at;
        unit += 1;
        offset += 1;
        let (topic, ctx) = (input.msg.topic(), Ctx::in_process(now, offset));
        if let Err(why) = step(first, topic, input.msg, ctx, &mut out, None) {
            refused.record(first.name(), topic, ctx.origin, &why);
        }
        if !out.is_empty() {
            fanout.send(Work::Handle, unit, now, std::mem::take(&mut out), false);
        }
        if now >= next_tick {
            unit += 1;
            first.tick(now, &mut out);
            fanout.send(Work::Tick, unit, now, std::mem::take(&mut out), true);
            next_tick = now + tick_every;
        }
    }
    unit += 1;
    first.flush(Flush::EndOfInput, &mut out);
    fanout.send(Work::Finish, unit, now, out, true);
    refused
}
