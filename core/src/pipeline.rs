//! In-process transports: the whole pipeline without a broker.
//!
//! Both drive the same [`Stage`]s the Kafka binaries drive, routing each
//! output to the stage that consumes its topic (SPEC §1):
//! - [`SyncPipeline`] handles every message to quiescence before the next,
//!   in one thread: deterministic, so `eval` gives byte-identical files.
//! - [`spawn_threaded`] runs each stage on its own thread, connected by
//!   channels, like the distributed deployment: a slow forest retrain does
//!   not hold up predictions. [`spawn_observed`] adds per-stage metrics
//!   (`tweetoscope run --metrics-addr`).

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::collector::Collector;
use crate::estimator::Estimator;
use crate::learner::Learner;
use crate::predictor::Predictor;
use crate::schema::{Message, PropertiesMsg, Topic, Window};
use crate::stage::{Ctx, Stage, StageReport};

/// The four state machines of a pipeline. Without a learner, the predictor
/// keeps w = 1 (or the models it is given).
#[derive(Debug)]
pub struct Stages {
    pub collector: Collector,
    pub estimator: Estimator,
    pub predictor: Predictor,
    pub learner: Option<Learner>,
}

/// Messages a stage refused, by stage; the in-process equivalent of the
/// dead-letter topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refused {
    pub count: u64,
    pub last: Option<String>,
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
            let ctx = Ctx::in_process(now, self.offset);
            if let Err(error) = stage.handle(msg, ctx, &mut self.out) {
                self.refused.count += 1;
                tracing::warn!(stage = stage.name(), offset = self.offset, %error, "message refused");
                self.refused.last = Some(error.to_string());
            }
            self.queue.extend(self.out.drain(..));
        }
    }
}

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

/// Watches one stage thread of [`spawn_observed`]: the in-process twin of
/// the Kafka driver's metrics (the telemetry module implements it).
pub trait Observer: StageReport + Send {
    /// One input handled: its topic and window, what came out, how long.
    fn handled(
        &mut self,
        input: Topic,
        window: Option<Window>,
        outputs: &[Message],
        elapsed: Duration,
    );
    /// The stage's loop went round (liveness).
    fn beat(&mut self) {}
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

/// The run loop of one stage thread: handle, route, tick when idle, flush
/// and hand over when every upstream producer is done.
fn run_stage<S: Stage>(
    mut stage: S,
    rx: Receiver<Envelope>,
    upstreams: usize,
    router: Router,
    mut observer: Option<Box<dyn Observer>>,
    done: impl FnOnce(&Router),
) -> S {
    let mut out = Vec::new();
    let (mut now, mut offset, mut finished) = (0.0, 0i64, 0);
    let mut last_report = Instant::now();
    loop {
        if let Some(o) = observer.as_mut() {
            o.beat();
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                stage.observe(o.as_mut());
            }
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Envelope::Msg(msg, t)) => {
                now = t;
                offset += 1;
                let ctx = Ctx::in_process(now, offset);
                let (topic, window) = (msg.topic(), msg.window());
                let started = Instant::now();
                match stage.handle(msg, ctx, &mut out) {
                    Ok(()) => {
                        if let Some(o) = observer.as_mut() {
                            o.handled(topic, window, &out, started.elapsed());
                        }
                    }
                    Err(error) => {
                        tracing::warn!(stage = stage.name(), offset, %error, "message refused")
                    }
                }
            }
            Ok(Envelope::Done) => {
                finished += 1;
                if finished >= upstreams {
                    break;
                }
            }
            Err(RecvTimeoutError::Timeout) => stage.tick(now, &mut out),
            Err(RecvTimeoutError::Disconnected) => break,
        }
        for msg in out.drain(..) {
            router.send(msg, now);
        }
    }
    stage.flush(&mut out);
    for msg in out.drain(..) {
        router.send(msg, now);
    }
    if let Some(o) = observer.as_mut() {
        stage.observe(o.as_mut());
    }
    done(&router);
    stage
}
