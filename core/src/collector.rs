//! The collector (SPEC §4): turns each source's tweet stream into partial
//! cascades on `cascade_series` and final sizes on `cascade_properties`.
//!
//! Everything runs in event time, per source: a source's clock is the
//! largest `t` seen on its tweets and watermarks, and a message first
//! advances that clock, then (for a tweet) joins its cascade. When the clock
//! reaches `first + T` the series of window `T` is decided (sent if the
//! cascade holds `min_cascade_size` tweets); when it passes
//! `last + termination` the cascade terminates and a size is sent for every
//! window whose series was sent. A window counts as elapsed only if
//! `first + T <= last + termination` too, so the output depends on the
//! tweets alone, not on how often watermarks come: a clock that jumps far
//! ahead decides exactly what a clock moving second by second would.
//!
//! Choices where SPEC §4 is silent:
//! - Cascades are keyed by cascade id within their source's state. Ids are
//!   global in practice (the generator numbers cascades by index row), and a
//!   source's tweets are all on one partition, so per-source state is what
//!   lets replicas split sources and `revoke` drop them whole.
//! - After `end`, the source's state is dropped entirely: a later message of
//!   it restarts the source with a fresh clock (a restarted generator reuses
//!   source ids). Duplicate series are deduplicated downstream by
//!   `(cid, T_obs)` (SPEC §6).
//! - A tweet older than its cascade's first tweet moves `first` back: the
//!   relative times stay >= 0, later windows are timed from the true start.
//! - The series' `msg` is the original tweet's (`type:"tweet"`) when seen,
//!   else that of the tweet that opened the cascade.
//!
//! Restarts: `retained_offset` holds commits at the first tweet of the
//! oldest open cascade, so every cascade open at a crash is rebuilt whole by
//! replay. A cascade that had terminated but still has tweets past that
//! offset is not remembered after a restart, so replay reopens it as a
//! fragment (a retweet of an unknown cascade opens one, SPEC §2). Its
//! messages may then be wrong duplicates; the predictor's dedupe by
//! `(cid, T_obs)` drops them only if the originals are still held there.
//!
//! Cost: a tweet is O(1) amortised (a hash lookup and a push, or a sorted
//! insert when out of order). Each source keeps a min-heap of cascade
//! deadlines; entries go stale when a tweet pushes `last` forward and are
//! re-queued lazily when popped, so no step scans all cascades.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use crate::schema::{
    Message, PropertiesMsg, SeriesMsg, SizeMsg, SourceId, Topic, Tweet, TweetMsg, Window,
};
use crate::stage::{Ctx, Origin, Stage, StageError};

/// The collector's parameters; defaults are the course's.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorConfig {
    /// Observation windows in seconds. Sorted and deduplicated by
    /// [`Collector::new`]; a zero window is dropped (it can hold no tweet).
    pub windows: Vec<Window>,
    /// Seconds without a tweet after which a cascade is over.
    pub termination: f64,
    /// Smallest series worth fitting; smaller windows are never sent.
    /// At least 1: an empty series is invalid on the wire.
    pub min_cascade_size: usize,
    /// Seconds (source clock) a terminated cascade id is remembered, so that
    /// its late tweets are dropped instead of opening a bogus cascade.
    pub late_horizon: f64,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            windows: vec![600, 1200],
            termination: 1800.0,
            min_cascade_size: 10,
            late_horizon: 86_400.0,
        }
    }
}

/// Plain counters; the transport exports them as metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorStats {
    pub tweets: u64,
    pub watermarks: u64,
    pub ends: u64,
    /// Tweets of an already terminated cascade, dropped.
    pub late_tweets: u64,
    /// Tweets older than their source's clock (still added to their cascade).
    pub out_of_order: u64,
    pub cascades_opened: u64,
    pub cascades_terminated: u64,
    pub series_sent: u64,
    /// Windows that elapsed with fewer than `min_cascade_size` tweets.
    pub series_too_small: u64,
    pub sizes_sent: u64,
}

