//! In-process transports: the whole pipeline without a broker.
//!
//! Both drive the same [`Stage`]s the Kafka binaries drive, routing each
//! output to the stage that consumes its topic (SPEC §1):
//! - [`SyncPipeline`] handles every message to quiescence before the next,
//!   in one thread: deterministic, so `eval` gives byte-identical files.
//! - [`spawn_threaded`] runs each stage on its own thread, connected by
//!   channels, like the distributed deployment: a slow forest retrain does
//!   not hold up predictions. Each thread runs [`crate::run_loop::run`]
//!   over a channel transport (`threaded.rs`). [`spawn_observed`] adds
//!   per-stage metrics (`tweetoscope run --metrics-addr`).

#[cfg(test)]
mod tests;
mod threaded;

use std::collections::VecDeque;

use crate::collector::Collector;
use crate::estimator::Estimator;
use crate::learner::Learner;
use crate::predictor::Predictor;
use crate::run_loop::step;
pub use crate::run_loop::{Observer, Refused};
use crate::schema::{Message, Topic};
use crate::stage::{Ctx, Stage};
pub use threaded::{Envelope, Threaded, spawn_observed, spawn_threaded};

/// The four state machines of a pipeline. Without a learner, the predictor
/// keeps w = 1 (or the models it is given).
#[derive(Debug)]
pub struct Stages {
    pub collector: Collector,
    pub estimator: Estimator,
    pub predictor: Predictor,
    pub learner: Option<Learner>,
}

/// The deterministic single-threaded driver.
#[derive(Debug)]
pub struct SyncPipeline {
    pub stages: Stages,
    queue: VecDeque<Message>,
    out: Vec<Message>,
    offset: i64,
    pub refused: Refused,
}

impl SyncPipeline {
    pub fn new(stages: Stages) -> Self {
        Self {
            stages,
            queue: VecDeque::new(),
            out: Vec::new(),
            offset: 0,
            refused: Refused::default(),
        }
    }

    /// Feeds one message and everything it causes through the stages.
    /// `sink` sees every message, the input included, as it is routed.
    pub fn push(&mut self, msg: Message, now: f64, sink: &mut dyn FnMut(&Message)) {
        self.queue.push_back(msg);
        self.drain(now, sink);
    }

    /// Feeds messages an upstream stage produced at once (one of its
    /// `handle` calls) and everything they cause, in the order a single
    /// pipeline would have handled them.
    pub fn push_all(&mut self, msgs: Vec<Message>, now: f64, sink: &mut dyn FnMut(&Message)) {
        self.queue.extend(msgs);
        self.drain(now, sink);
    }

    /// Ticks every stage (expiry, timers).
    pub fn tick(&mut self, now: f64, sink: &mut dyn FnMut(&Message)) {
        self.tick_after(Vec::new(), now, sink);
    }

    /// [`Self::tick`] after an upstream stage's tick produced `upstream`:
    /// they are handled first, as when that stage ticks in this pipeline.
    pub fn tick_after(&mut self, upstream: Vec<Message>, now: f64, sink: &mut dyn FnMut(&Message)) {
        let mut out = std::mem::take(&mut self.out);
        out.extend(upstream);
        for stage in self.stages_mut() {
            stage.tick(now, &mut out);
        }
        self.queue.extend(out.drain(..));
        self.out = out;
        self.drain(now, sink);
    }

    /// Ends the input: every open cascade terminates, then every stage
    /// flushes, upstream first.
    pub fn finish(&mut self, now: f64, sink: &mut dyn FnMut(&Message)) {
        let mut out = std::mem::take(&mut self.out);
        self.stages.collector.finish(&mut out);
        self.queue.extend(out.drain(..));
        self.out = out;
        self.drain(now, sink);
        for i in 0..4 {
            let mut out = std::mem::take(&mut self.out);
            if let Some(stage) = self.stages_mut().into_iter().nth(i) {
                stage.flush(&mut out);
            }
            self.queue.extend(out.drain(..));
            self.out = out;
            self.drain(now, sink);
        }
    }

    fn stages_mut(&mut self) -> Vec<&mut dyn Stage> {
        let s = &mut self.stages;
        let mut v: Vec<&mut dyn Stage> = vec![&mut s.collector, &mut s.estimator, &mut s.predictor];
        if let Some(l) = s.learner.as_mut() {
            v.push(l);
        }
        v
    }

    fn drain(&mut self, now: f64, sink: &mut dyn FnMut(&Message)) {
        while let Some(msg) = self.queue.pop_front() {
            sink(&msg);
            let stage: &mut dyn Stage = match msg.topic() {
                Topic::Tweets => &mut self.stages.collector,
                Topic::CascadeSeries => &mut self.stages.estimator,
                Topic::CascadeProperties | Topic::Models => &mut self.stages.predictor,
                Topic::Samples => match self.stages.learner.as_mut() {
                    Some(learner) => learner,
                    None => continue,
                },
                Topic::Alerts | Topic::Stats | Topic::Logs => continue,
            };
            self.offset += 1;
            let (topic, ctx) = (msg.topic(), Ctx::in_process(now, self.offset));
            if let Err(why) = step(stage, topic, msg, ctx, &mut self.out, None) {
                self.refused.record(stage.name(), topic, ctx.origin, &why);
            }
            self.queue.extend(self.out.drain(..));
        }
    }
}
