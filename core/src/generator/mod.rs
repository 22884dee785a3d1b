//! Tweet sources: a data set replayed as the `tweets` stream, the way the
//! course generator does it (SPEC §3).
//!
//! Cascades are shuffled with the seed and dealt round-robin to S sources.
//! Each source has its own clock, starting at 0, and keeps at most K
//! cascades active: its first K start at U[0, spread], and each time a
//! cascade emits its last tweet, the source's next cascade starts at
//! now + U[0, spread]. The sources share one time axis and [`Replay`] merges
//! them in time order, ties broken by source then by cascade start order, so
//! a seed gives one stream, byte for byte. Pacing (the course's acceleration
//! factor) belongs to the transport: [`Emitted::at`] is the event time.
//!
//! A source with no tweet for longer than the watermark interval sends
//! watermarks every interval, so the collector's clock for that source still
//! advances and its cascades terminate on time; a finished source sends
//! `end`.
//!
//! [`TweetFormat::Course2021`] feeds a 2021 course collector instead: every
//! tweet carries `tweet_id` (the cascade id, which that collector reads),
//! and no watermark or `end` record is sent (it knows neither).
//!
//! Cost: two binary heaps, one over the sources and one per source over its
//! active cascades, so memory is O(cascades dealt + active cascades) and each
//! tweet costs O(log K + log S) plus its message. A cascade's rows are read
//! from its [`Cascades`] when it starts (a [`crate::data::DataFile`] reads
//! them from disk then) and dropped when it ends. Should that read fail,
//! the replay ends there and [`Replay::error`] says why.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;
use std::iter::FusedIterator;
use std::sync::Arc;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{Cascades, DataError};
use crate::schema::{SourceId, TweetMsg};

mod source;

pub use source::Emitted;
use source::Source;

/// How a dataset is replayed. The defaults are the course's.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// S, the number of sources (course threads); 0 is read as 1. Default 4.
    pub sources: usize,
    /// K, the most cascades a source has active at once; 0 is read as 1.
    /// Default 50.
    pub max_active: usize,
    /// A cascade starts U[0, start_spread] seconds after its slot frees,
    /// rounded to whole seconds so integral data stays integral on the wire
    /// (SPEC §2: `t` is integer seconds). Default 600.
    pub start_spread: f64,
    /// A source quiet for longer than this sends a watermark every this many
    /// seconds. Zero, negative or infinite: no watermarks. Default 60.
    pub watermark_interval: f64,
    /// Seeds the shuffle and the start offsets. Default 0.
    pub seed: u64,
    /// What the records look like. Default: ours.
    pub format: TweetFormat,
    /// Keep the data's start times: cascades are dealt in the file's order
    /// (not shuffled) and each starts at its first tweet's data time, or
    /// when its slot frees if that is later (`start_spread` unused). For a
    /// set whose cascades carry their own start times in start order, such
    /// as `tweetoscope simulate --span`'s; a large `max_active` keeps the
    /// slots from delaying them. Default false.
    pub keep_start_times: bool,
}

/// The shape of the records a replay sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TweetFormat {
    /// SPEC §2: tweets named by `info`, watermarks and `end` records.
    #[default]
    Ours,
    /// What a 2021 course collector reads: `tweet_id` in every tweet, no
    /// watermark, no `end`.
    Course2021,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            sources: 4,
            max_active: 50,
            start_spread: 600.0,
            watermark_interval: 60.0,
            seed: 0,
            format: TweetFormat::Ours,
            keep_start_times: false,
        }
    }
}

/// The replay of a dataset: an iterator over the merged sources.
#[derive(Debug)]
pub struct Replay {
    data: Arc<dyn Cascades>,
    /// Why the replay ended early: a cascade could not be read.
    error: Option<DataError>,
    /// Shuffled ids of the non-empty cascades; source s gets s, s + S, ...
    order: Vec<usize>,
    sources: Vec<Source>,
    /// One entry per unfinished source, keyed by its next message's time.
    queue: BinaryHeap<Reverse<Next>>,
    spread: f64,
    /// `None`: no watermarks.
    watermark: Option<f64>,
    format: TweetFormat,
    total: usize,
}

impl Replay {
    pub fn new(data: Arc<dyn Cascades>, cfg: ReplayConfig) -> Replay {
        let n_sources = cfg.sources.max(1);
        let spread = if cfg.start_spread.is_finite() {
            cfg.start_spread.max(0.0)
        } else {
            0.0
        };
        let watermark = (cfg.watermark_interval.is_finite()
            && cfg.watermark_interval > 0.0
            && cfg.format == TweetFormat::Ours)
            .then_some(cfg.watermark_interval);
        let mut order: Vec<usize> = (0..data.len()).filter(|&i| data.size(i) > 0).collect();
        if !cfg.keep_start_times {
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(cfg.seed));
        }
        let mut replay = Replay {
            total: order.iter().map(|&i| data.size(i)).sum(),
            order,
            sources: Vec::with_capacity(n_sources),
            queue: BinaryHeap::with_capacity(n_sources),
            spread,
            watermark,
            format: cfg.format,
            data,
            error: None,
        };
        for s in 0..n_sources {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(1 + s as u64);
            let mut source = Source::new(s as SourceId, cfg.max_active.max(1), rng)
                .keeping_start_times(cfg.keep_start_times);
            for _ in 0..cfg.max_active.max(1) {
                if let Err(e) =
                    source.start_next(0.0, &*replay.data, &replay.order, n_sources, spread)
                {
                    replay.error.get_or_insert(e);
                }
            }
            if let Some(at) = source.next_at(watermark) {
                replay.queue.push(Reverse(Next { at, source: s }));
            }
            replay.sources.push(source);
        }
        replay
    }

    /// How many tweets the whole replay emits (watermarks and ends aside).
    pub fn total_tweets(&self) -> usize {
        self.total
    }

    /// Why the replay stopped before its end, if it did: a cascade's rows
    /// could not be read (a data file changed or vanished while replayed).
    pub fn error(&self) -> Option<&DataError> {
        self.error.as_ref()
    }
}

impl Iterator for Replay {
    type Item = Emitted;

    fn next(&mut self) -> Option<Emitted> {
        loop {
            if self.error.is_some() {
                return None;
            }
            let n_sources = self.sources.len();
            let mut top = self.queue.peek_mut()?;
            let source = &mut self.sources[top.0.source];
            let mut out = match source.emit(
                &*self.data,
                &self.order,
                n_sources,
                self.spread,
                self.watermark,
            ) {
                Ok(out) => out,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            };
            match source.next_at(self.watermark) {
                Some(at) => top.0.at = at,
                None => {
                    PeekMut::pop(top);
                }
            }
            match (self.format, &mut out.msg) {
                (TweetFormat::Course2021, TweetMsg::End { .. }) => continue,
                (TweetFormat::Course2021, TweetMsg::Tweet(t) | TweetMsg::Retweet(t)) => {
                    t.tweet_id = t.cascade_id().map(|cid| match cid.parse::<u64>() {
                        Ok(n) => serde_json::Value::from(n),
                        Err(_) => serde_json::Value::from(cid),
                    });
                }
                _ => {}
            }
            return Some(out);
        }
    }
}

impl FusedIterator for Replay {}

/// The queue key of a source: its next message's time, ties by source id.
#[derive(Debug, Clone, Copy)]
struct Next {
    at: f64,
    source: usize,
}

impl Ord for Next {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at
            .total_cmp(&other.at)
            .then(self.source.cmp(&other.source))
    }
}
impl PartialOrd for Next {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Next {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Next {}

#[cfg(test)]
mod tests;
