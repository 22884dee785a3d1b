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
//! - Event time is checked, not trusted: a tweet or watermark more than
//!   `max_clock_skew` ahead of its source's clock (a time in milliseconds
//!   by mistake would end every open cascade), or a tweet older than the
//!   source's watermark (the source promised none), is refused with the
//!   reason and dead-lettered by the driver. A source's first message has
//!   no clock to compare with and is accepted.
//! - Exact duplicates are dropped where a tweet carries its own identity: a
//!   `tweet_id` different from its cascade id (the 2021 edition's, when
//!   `info` names the cascade). They are remembered per open cascade, so the
//!   memory is bounded by the open cascades and a replay drops the same
//!   ones. Tweets without an identity cannot be told from a real retweet at
//!   the same second with the same magnitude, and are kept.
//!
//! Restarts: `retained_offset` is the fixpoint of [`replay`]: the driver
//! commits no further than an offset from which replay rebuilds every
//! cascade whole, so a restarted collector produces exactly what an
//! uninterrupted one does (plus duplicates of what it had delivered).
//!
//! Cost: a tweet is O(1) amortised (a hash lookup and a push, or a sorted
//! insert when out of order). Each source keeps a min-heap of cascade
//! deadlines; entries go stale when a tweet pushes `last` forward and are
//! re-queued lazily when popped, so no step scans all cascades.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::schema::{Message, SourceId, Topic, Tweet, TweetMsg, Window};
use crate::stage::{Ctx, Flush, Origin, Stage, StageError, StageReport};

#[path = "collector_idle.rs"]
mod idle;
#[path = "collector_replay.rs"]
mod replay;
#[path = "collector_source.rs"]
mod source;

use replay::ReplayPoints;
use source::{Cascade, SourceState};

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
    /// its late tweets are dropped instead of opening a bogus cascade. It
    /// also bounds how far back a restart replays (see [`replay`]).
    pub late_horizon: f64,
    /// Seconds a tweet or watermark may be ahead of its source's clock;
    /// further is refused (dead-lettered).
    pub max_clock_skew: f64,
    /// Seconds (source time) a source's clock may lag the newest of its
    /// partition before it is ended as if it had sent `end` (see [`idle`]).
    /// None: termination + late horizon.
    pub source_idle: Option<f64>,
}

/// Default of [`CollectorConfig::late_horizon`], one day.
pub const LATE_HORIZON: f64 = 86_400.0;
/// Default of [`CollectorConfig::max_clock_skew`], 30 days: far above any
/// gap between two tweets of a source, far below a millisecond mistake.
pub const MAX_CLOCK_SKEW: f64 = 30.0 * 86_400.0;

impl CollectorConfig {
    /// [`CollectorConfig::source_idle`], its default applied.
    pub fn idle(&self) -> f64 {
        self.source_idle
            .unwrap_or(self.termination + self.late_horizon)
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            windows: vec![600, 1200],
            termination: 1800.0,
            min_cascade_size: 10,
            late_horizon: LATE_HORIZON,
            max_clock_skew: MAX_CLOCK_SKEW,
            source_idle: None,
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
    /// Tweets whose `tweet_id` was already seen in their cascade, dropped.
    pub duplicates: u64,
    /// Tweets and watermarks refused for their time (skew, watermark).
    pub bad_times: u64,
    pub cascades_opened: u64,
    pub cascades_terminated: u64,
    pub series_sent: u64,
    /// Windows that elapsed with fewer than `min_cascade_size` tweets.
    pub series_too_small: u64,
    pub sizes_sent: u64,
    /// Sources ended for lagging `source_idle` behind their partition.
    pub idle_sources_ended: u64,
}

/// The collector stage. See the module documentation for its rules.
#[derive(Debug)]
pub struct Collector {
    cfg: CollectorConfig,
    stats: CollectorStats,
    /// Ordered so that `finish` ends sources deterministically.
    sources: BTreeMap<SourceId, SourceState>,
    /// Offsets of cascades no longer held, for `retained_offset`.
    replay: ReplayPoints,
    /// The held sources' clocks, to find idle ones.
    clocks: idle::Clocks,
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
            replay: ReplayPoints::default(),
            clocks: idle::Clocks::default(),
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

    /// Terminated cascade ids remembered for their late tweets, plus the
    /// offset spans kept for `retained_offset`: the rest of the state.
    pub fn remembered(&self) -> usize {
        self.sources
            .values()
            .map(|s| s.terminated.len())
            .sum::<usize>()
            + self.replay.len()
    }