/// The collector stage. See the module documentation for its rules.
#[derive(Debug)]
pub struct Collector {
    cfg: CollectorConfig,
    stats: CollectorStats,
    /// Ordered so that `finish` ends sources deterministically.
    sources: BTreeMap<SourceId, SourceState>,
}

/// One source's event-time state.
#[derive(Debug)]
struct SourceState {
    clock: f64,
    /// The partition this source was last seen on (for `revoke`).
    partition: i32,
    open: HashMap<Arc<str>, Cascade>,
    /// Min-heap of cascade deadlines; see [`Due`].
    due: BinaryHeap<Reverse<Due>>,
    /// `(partition, offset, cascade number)` of each open cascade's first
    /// tweet, so `retained_offset` needs no scan.
    first_offsets: BTreeSet<(i32, i64, u64)>,
    /// Terminated ids and the clock after which they are forgotten.
    terminated: HashMap<Arc<str>, f64>,
    forget: BinaryHeap<Reverse<(Time, Arc<str>)>>,
    /// Numbers cascades and heap entries, unique within the source.
    next_ticket: u64,
}

#[derive(Debug)]
struct Cascade {
    number: u64,
    msg: String,
    has_original: bool,
    first: f64,
    last: f64,
    /// `(absolute time, magnitude)`, sorted by time.
    tweets: Vec<(f64, f64)>,
    /// Index of the first window not yet decided; windows are decided in
    /// order because they are sorted.
    next_window: usize,
    /// Windows whose series was sent, in window order.
    sent: Vec<Window>,
    origin: Origin,
    /// The ticket of this cascade's one live heap entry; others are stale.
    ticket: u64,
}

/// A heap entry: look at cascade `cid` once the clock reaches `at` (passes
/// it, when `strict`: termination needs `clock > last + termination`).
/// Ordered by time, then first time and cid so that cascades due together
/// are handled in an order that does not depend on the watermarks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Time,
    strict: bool,
    first: Time,
    cid: Arc<str>,
    ticket: u64,
}

impl Due {
    fn is_due(&self, clock: f64) -> bool {
        if self.strict {
            self.at.0 < clock
        } else {
            self.at.0 <= clock
        }
    }
}

