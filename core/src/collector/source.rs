//! One source's event-time state in the collector: its clock and
//! watermark, its open cascades with their deadline heap, the ids of
//! terminated cascades (to drop their late tweets), and the input offsets
//! all of these depend on (see `collector_replay`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use crate::hashing::{FastMap, FastSet};
use std::sync::Arc;

use super::config::{CollectorConfig, CollectorStats};
use super::due::{Due, Time};
use super::replay::Span;
use crate::schema::{Lineage, Message, PropertiesMsg, SeriesMsg, SizeMsg, Window};
use crate::stage::Origin;

/// One source's event-time state.
#[derive(Debug)]
pub(super) struct SourceState {
    pub(super) clock: f64,
    /// The largest watermark seen: no tweet of the source may be older.
    pub(super) watermark: f64,
    /// The partition this source was last seen on (for `revoke`).
    pub(super) partition: i32,
    /// The record that last raised the clock, and the one that set the
    /// watermark: a replay starting no later than both rebuilds the clock
    /// and the watermark exactly, so it accepts and refuses the same times.
    pub(super) head: Option<Origin>,
    pub(super) watermark_at: Option<Origin>,
    /// The record being handled: what the collector's outputs are decided
    /// at (their [`Lineage`]'s `decided`).
    pub(super) at: Option<Origin>,
    pub(super) open: FastMap<Arc<str>, Cascade>,
    /// Min-heap of cascade deadlines; see [`Due`].
    pub(super) due: BinaryHeap<Reverse<Due>>,
    /// `(partition, offset, cascade number)` of the first tweet of every
    /// cascade this source still remembers (open, or terminated within the
    /// late horizon), so `pin` needs no scan.
    pub(super) first_offsets: BTreeSet<(i32, i64, u64)>,
    /// Terminated ids, remembered until their late horizon.
    pub(super) terminated: FastMap<Arc<str>, Ended>,
    pub(super) forget: BinaryHeap<Reverse<(Time, Arc<str>)>>,
    /// Cascades no longer remembered, as offset spans, for the collector's
    /// [`super::replay::ReplayPoints`] (drained after every message).
    pub(super) finished: Vec<Span>,
    /// Numbers cascades and heap entries, unique within the source.
    pub(super) next_ticket: u64,
}

/// A terminated cascade, remembered so that its late tweets are dropped.
#[derive(Debug)]
pub(super) struct Ended {
    /// Source clock after which it is forgotten: its end (last tweet +
    /// termination) + late horizon.
    pub(super) until: f64,
    pub(super) number: u64,
    pub(super) first: Origin,
    /// Offset of its newest record, late tweets included.
    pub(super) last_offset: i64,
}

#[derive(Debug)]
pub(super) struct Cascade {
    pub(super) number: u64,
    pub(super) msg: String,
    pub(super) has_original: bool,
    pub(super) first: f64,
    pub(super) last: f64,
    /// Tweets counted, duplicates excluded.
    pub(super) count: u64,
    /// `(absolute time, magnitude)`, sorted by time. Emptied once every
    /// window is decided: only the count matters then.
    pub(super) tweets: Vec<(f64, f64)>,
    /// Identities (`tweet_id`) of the tweets seen, to drop exact duplicates.
    pub(super) ids: FastSet<Box<str>>,
    /// Index of the first window not yet decided; windows are decided in
    /// order because they are sorted.
    pub(super) next_window: usize,
    /// Windows whose series was sent, in window order.
    pub(super) sent: Vec<Window>,
    /// Where its first tweet came in.
    pub(super) origin: Origin,
    /// Offset of its newest record, duplicates included.
    pub(super) last_offset: i64,
    /// The ticket of this cascade's one live heap entry; others are stale.
    pub(super) ticket: u64,
}

impl Cascade {
    pub(super) fn new(
        number: u64,
        msg: String,
        original: bool,
        t: f64,
        m: f64,
        origin: Origin,
    ) -> Self {
        Self {
            number,
            msg,
            has_original: original,
            first: t,
            last: t,
            count: 1,
            tweets: vec![(t, m)],
            ids: FastSet::default(),
            next_window: 0,
            sent: Vec::new(),
            origin,
            last_offset: origin.offset,
            ticket: 0,
        }
    }