    /// Ends every source, as if each had sent `end`: for finite in-process
    /// runs, where the input stops without one.
    fn finish(&mut self, out: &mut Vec<Message>) {
        let ids: Vec<SourceId> = self.sources.keys().copied().collect();
        for id in ids {
            self.end(id, None, out);
        }
    }

    /// `end`: the clock goes to +infinity (windows elapsing before their
    /// cascade's termination are still sent, then everything terminates),
    /// and the source is forgotten.
    fn end(&mut self, source: SourceId, at: Option<Origin>, out: &mut Vec<Message>) {
        self.clocks.remove(source);
        if let Some(mut state) = self.sources.remove(&source) {
            state.at = at.or(state.at);
            state.close(&self.cfg, &mut self.stats, out);
            for span in state.finished.drain(..) {
                self.replay.add(span);
            }
            tracing::debug!(source, "source ended");
        }
    }

    /// Refuses a time the source's clock and watermark rule out.
    fn check_time(&mut self, source: SourceId, t: f64, tweet: bool) -> Result<(), StageError> {
        let Some(state) = self.sources.get(&source) else {
            return Ok(());
        };
        let problem = if state.clock.is_finite() && t > state.clock + self.cfg.max_clock_skew {
            Some(format!(
                "t {t} is {} s ahead of source {source}'s clock {} (more than the max clock skew, {} s)",
                t - state.clock,
                state.clock,
                self.cfg.max_clock_skew
            ))
        } else if tweet && t < state.watermark {
            Some(format!(
                "t {t} is behind source {source}'s watermark {}",
                state.watermark
            ))
        } else {
            None
        };
        match problem {
            Some(reason) => {
                self.stats.bad_times += 1;
                Err(StageError::Invalid(reason))
            }
            None => Ok(()),
        }
    }

