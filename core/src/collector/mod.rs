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
//!
//! Laid out by concept:
//! - this file: the [`Collector`] and its rules per message (time checks,
//!   a tweet joining its cascade, `end`, idle sources, replay points);
//! - `stage`: its [`crate::stage::Stage`] impl (dispatch, flush, retained
//!   offsets, revocation, the counters it reports);
//! - `config`: [`CollectorConfig`] and [`CollectorStats`];
//! - `source`: one source's event-time state and its cascades; `due`: the
//!   heap keys of their deadlines;
//! - `idle`: the clocks that find sources left behind; `replay`: the
//!   offsets a restart replays from.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::schema::{Message, SourceId, Tweet};
use crate::stage::{Ctx, Origin, StageError};

mod config;
mod due;
mod idle;
mod replay;
mod source;
mod stage;

pub use config::{CollectorConfig, CollectorStats, LATE_HORIZON, MAX_CLOCK_SKEW};
use replay::ReplayPoints;
use source::{Cascade, SourceState};

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

    /// After a message of `source` (at `at`): records its clock, and ends
    /// the sources of its partition left `source_idle` behind.
    fn end_idle(&mut self, source: SourceId, at: Origin, out: &mut Vec<Message>) {
        let Some(state) = self.sources.get(&source) else {
            return;
        };
        let partition = state.partition;
        self.clocks.set(source, partition, state.clock);
        let idle = self.cfg.idle();
        for id in self.clocks.idle(partition, source, idle) {
            let clock = self.sources.get(&id).map_or(f64::NAN, |s| s.clock);
            tracing::info!(
                source = id,
                clock,
                partition,
                offset = at.offset,
                idle,
                "source idle: ended as if it had sent end"
            );
            self.stats.idle_sources_ended += 1;
            self.end(id, Some(at), out);
        }
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

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod tests;