/// An `f64` with a total order, for heap keys.
#[derive(Debug, Clone, Copy)]
struct Time(f64);

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl Collector {
    pub fn new(mut cfg: CollectorConfig) -> Self {
        cfg.windows.retain(|&w| w > 0);
        cfg.windows.sort_unstable();
        cfg.windows.dedup();
        cfg.min_cascade_size = cfg.min_cascade_size.max(1);
        Self {
            cfg,
            stats: CollectorStats::default(),
            sources: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &CollectorConfig {
        &self.cfg
    }

    pub fn stats(&self) -> &CollectorStats {
        &self.stats
    }

    /// Cascades held in memory, over all sources.
    pub fn open_cascades(&self) -> usize {
        self.sources.values().map(|s| s.open.len()).sum()
    }

    /// Ends every source, as if each had sent `end`: for finite in-process
    /// runs, where the input stops without one.
    pub fn finish(&mut self, out: &mut Vec<Message>) {
        let ids: Vec<SourceId> = self.sources.keys().copied().collect();
        for id in ids {
            self.end(id, out);
        }
    }

    /// `end`: the clock goes to +infinity (windows elapsing before their
    /// cascade's termination are still sent, then everything terminates),
    /// and the source is forgotten.
    fn end(&mut self, source: SourceId, out: &mut Vec<Message>) {
        if let Some(mut state) = self.sources.remove(&source) {
            state.advance(f64::INFINITY, &self.cfg, &mut self.stats, out);
            tracing::debug!(source, "source ended");
        }
    }

    fn on_tweet(&mut self, tweet: Tweet, original: bool, ctx: Ctx, out: &mut Vec<Message>) {
        self.stats.tweets += 1;
        // `handle` refuses tweets without a cascade id.
        let Some(cid) = tweet.cascade_id() else {
            return;
        };
        let (cfg, stats) = (&self.cfg, &mut self.stats);
        let state = source_state(&mut self.sources, tweet.source, ctx.origin.partition);
        state.advance(tweet.t, cfg, stats, out);
        if state.terminated.contains_key(cid.as_str()) {
            stats.late_tweets += 1;
            tracing::debug!(cid = cid.as_str(), t = tweet.t, "late tweet dropped");
            return;
        }
        if tweet.t < state.clock {
            stats.out_of_order += 1;
        }
        let cid: Arc<str> = cid.into();
        match state.open.get_mut(&cid) {
            Some(c) => {
                let moved_back = c.add(tweet.t, tweet.m);
                if original && !c.has_original {
                    c.msg = tweet.msg;
                    c.has_original = true;
                }
                if moved_back {
                    // The deadline moved earlier than the live heap entry.
                    state.requeue(&cid, cfg);
                }
            }
            None => {
                state.next_ticket += 1;
                let number = state.next_ticket;
                let c = Cascade {
                    number,
                    msg: tweet.msg,
                    has_original: original,
                    first: tweet.t,
                    last: tweet.t,
                    tweets: vec![(tweet.t, tweet.m)],
                    next_window: 0,
                    sent: Vec::new(),
                    origin: ctx.origin,
                    ticket: 0,
                };
                state.open.insert(cid.clone(), c);
                let o = ctx.origin;
                state.first_offsets.insert((o.partition, o.offset, number));
                state.requeue(&cid, cfg);
                stats.cascades_opened += 1;
            }
        }
        // Something is due at this clock only after an out-of-order tweet;
        // otherwise this is one peek.
        state.run_due(cfg, stats, out);
    }
}

/// The state of source `id`, created on its first message.
fn source_state(
    sources: &mut BTreeMap<SourceId, SourceState>,
    id: SourceId,
    partition: i32,
) -> &mut SourceState {
    let state = sources.entry(id).or_insert_with(|| SourceState {
        clock: f64::NEG_INFINITY,
        partition,
        open: HashMap::new(),
        due: BinaryHeap::new(),
        first_offsets: BTreeSet::new(),
        terminated: HashMap::new(),
        forget: BinaryHeap::new(),
        next_ticket: 0,
    });
    state.partition = partition;
    state
}

impl Cascade {
    /// Adds a tweet, keeping times sorted. Returns whether `first` moved
    /// back (the tweet is older than the cascade's first one).
    fn add(&mut self, t: f64, m: f64) -> bool {
        if t >= self.last {
            self.tweets.push((t, m));
            self.last = t;
        } else {
            let at = self.tweets.partition_point(|&(ti, _)| ti <= t);
            self.tweets.insert(at, (t, m));
        }
        let moved_back = t < self.first;
        self.first = self.first.min(t);
        moved_back
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
    /// Moves the clock to `t` (never back) and handles what became due.
    fn advance(
        &mut self,
        t: f64,
        cfg: &CollectorConfig,
        stats: &mut CollectorStats,
        out: &mut Vec<Message>,
    ) {
        if t <= self.clock {
            return;
        }
        self.clock = t;
        self.run_due(cfg, stats, out);
        while let Some(Reverse((Time(at), _))) = self.forget.peek() {
            if *at >= self.clock {
                break;
            }
            if let Some(Reverse((Time(at), cid))) = self.forget.pop()
                && self.terminated.get(&cid).is_some_and(|&until| until <= at)
            {
                self.terminated.remove(&cid);
            }
        }
    }

    /// Gives cascade `cid` a fresh heap entry at its current deadline.
    fn requeue(&mut self, cid: &Arc<str>, cfg: &CollectorConfig) {
        let Some(c) = self.open.get_mut(cid) else {
            return;
        };
        let (at, strict) = c.deadline(cfg);
        self.next_ticket += 1;
        c.ticket = self.next_ticket;
        self.due.push(Reverse(Due {
            at: Time(at),
            strict,
            first: Time(c.first),
            cid: cid.clone(),
            ticket: c.ticket,
        }));
    }

    /// Pops the entries due at the current clock: decides elapsed windows,
    /// terminates cascades, re-queues the rest. Every pop either does one of
    /// those or drops a stale entry, so the work follows the output.
    fn run_due(
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
                decide_window(&entry.cid, c, w, cfg, stats, out);
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
        self.first_offsets
            .remove(&(c.origin.partition, c.origin.offset, c.number));
        let n_tot = c.tweets.len() as u64;
        for &w in &c.sent {
            out.push(Message::Properties(PropertiesMsg::Size(SizeMsg {
                cid: cid.to_string(),
                n_tot,
                t_end: c.last,
                t_obs: Some(w),
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
        // At `end` the clock is infinite and the source is dropped anyway.
        if self.clock.is_finite() {
            let until = c.last + cfg.late_horizon;
            self.terminated.insert(cid.clone(), until);
            self.forget.push(Reverse((Time(until), cid.clone())));
        }
    }
}

/// Sends window `w`'s series of `c`, or counts it too small.
fn decide_window(
    cid: &str,
    c: &mut Cascade,
    w: Window,
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
    out.push(Message::Series(SeriesMsg::new(
        cid.to_owned(),
        c.msg.clone(),
        w,
        tweets,
    )));
    c.sent.push(w);
    stats.series_sent += 1;
    tracing::debug!(cid, window = w, n_obs = n, "series sent");
}

impl Stage for Collector {
    fn name(&self) -> &'static str {
        "collector"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Tweets]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        let tweet = match msg {
            Message::Tweet(t) => t,
            other => {
                return Err(StageError::UnexpectedTopic {
                    stage: self.name(),
                    topic: other.topic(),
                });
            }
        };
        if let Some(t) = tweet.time()
            && !t.is_finite()
        {
            return Err(StageError::Invalid(format!("non-finite time {t}")));
        }
        match tweet {
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) if t.cascade_id().is_none() => {
                Err(StageError::Invalid("tweet without a cascade id".into()))
            }
            TweetMsg::Tweet(t) => {
                self.on_tweet(t, true, ctx, out);
                Ok(())
            }
            TweetMsg::Retweet(t) => {
                self.on_tweet(t, false, ctx, out);
                Ok(())
            }
            TweetMsg::Watermark { source, t } => {
                self.stats.watermarks += 1;
                let state = source_state(&mut self.sources, source, ctx.origin.partition);
                state.advance(t, &self.cfg, &mut self.stats, out);
                Ok(())
            }
            TweetMsg::End { source } => {
                self.stats.ends += 1;
                self.end(source, out);
                Ok(())
            }
        }
    }

    /// Nothing to emit: an open cascade's remaining windows and size are not
    /// known yet, and sending them now would send wrong sizes downstream.
    /// Its tweets are not committed (see `retained_offset`), so the next
    /// owner of the partition rebuilds it by replay.
    fn flush(&mut self, _out: &mut Vec<Message>) {}

    /// The first-tweet offset of the oldest open cascade that came in on
    /// `partition`: committing past it would lose that cascade on restart.
    fn retained_offset(&self, _topic: Topic, partition: i32) -> Option<i64> {
        self.sources
            .values()
            .filter_map(|s| {
                s.first_offsets
                    .range((partition, i64::MIN, 0)..=(partition, i64::MAX, u64::MAX))
                    .next()
                    .map(|&(_, offset, _)| offset)
            })
            .min()
    }

    fn observe(&self, report: &mut dyn crate::stage::StageReport) {
        crate::observe::collector(self, report);
    }

    fn revoke(&mut self, _topic: Topic, partitions: &[i32]) {
        self.sources.retain(|source, s| {
            let keep = !partitions.contains(&s.partition);
            if !keep {
                tracing::info!(source, partition = s.partition, "source state dropped");
            }
            keep
        });
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;
