//! The threaded in-process pipeline: one thread per stage, each running
//! [`run_loop::run`] over its [`Channel`], outputs routed by topic.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Graph, Stages, Watcher};
use crate::collector::Collector;
use crate::estimator::Estimator;
use crate::learner::Learner;
use crate::predictor::Predictor;
use crate::run_loop::{self, Bound, Cadence, Cause, Event, Input, Refusal, Transport};
use crate::schema::{Message, PropertiesMsg};
use crate::stage::{Ctx, Stage};

/// What flows between stage threads.
// Every envelope but a stream's last carries a message: boxing it would add
// an allocation per message to save room only in `Done`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Envelope {
    Msg(Message, f64),
    /// One upstream producer has finished.
    Done,
}

/// Where each topic goes in the threaded pipeline: to its readers in the
/// [`Graph`], one channel per stage; what no stage reads goes to the sink.
#[derive(Debug, Clone)]
struct Router {
    graph: Arc<Graph>,
    stages: Vec<Sender<Envelope>>,
    sink: Sender<Message>,
}

impl Router {
    fn send(&self, msg: Message, now: f64) {
        // A send fails only when the consumer has already stopped (shutdown);
        // the message then has nowhere to go, as with a closed producer.
        let readers = self.graph.consumers(msg.topic());
        // The sink counts the cascades sent for estimation, sees the fits
        // to score alerts against true sizes, and the models, to tell
        // alerts made with one.
        let tapped = matches!(
            msg,
            Message::Series(_)
                | Message::Properties(PropertiesMsg::Parameters(_))
                | Message::Model(_)
        );
        if readers.is_empty() || tapped {
            let _ = self.sink.send(msg.clone());
        }
        for &i in readers {
            let _ = self.stages[i].send(Envelope::Msg(msg.clone(), now));
        }
    }

    /// Stage `i` has finished: its downstream stages hear one end each.
    fn done(&self, i: usize) {
        for &j in self.graph.downstream(i) {
            let _ = self.stages[j].send(Envelope::Done);
        }
    }
}

/// The running threaded pipeline: feed tweets into `input`, send
/// [`Envelope::Done`] when the input ends, read alerts and stats from the
/// receiver [`spawn_threaded`] returned, then [`Threaded::join`] to get the
/// stages back (with their counters).
#[derive(Debug)]
pub struct Threaded {
    pub input: Sender<Envelope>,
    collector: JoinHandle<Collector>,
    estimator: JoinHandle<Estimator>,
    predictor: JoinHandle<Predictor>,
    learner: Option<JoinHandle<Learner>>,
}

/// Starts one thread per stage; the receiver yields series, parameters,
/// alerts, stats and logs.
pub fn spawn_threaded(stages: Stages) -> (Threaded, Receiver<Message>) {
    spawn_watched(stages, &|_| None)
}

/// [`spawn_threaded`], each stage thread reporting to its watcher.
pub fn spawn_watched(
    stages: Stages,
    watchers: &dyn Fn(&'static str) -> Option<Box<dyn Watcher>>,
) -> (Threaded, Receiver<Message>) {
    let mut stages = stages;
    let graph = Arc::new(stages.graph());
    let (sink, output) = channel();
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..graph.len())
        .map(|_| {
            let (tx, rx) = channel();
            (tx, Some(rx))
        })
        .unzip();
    let router = Router {
        graph,
        stages: txs,
        sink,
    };
    let input = router.stages[0].clone();
    let mut spawner = Spawner {
        next: 0,
        rxs,
        router,
        watchers,
    };
    let collector = spawner.spawn(stages.collector);
    let estimator = spawner.spawn(stages.estimator);
    let predictor = spawner.spawn(stages.predictor);
    let learner = stages.learner.take().map(|l| spawner.spawn(l));
    (
        Threaded {
            input,
            collector,
            estimator,
            predictor,
            learner,
        },
        output,
    )
}

