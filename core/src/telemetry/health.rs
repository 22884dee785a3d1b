//! What the probes see.
//!
//! - live (`/livez`, `/health`): the run loop went round within the bound.
//!   The loop beats at every turn, even idle (a turn lasts at most
//!   `--batch-wait` plus the delivery of a batch), so a loop stuck in a
//!   handler, a delivery or a deadlock stops beating and the probe fails:
//!   the orchestrator restarts the process.
//! - ready (`/readyz`): the broker answered (metadata, topics checked or
//!   created) and, for a consuming stage, the consumer joined its group.
//!   Having partitions is not required: an idle standby replica is ready.
//!   It is lost once the process starts shutting down, and while no broker
//!   is reachable (every connection down: librdkafka reconnects, and
//!   readiness comes back with the first broker up), so that an operator
//!   sees which stages a broker outage cut off. Liveness is not lost on an
//!   outage: restarting a stage would not bring its broker back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Shared health state; cloning shares it.
#[derive(Debug, Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    /// Milliseconds since `start` of the last beat.
    last_beat_ms: AtomicU64,
    bound: Duration,
    broker: AtomicBool,
    /// False while every broker connection is down (after the first answer).
    reachable: AtomicBool,
    needs_group: AtomicBool,
    joined: AtomicBool,
    stopping: AtomicBool,
}

/// A probe's answer: healthy or not, and why, for the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub reason: String,
}

impl Health {
    /// `bound`: the longest time between two beats of a live loop.
    pub fn new(bound: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                last_beat_ms: AtomicU64::new(0),
                bound,
                broker: AtomicBool::new(false),
                reachable: AtomicBool::new(true),
                needs_group: AtomicBool::new(false),
                joined: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
            }),
        }
    }

    /// The loop made progress.
    pub fn beat(&self) {
        self.inner
            .last_beat_ms
            .store(self.ms_at(Instant::now()), Ordering::Relaxed);
    }

    /// The broker answered a metadata request.
    pub fn broker_answered(&self) {
        self.inner.broker.store(true, Ordering::Relaxed);
    }

    /// Whether any broker connection is up (the client's view: its error
    /// callback says when all are down, its statistics when one is back).
    pub fn broker_reachable(&self, up: bool) {
        self.inner.reachable.store(up, Ordering::Relaxed);
    }

    /// This process consumes through a group: ready only once joined.
    pub fn expect_group(&self) {
        self.inner.needs_group.store(true, Ordering::Relaxed);
    }

    /// The consumer joined its group (an assignment came, maybe empty).
    pub fn joined_group(&self) {
        self.inner.joined.store(true, Ordering::Relaxed);
    }

    /// The process is shutting down: no longer ready (it stops consuming).
    pub fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
    }

    pub fn live(&self) -> Verdict {
        self.live_at(Instant::now())
    }

    /// Liveness as seen at `now`.
    pub fn live_at(&self, now: Instant) -> Verdict {
        let last = self.inner.last_beat_ms.load(Ordering::Relaxed);
        let silent = Duration::from_millis(self.ms_at(now).saturating_sub(last));
        if silent <= self.inner.bound {
            Verdict::ok("live")
        } else {
            Verdict::failing(format!(
                "the run loop made no progress for {:.1} s (bound {:.1} s)",
                silent.as_secs_f64(),
                self.inner.bound.as_secs_f64()
            ))
        }
    }

    pub fn ready(&self) -> Verdict {
        if self.inner.stopping.load(Ordering::Relaxed) {
            return Verdict::failing("stopping".into());
        }
        if !self.inner.broker.load(Ordering::Relaxed) {
            return Verdict::failing("the broker has not answered yet".into());
        }
        if !self.inner.reachable.load(Ordering::Relaxed) {
            return Verdict::failing("no broker is reachable (reconnecting)".into());
        }
        if self.inner.needs_group.load(Ordering::Relaxed)
            && !self.inner.joined.load(Ordering::Relaxed)
        {
            return Verdict::failing("the consumer has not joined its group yet".into());
        }
        Verdict::ok("ready")
    }

    fn ms_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.inner.start).as_millis()).unwrap_or(u64::MAX)
    }
}

impl Verdict {
    fn ok(reason: &str) -> Self {
        Self {
            ok: true,
            reason: reason.to_owned(),
        }
    }

    fn failing(reason: String) -> Self {
        Self { ok: false, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_that_beats_is_live_and_a_stuck_one_is_not() {
        let h = Health::new(Duration::from_secs(10));
        let t0 = Instant::now();
        h.beat();
        assert!(h.live_at(t0 + Duration::from_secs(5)).ok);
        let stuck = h.live_at(t0 + Duration::from_secs(30));
        assert!(!stuck.ok);
        assert!(stuck.reason.contains("no progress"), "{}", stuck.reason);
    }

    #[test]
    fn a_process_is_live_at_start_until_the_bound_elapses() {
        let h = Health::new(Duration::from_secs(10));
        assert!(h.live().ok);
        assert!(!h.live_at(Instant::now() + Duration::from_secs(11)).ok);
    }

    #[test]
    fn a_consumer_is_ready_once_the_broker_answered_and_it_joined_its_group() {
        let h = Health::new(Duration::from_secs(10));
        h.expect_group();
        assert!(!h.ready().ok);
        h.broker_answered();
        let waiting = h.ready();
        assert!(
            !waiting.ok && waiting.reason.contains("group"),
            "{waiting:?}"
        );
        // An idle standby replica gets an empty assignment: still ready.
        h.joined_group();
        assert!(h.ready().ok);
    }

    #[test]
    fn a_ready_process_is_not_ready_while_no_broker_is_reachable_and_ready_again_after() {
        let h = Health::new(Duration::from_secs(10));
        h.broker_answered();
        assert!(h.ready().ok);
        h.broker_reachable(false);
        let down = h.ready();
        assert!(!down.ok && down.reason.contains("no broker"), "{down:?}");
        assert!(h.live().ok, "an outage does not make the process dead");
        h.broker_reachable(true);
        assert!(h.ready().ok);
    }

    #[test]
    fn a_producer_only_process_is_ready_when_the_broker_answered() {
        let h = Health::new(Duration::from_secs(10));
        assert!(!h.ready().ok);
        h.broker_answered();
        assert!(h.ready().ok);
    }
}