    fn on_tweet(&mut self, mut tweet: Tweet, original: bool, ctx: Ctx, out: &mut Vec<Message>) {
        self.stats.tweets += 1;
        let msg = std::mem::take(&mut tweet.msg);
        // `handle` refuses tweets without a cascade id.
        let Some(cid) = tweet.cascade_ref() else {
            return;
        };
        let identity = identity(&tweet, &cid);
        let (cfg, stats) = (&self.cfg, &mut self.stats);
        let origin = ctx.origin;
        let state = source_state(&mut self.sources, tweet.source, origin);
        state.advance(tweet.t, Some(origin), cfg, stats, out);
        if let Some(ended) = state.terminated.get_mut(&*cid) {
            ended.last_offset = origin.offset;
            stats.late_tweets += 1;
            tracing::debug!(cid = &*cid, t = tweet.t, "late tweet dropped");
            return;
        }
        if tweet.t < state.clock {
            stats.out_of_order += 1;
        }
        match state.open.get_mut(&*cid) {
            Some(c) => {
                c.last_offset = origin.offset;
                if let Some(id) = identity
                    && !c.ids.insert(id)
                {
                    stats.duplicates += 1;
                    tracing::debug!(cid = &*cid, t = tweet.t, "duplicate tweet dropped");
                    return;
                }
                let moved_back = c.add(tweet.t, tweet.m, cfg);
                if original && !c.has_original {
                    c.msg = msg;
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
                let mut c = Cascade::new(number, msg, original, tweet.t, tweet.m, origin);
                c.ids.extend(identity);
                state.open.insert(Arc::from(&*cid), c);
                state
                    .first_offsets
                    .insert((origin.partition, origin.offset, number));
                state.requeue(&cid, cfg);
                stats.cascades_opened += 1;
            }
        }
        // Something is due at this clock only after an out-of-order tweet;
        // otherwise this is one peek.
        state.run_due(cfg, stats, out);
    }

    /// Moves the spans of cascades the sources forgot into `replay`, and
    /// prunes it now and then.
    fn collect_spans(&mut self, source: SourceId) {
        if let Some(state) = self.sources.get_mut(&source) {
            for span in state.finished.drain(..) {
                self.replay.add(span);
            }
        }
        if self.replay.wants_prune() {
            for partition in self.replay.partitions() {
                let x = self.resume_at(partition);
                self.replay.prune(partition, x);
            }
            self.replay.mark_pruned();
        }
    }

    /// The replay point of `partition`; `None` when no source on it holds
    /// anything (every record read so far may be committed).
    fn resume_at(&self, partition: i32) -> Option<i64> {
        let pinned = self
            .sources
            .values()
            .filter_map(|s| s.pin(partition))
            .min()?;
        Some(self.replay.resume_at(partition, pinned))
    }
}

/// A tweet's own identity, when it has one besides its cascade id.
fn identity(tweet: &Tweet, cid: &str) -> Option<Box<str>> {
    let id = match tweet.tweet_id.as_ref()? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!id.is_empty() && id != cid).then(|| id.into_boxed_str())
}

/// The state of source `id`, created on its first message.
fn source_state(
    sources: &mut BTreeMap<SourceId, SourceState>,
    id: SourceId,
    origin: Origin,
) -> &mut SourceState {
    let state = sources
        .entry(id)
        .or_insert_with(|| SourceState::new(origin.partition));
    state.partition = origin.partition;
    state.at = Some(origin);
    state
}

impl Stage for Collector {
    fn name(&self) -> &'static str {
        "collector"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Tweets]
    }

    fn outputs(&self) -> &'static [Topic] {
        &[Topic::CascadeSeries, Topic::CascadeProperties]
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
        let original = matches!(tweet, TweetMsg::Tweet(_));
        match tweet {
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) if t.cascade_ref().is_none() => {
                Err(StageError::Invalid("tweet without a cascade id".into()))
            }
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) => {
                let source = t.source;
                self.check_time(source, t.t, true)?;
                self.on_tweet(t, original, ctx, out);
                self.end_idle(source, ctx.origin, out);
                self.collect_spans(source);
                Ok(())
            }
            TweetMsg::Watermark { source, t } => {
                self.check_time(source, t, false)?;
                self.stats.watermarks += 1;
                let state = source_state(&mut self.sources, source, ctx.origin);
                if t > state.watermark {
                    state.watermark = t;
                    state.watermark_at = Some(ctx.origin);
                }
                state.advance(t, Some(ctx.origin), &self.cfg, &mut self.stats, out);
                self.end_idle(source, ctx.origin, out);
                self.collect_spans(source);
                Ok(())
            }
            TweetMsg::End { source } => {
                self.stats.ends += 1;
                self.end(source, Some(ctx.origin), out);
                self.collect_spans(source);
                Ok(())
            }
        }
    }

    /// At the end of the input, every source ends as if it had sent `end`.
    /// On shutdown, nothing to emit: an open cascade's remaining windows
    /// and size are not known yet, and sending them now would send wrong
    /// sizes downstream. Its tweets are not committed (see
    /// `retained_offset`), so the next owner of the partition rebuilds it
    /// by replay.
    fn flush(&mut self, reason: Flush, out: &mut Vec<Message>) {
        match reason {
            Flush::EndOfInput => self.finish(out),
            Flush::Shutdown => {}
        }
    }

    /// The replay point of [`replay`]: committing past it would make a
    /// restarted collector rebuild some cascade from its middle.
    fn retained_offset(&self, _topic: Topic, partition: i32) -> Option<i64> {
        self.resume_at(partition)
    }

    fn observe(&self, r: &mut dyn StageReport) {
        let s = self.stats();
        r.gauge(
            "open_cascades",
            "Cascades open (not yet terminated)",
            &[],
            self.open_cascades() as f64,
        );
        r.counter("tweets", "Tweets and retweets received", &[], s.tweets);
        r.counter(
            "late_tweets",
            "Tweets of an already terminated cascade, dropped",
            &[],
            s.late_tweets,
        );
        r.counter(
            "out_of_order_tweets",
            "Tweets older than their source's clock (kept)",
            &[],
            s.out_of_order,
        );
        r.counter("cascades_opened", "Cascades opened", &[], s.cascades_opened);
        r.counter(
            "cascades_terminated",
            "Cascades terminated (idle for the termination time, or by an end marker)",
            &[],
            s.cascades_terminated,
        );
        r.counter(
            "source_ends",
            "End markers received (each terminates its source's cascades)",
            &[],
            s.ends,
        );
        r.counter(
            "idle_sources_ended",
            "Sources ended for lagging --source-idle behind their partition's newest clock",
            &[],
            s.idle_sources_ended,
        );
        r.counter(
            "series_too_small",
            "Windows that elapsed with too few tweets to send a series",
            &[],
            s.series_too_small,
        );
    }

    fn revoke(&mut self, _topic: Topic, partitions: &[i32]) {
        self.replay.revoke(partitions);
        self.sources.retain(|source, s| {
            let keep = !partitions.contains(&s.partition);
            if !keep {
                self.clocks.remove(*source);
                tracing::info!(source, partition = s.partition, "source state dropped");
            }
            keep
        });
    }
}

#[cfg(test)]
#[path = "collector_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "collector_fault_tests.rs"]
mod fault_tests;