impl Threaded {
    /// Waits for every stage to finish (after the input sent Done) and
    /// returns them.
    pub fn join(self) -> std::thread::Result<Stages> {
        drop(self.input);
        let collector = self.collector.join()?;
        let estimator = self.estimator.join()?;
        let predictor = self.predictor.join()?;
        let learner = self.learner.map(JoinHandle::join).transpose()?;
        Ok(Stages {
            collector,
            estimator,
            predictor,
            learner,
        })
    }
}

/// How long a stage thread waits for input before it ticks.
const IDLE: Duration = Duration::from_millis(200);

/// Starts the stages on their threads, in the order of their [`Graph`].
struct Spawner<'a> {
    next: usize,
    rxs: Vec<Option<Receiver<Envelope>>>,
    router: Router,
    watchers: &'a dyn Fn(&'static str) -> Option<Box<dyn Watcher>>,
}

impl Spawner<'_> {
    /// Starts the graph's next stage on its own thread.
    fn spawn<S: Stage + Send + 'static>(&mut self, stage: S) -> JoinHandle<S> {
        let i = self.next;
        self.next += 1;
        let rx = self.rxs.get_mut(i).and_then(Option::take);
        let router = self.router.clone();
        let watcher = (self.watchers)(stage.name());
        std::thread::spawn(move || match rx {
            Some(rx) => run_stage(stage, i, rx, router, watcher),
            // Not a stage of the graph: nothing comes to it.
            None => stage,
        })
    }
}

/// One stage thread, stage `i` of the graph: [`run_loop::run`] over its
/// channels, then its end of stream handed downstream once every upstream
/// producer has ended.
fn run_stage<S: Stage>(
    mut stage: S,
    i: usize,
    rx: Receiver<Envelope>,
    router: Router,
    mut watcher: Option<Box<dyn Watcher>>,
) -> S {
    let mut channel = Channel {
        rx,
        upstreams: router.graph.upstreams(i),
        finished: 0,
        now: 0.0,
        offset: 0,
        router,
    };
    // Ticks whenever the input pauses, as in a simulation the stage's
    // clock only moves with its input.
    let cadence = Cadence {
        tick_every: Duration::ZERO,
        ..Cadence::default()
    };
    let watcher = watcher.as_deref_mut().map(|o| o as &mut dyn Watcher);
    let Ok(_) = run_loop::block_on(run_loop::run(&mut stage, &mut channel, cadence, watcher));
    channel.router.done(i);
    stage
}

/// The channel transport of one stage thread: inputs numbered from 1 on
/// partition 0, outputs routed by topic; nothing to commit, and a refused
/// input is only counted and logged (the thread keeps no dead letters).
#[derive(Debug)]
struct Channel {
    rx: Receiver<Envelope>,
    upstreams: usize,
    finished: usize,
    /// The time of the last input: the stage's clock.
    now: f64,
    offset: i64,
    router: Router,
}

impl Transport for Channel {
    type Error = Infallible;

    async fn next(&mut self) -> Result<Event<'_>, Infallible> {
        loop {
            return Ok(match self.rx.recv_timeout(IDLE) {
                Ok(Envelope::Msg(msg, t)) => {
                    self.now = t;
                    self.offset += 1;
                    Event::Input(Input {
                        topic: msg.topic(),
                        ctx: Ctx::in_process(t, self.offset),
                        instance: None,
                        msg: Ok(msg),
                    })
                }
                Ok(Envelope::Done) => {
                    self.finished += 1;
                    if self.finished < self.upstreams {
                        continue;
                    }
                    Event::Stop
                }
                Err(RecvTimeoutError::Timeout) => Event::Idle,
                Err(RecvTimeoutError::Disconnected) => Event::Stop,
            });
        }
    }

    async fn send(&mut self, out: &mut Vec<Message>, _: Cause) -> Result<(), Infallible> {
        for msg in out.drain(..) {
            self.router.send(msg, self.now);
        }
        Ok(())
    }

    async fn dead_letter(&mut self, _: &Refusal) -> Result<(), Infallible> {
        Ok(())
    }

    async fn commit(&mut self, _: &[Bound], _: bool) -> Result<(), Infallible> {
        Ok(())
    }

    fn now(&self) -> f64 {
        self.now
    }
}