    /// Adds a tweet, keeping times sorted while windows remain to decide.
    /// Returns whether `first` moved back (the tweet is older than the
    /// cascade's first one).
    pub(super) fn add(&mut self, t: f64, m: f64, cfg: &CollectorConfig) -> bool {
        self.count += 1;
        if self.next_window < cfg.windows.len() {
            if t >= self.last {
                self.tweets.push((t, m));
            } else {
                let at = self.tweets.partition_point(|&(ti, _)| ti <= t);
                self.tweets.insert(at, (t, m));
            }
        }
        self.last = self.last.max(t);
        let moved_back = t < self.first;
        self.first = self.first.min(t);
        moved_back
    }

    /// Its lineage for a record decided at `at` (none in runs without
    /// offsets).
    pub(super) fn lineage(&self, at: Option<Origin>) -> Option<Lineage> {
        at.map(|at| Lineage {
            partition: self.origin.partition,
            first: self.origin.offset,
            decided: at.offset,
        })
    }

    /// When this cascade next needs looking at: its next window's end if
    /// that comes no later than its termination, else its termination.
    fn deadline(&self, cfg: &CollectorConfig) -> (f64, bool) {
        let end = self.last + cfg.termination;
        match cfg.windows.get(self.next_window) {
            Some(&w) if self.first + f64::from(w) <= end => (self.first + f64::from(w), false),
            _ => (end, true),
        }
    }
}

impl SourceState {
    pub(super) fn new(partition: i32) -> Self {
        Self {
            clock: f64::NEG_INFINITY,
            watermark: f64::NEG_INFINITY,
            partition,
            head: None,
            watermark_at: None,
            at: None,
            open: FastMap::default(),
            due: BinaryHeap::new(),
            first_offsets: BTreeSet::new(),
            terminated: FastMap::default(),
            forget: BinaryHeap::new(),
            finished: Vec::new(),
            next_ticket: 0,
        }
    }

    /// The oldest offset on `partition` a replay must start from to rebuild
    /// this source: the first tweet of every cascade it remembers, and the
    /// records that set its clock and watermark.
    pub(super) fn pin(&self, partition: i32) -> Option<i64> {
        let first = self
            .first_offsets
            .range((partition, i64::MIN, 0)..=(partition, i64::MAX, u64::MAX))
            .next()
            .map(|&(_, offset, _)| offset);
        let records = [self.head, self.watermark_at]
            .into_iter()
            .flatten()
            .filter(|o| o.partition == partition)
            .map(|o| o.offset);
        first.into_iter().chain(records).min()
    }

    /// Moves the clock to `t` (never back) and handles what became due.
    pub(super) fn advance(
        &mut self,
        t: f64,
        origin: Option<Origin>,
        cfg: &CollectorConfig,
        stats: &mut CollectorStats,
        out: &mut Vec<Message>,
    ) {
        if t <= self.clock {
            return;
        }
        self.clock = t;
        if origin.is_some() {
            self.head = origin;
        }
        self.run_due(cfg, stats, out);
        while let Some(Reverse((Time(at), _))) = self.forget.peek() {
            if *at >= self.clock {
                break;
            }
            if let Some(Reverse((Time(at), cid))) = self.forget.pop()
                && self.terminated.get(&cid).is_some_and(|e| e.until <= at)
                && let Some(e) = self.terminated.remove(&cid)
            {
                self.release(&e);
            }
        }
    }

    /// Forgets a terminated cascade: its offsets become a finished span.
    fn release(&mut self, e: &Ended) {
        self.first_offsets
            .remove(&(e.first.partition, e.first.offset, e.number));
        self.finished.push(Span {
            partition: e.first.partition,
            first: e.first.offset,
            last: e.last_offset,
        });
    }

    /// Ends the source (`end`, or a finite run's close): every open
    /// cascade terminates, every remembered one becomes a finished span.
    pub(super) fn close(
        &mut self,
        cfg: &CollectorConfig,
        stats: &mut CollectorStats,
        out: &mut Vec<Message>,
    ) {
        self.advance(f64::INFINITY, None, cfg, stats, out);
        let ended: Vec<Ended> = self.terminated.drain().map(|(_, e)| e).collect();
        for e in &ended {
            self.release(e);
        }
        self.forget.clear();
    }

