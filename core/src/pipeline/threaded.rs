//! The threaded in-process pipeline: one thread per stage, each running
//! [`run_loop::run`] over its [`Channel`], outputs routed by topic.

use std::convert::Infallible;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Observer, Stages};
use crate::collector::Collector;
use crate::estimator::Estimator;
use crate::learner::Learner;
use crate::predictor::Predictor;
use crate::run_loop::{self, Bound, Cadence, Cause, Event, Input, Refusal, Transport};
use crate::schema::{Message, PropertiesMsg, Topic};
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

/// Where each topic goes in the threaded pipeline.
#[derive(Debug, Clone)]
struct Router {
    collector: Sender<Envelope>,
    estimator: Sender<Envelope>,
    predictor: Sender<Envelope>,
    learner: Option<Sender<Envelope>>,
    sink: Sender<Message>,
}

impl Router {
    fn send(&self, msg: Message, now: f64) {
        // A send fails only when the consumer has already stopped (shutdown);
        // the message then has nowhere to go, as with a closed producer.
        let tx = match msg.topic() {
            Topic::Tweets => &self.collector,
            Topic::CascadeSeries => {
                // The sink counts the cascades sent for estimation.
                let _ = self.sink.send(msg.clone());
                &self.estimator
            }
            Topic::CascadeProperties => {
                // The sink sees the fits, to score alerts against true sizes.
                if matches!(msg, Message::Properties(PropertiesMsg::Parameters(_))) {
                    let _ = self.sink.send(msg.clone());
                }
                &self.predictor
            }
            Topic::Models => &self.predictor,
            Topic::Samples => match &self.learner {
                Some(l) => l,
                None => return,
            },
            Topic::Alerts | Topic::Stats | Topic::Logs => {
                let _ = self.sink.send(msg);
                return;
            }
        };
        let _ = tx.send(Envelope::Msg(msg, now));
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
    spawn_observed(stages, &|_| None)
}

/// [`spawn_threaded`], each stage thread reporting to its observer.
pub fn spawn_observed(
    stages: Stages,
    observers: &dyn Fn(&'static str) -> Option<Box<dyn Observer>>,
) -> (Threaded, Receiver<Message>) {
    let (ctx, crx) = channel();
    let (etx, erx) = channel();
    let (ptx, prx) = channel();
    let (sink, output) = channel();
    let (ltx, lrx) = match stages.learner.is_some() {
        true => {
            let (t, r) = channel();
            (Some(t), Some(r))
        }
        false => (None, None),
    };
    let router = Router {
        collector: ctx.clone(),
        estimator: etx,
        predictor: ptx,
        learner: ltx,
        sink,
    };
    // Done flows along the acyclic part of the graph: collector -> estimator
    // and predictor, estimator -> predictor, predictor -> learner. The
    // learner's models loop back to the predictor and are not waited for.
    let r = router.clone();
    let obs = observers(stages.collector.name());
    let collector = std::thread::spawn(move || {
        run_stage(stages.collector, crx, 1, r.clone(), obs, move |r| {
            let _ = r.estimator.send(Envelope::Done);
            let _ = r.predictor.send(Envelope::Done);
        })
    });
    let r = router.clone();
    let obs = observers(stages.estimator.name());
    let estimator = std::thread::spawn(move || {
        run_stage(stages.estimator, erx, 1, r, obs, |r| {
            let _ = r.predictor.send(Envelope::Done);
        })
    });
    let r = router.clone();
    let obs = observers(stages.predictor.name());
    let predictor = std::thread::spawn(move || {
        run_stage(stages.predictor, prx, 2, r, obs, |r| {
            if let Some(l) = &r.learner {
                let _ = l.send(Envelope::Done);
            }
        })
    });
    let learner = match (stages.learner, lrx) {
        (Some(l), Some(rx)) => {
            let r = router.clone();
            let obs = observers(l.name());
            Some(std::thread::spawn(move || {
                run_stage(l, rx, 1, r, obs, |_| {})
            }))
        }
        _ => None,
    };
    (
        Threaded {
            input: ctx,
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

/// One stage thread: [`run_loop::run`] over its channels, then the hand
/// over downstream (`done`) once every upstream producer is done.
fn run_stage<S: Stage>(
    mut stage: S,
    rx: Receiver<Envelope>,
    upstreams: usize,
    router: Router,
    mut observer: Option<Box<dyn Observer>>,
    done: impl FnOnce(&Router),
) -> S {
    let mut channel = Channel {
        rx,
        upstreams,
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
    let observer = observer.as_deref_mut().map(|o| o as &mut dyn Observer);
    let Ok(_) = run_loop::block_on(run_loop::run(&mut stage, &mut channel, cadence, observer));
    done(&channel.router);
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
