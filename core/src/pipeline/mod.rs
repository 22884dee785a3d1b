//! In-process transports: the whole pipeline without a broker.
//!
//! Both drive the same [`Stage`]s the Kafka binaries drive, routing each
//! output to the stage that consumes its topic (SPEC §1), as the stages
//! declare it ([`Graph`], `graph.rs`):
//! - [`SyncPipeline`] handles every message to quiescence before the next,
//!   in one thread: deterministic, so `eval` gives byte-identical files.
//!   [`run_whole`] and [`run_split`] (`fanout.rs`) run a finite input
//!   through it, the latter with each window's stages on a worker thread.
//! - [`spawn_threaded`] runs each stage on its own thread, connected by
//!   channels, like the distributed deployment: a slow forest retrain does
//!   not hold up predictions. Each thread runs [`crate::run_loop::run`]
//!   over a channel transport (`threaded.rs`). [`spawn_watched`] adds
//!   per-stage metrics (`tweetoscope run --metrics-addr`).

mod fanout;
mod graph;
#[cfg(test)]
mod tests;
mod threaded;

use std::collections::VecDeque;

use crate::collector::Collector;
use crate::estimator::Estimator;
use crate::learner::Learner;
use crate::predictor::Predictor;
use crate::run_loop::step;
pub use crate::run_loop::{Refused, Watcher};
use crate::schema::Message;
use crate::stage::{Ctx, Flush, Stage};
pub use fanout::{Sink, Timed, run_split, run_whole};
pub use graph::Graph;
pub use threaded::{Envelope, Threaded, spawn_threaded, spawn_watched};

/// The four state machines of a pipeline. Without a learner, the predictor
/// keeps w = 1 (or the models it is given).
#[derive(Debug)]
pub struct Stages {
    pub collector: Collector,
    pub estimator: Estimator,
    pub predictor: Predictor,
    pub learner: Option<Learner>,
}

impl Stages {
    /// The stages, upstream first: the numbering of their [`Graph`].
    /// Adding a stage is its field above and its line here.
    pub fn each(&mut self) -> impl Iterator<Item = &mut dyn Stage> {
        [
            Some(&mut self.collector as &mut dyn Stage),
            Some(&mut self.estimator),
            Some(&mut self.predictor),
            self.learner.as_mut().map(|l| l as &mut dyn Stage),
        ]
        .into_iter()
        .flatten()
    }

    /// Stage `i` of [`Self::each`].
    pub fn get(&mut self, i: usize) -> Option<&mut dyn Stage> {
        self.each().nth(i)
    }

    /// The graph the stages declare.
    pub fn graph(&mut self) -> Graph {
        let stages: Vec<&mut dyn Stage> = self.each().collect();
        let view: Vec<&dyn Stage> = stages.iter().map(|s| &**s).collect();
        Graph::new(&view)
    }
}

/// The deterministic single-threaded driver.
#[derive(Debug)]
pub struct SyncPipeline {
    pub stages: Stages,
    graph: Graph,
    queue: VecDeque<Message>,
    out: Vec<Message>,
    offset: i64,
    pub refused: Refused,
}

impl SyncPipeline {
    pub fn new(mut stages: Stages) -> Self {
        Self {
            graph: stages.graph(),
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
        for stage in self.stages.each() {
            stage.tick(now, &mut out);
        }
        self.queue.extend(out.drain(..));
        self.out = out;
        self.drain(now, sink);
    }

    /// Ends the input: every stage flushes ([`Flush::EndOfInput`]),
    /// upstream first, what each produces handled downstream before the
    /// next flushes.
    pub fn finish(&mut self, now: f64, sink: &mut dyn FnMut(&Message)) {
        for i in 0..self.graph.len() {
            let mut out = std::mem::take(&mut self.out);
            if let Some(stage) = self.stages.get(i) {
                stage.flush(Flush::EndOfInput, &mut out);
            }
            self.queue.extend(out.drain(..));
            self.out = out;
            self.drain(now, sink);
        }
    }

    fn drain(&mut self, now: f64, sink: &mut dyn FnMut(&Message)) {
        while let Some(msg) = self.queue.pop_front() {
            sink(&msg);
            let topic = msg.topic();
            let mut msg = Some(msg);
            let consumers = self.graph.consumers(topic);
            for (k, &i) in consumers.iter().enumerate() {
                // Each reader but the last gets a copy.
                let copy = match k + 1 == consumers.len() {
                    true => msg.take(),
                    false => msg.clone(),
                };
                let (Some(copy), Some(stage)) = (copy, self.stages.get(i)) else {
                    continue;
                };
                self.offset += 1;
                let ctx = Ctx::in_process(now, self.offset);
                if let Err(why) = step(stage, topic, copy, ctx, &mut self.out, None) {
                    self.refused.record(stage.name(), topic, ctx.origin, &why);
                }
            }
            self.queue.extend(self.out.drain(..));
        }
    }
}