    /// Gives cascade `cid` a fresh heap entry at its current deadline.
    pub(super) fn requeue(&mut self, cid: &str, cfg: &CollectorConfig) {
        let Some((key, _)) = self.open.get_key_value(cid) else {
            return;
        };
        let cid = key.clone();
        let Some(c) = self.open.get_mut(&cid) else {
            return;
        };
        let (at, strict) = c.deadline(cfg);
        self.next_ticket += 1;
        c.ticket = self.next_ticket;
        self.due.push(Reverse(Due {
            at: Time(at),
            strict,
            first: Time(c.first),
            cid,
            ticket: c.ticket,
        }));
    }

    /// Pops the entries due at the current clock: decides elapsed windows,
    /// terminates cascades, re-queues the rest. Every pop either does one of
    /// those or drops a stale entry, so the work follows the output.
    pub(super) fn run_due(
        &mut self,
        cfg: &CollectorConfig,
        stats: &mut CollectorStats,
        out: &mut Vec<Message>,
    ) {
        let clock = self.clock;
        while self.due.peek().is_some_and(|Reverse(d)| d.is_due(clock)) {
            let Some(Reverse(entry)) = self.due.pop() else {
                break;
            };
            let Some(c) = self.open.get_mut(&entry.cid) else {
                continue;
            };
            if c.ticket != entry.ticket {
                continue;
            }
            let end = c.last + cfg.termination;
            let horizon = clock.min(end);
            while let Some(&w) = cfg.windows.get(c.next_window) {
                if c.first + f64::from(w) > horizon {
                    break;
                }
                c.next_window += 1;
                decide_window(&entry.cid, c, w, self.at, cfg, stats, out);
            }
            if c.next_window >= cfg.windows.len() {
                // Only the count matters from now on.
                c.tweets = Vec::new();
            }
            if clock > end {
                self.terminate(&entry.cid, cfg, stats, out);
            } else {
                self.requeue(&entry.cid, cfg);
            }
        }
    }

    fn terminate(
        &mut self,
        cid: &Arc<str>,
        cfg: &CollectorConfig,
        stats: &mut CollectorStats,
        out: &mut Vec<Message>,
    ) {
        let Some(c) = self.open.remove(cid) else {
            return;
        };
        let n_tot = c.count;
        let lineage = c.lineage(self.at);
        for &w in &c.sent {
            out.push(Message::Properties(PropertiesMsg::Size(SizeMsg {
                cid: cid.to_string(),
                n_tot,
                t_end: c.last,
                t_obs: Some(w),
                lineage,
            })));
            stats.sizes_sent += 1;
        }
        stats.cascades_terminated += 1;
        tracing::debug!(
            cid = &**cid,
            n_tot,
            sizes = c.sent.len(),
            "cascade terminated"
        );
        // Remembered for the late horizon after the cascade ended (its
        // last tweet + termination), not after its last tweet: with both at
        // a day, the latter forgets it the moment it terminates and a tweet
        // after a longer silence reopens it as a fragment.
        let ended = Ended {
            until: c.last + cfg.termination + cfg.late_horizon,
            number: c.number,
            first: c.origin,
            last_offset: c.last_offset,
        };
        // At `end` the clock is infinite and the source is dropped anyway.
        if self.clock.is_finite() {
            self.forget.push(Reverse((Time(ended.until), cid.clone())));
            self.terminated.insert(cid.clone(), ended);
        } else {
            self.release(&ended);
        }
    }
}

/// Sends window `w`'s series of `c`, or counts it too small.
fn decide_window(
    cid: &str,
    c: &mut Cascade,
    w: Window,
    at: Option<Origin>,
    cfg: &CollectorConfig,
    stats: &mut CollectorStats,
    out: &mut Vec<Message>,
) {
    let cut = c.first + f64::from(w);
    let n = c.tweets.partition_point(|&(t, _)| t < cut);
    if n < cfg.min_cascade_size {
        stats.series_too_small += 1;
        return;
    }
    let tweets = c.tweets[..n]
        .iter()
        .map(|&(t, m)| (t - c.first, m))
        .collect();
    let mut series = SeriesMsg::new(cid.to_owned(), c.msg.clone(), w, tweets);
    series.lineage = c.lineage(at);
    out.push(Message::Series(series));
    c.sent.push(w);
    stats.series_sent += 1;
    tracing::debug!(cid, window = w, n_obs = n, "series sent");
}
