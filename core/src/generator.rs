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

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Cascades, DataError};
use crate::schema::{SourceId, Tweet, TweetMsg};

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
        }
    }
}

/// One message of the replay and the source clock it is sent at: the
/// tweet's or watermark's `t`, and for `end` the source's last time.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub at: f64,
    pub msg: TweetMsg,
    /// For a watermark, when its source's next tweet is due: the gap the
    /// watermark fills ends there. A transport that replays faster than the
    /// source clock may skip the watermark when that gap is short in wall
    /// time (the collector's output does not depend on watermarks, only
    /// when it comes). `None` for tweets and `end`.
    pub next_tweet: Option<f64>,
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
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(cfg.seed));
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
            let mut source = Source {
                id: s as SourceId,
                next_deal: s,
                active: BinaryHeap::with_capacity(cfg.max_active.max(1)),
                seq: 0,
                last: 0.0,
                done: false,
                rng,
            };
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

/// An active cascade: its rows, its next row and when that row's tweet is
/// due.
#[derive(Debug, Clone)]
struct Cursor {
    t: f64,
    /// Start order within the source: the tie-break between cascades.
    seq: u64,
    cid: usize,
    times: Vec<f64>,
    marks: Vec<f64>,
    row: usize,
    /// When the cascade's first tweet is sent.
    start: f64,
    /// The data time of the first tweet: times are taken relative to it, so
    /// a cascade never starts before `start` whatever its data origin.
    origin: f64,
}

impl Ord for Cursor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.t.total_cmp(&other.t).then(self.seq.cmp(&other.seq))
    }
}
impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cursor {}

#[derive(Debug)]
struct Source {
    id: SourceId,
    rng: ChaCha8Rng,
    /// Index into `Replay::order` of this source's next cascade.
    next_deal: usize,
    active: BinaryHeap<Reverse<Cursor>>,
    seq: u64,
    /// Time of the last message sent (the clock starts at 0).
    last: f64,
    done: bool,
}

impl Source {
    /// Starts this source's next dealt cascade, if any, at now + U[0, spread].
    fn start_next(
        &mut self,
        now: f64,
        data: &dyn Cascades,
        order: &[usize],
        n: usize,
        spread: f64,
    ) -> Result<(), DataError> {
        let Some(&cid) = order.get(self.next_deal) else {
            return Ok(());
        };
        self.next_deal += n;
        let start = now + (self.rng.random::<f64>() * spread).round();
        let (mut times, mut marks) = (Vec::new(), Vec::new());
        data.read(cid, &mut times, &mut marks)?;
        self.active.push(Reverse(Cursor {
            t: start,
            seq: self.seq,
            cid,
            origin: times[0],
            times,
            marks,
            row: 0,
            start,
        }));
        self.seq += 1;
        Ok(())
    }

    /// When this source's next message is due; None once `end` is sent.
    fn next_at(&self, watermark: Option<f64>) -> Option<f64> {
        if self.done {
            return None;
        }
        Some(match (self.active.peek(), watermark) {
            (Some(c), Some(w)) if c.0.t - self.last > w => self.last + w,
            (Some(c), _) => c.0.t,
            (None, _) => self.last,
        })
    }

    fn emit(
        &mut self,
        data: &dyn Cascades,
        order: &[usize],
        n: usize,
        spread: f64,
        watermark: Option<f64>,
    ) -> Result<Emitted, DataError> {
        let source = self.id;
        let Some(mut top) = self.active.peek_mut() else {
            self.done = true;
            let msg = TweetMsg::End { source };
            return Ok(Emitted {
                at: self.last,
                msg,
                next_tweet: None,
            });
        };
        if let Some(w) = watermark.filter(|&w| top.0.t - self.last > w) {
            self.last += w;
            let msg = TweetMsg::Watermark {
                source,
                t: self.last,
            };
            return Ok(Emitted {
                at: self.last,
                msg,
                next_tweet: Some(top.0.t),
            });
        }
        let Cursor { t, cid, row, .. } = top.0;
        let tweet = Tweet {
            msg: String::new(),
            t,
            m: top.0.marks[row],
            source,
            info: cascade_info(cid),
            tweet_id: None,
        };
        let msg = if row == 0 {
            TweetMsg::Tweet(tweet)
        } else {
            TweetMsg::Retweet(tweet)
        };
        self.last = t;
        if row + 1 < top.0.times.len() {
            top.0.row = row + 1;
            // Non-decreasing: data times are sorted and rounding is monotone.
            top.0.t = top.0.start + (top.0.times[row + 1] - top.0.origin);
        } else {
            PeekMut::pop(top);
            self.start_next(t, data, order, n, spread)?;
        }
        Ok(Emitted {
            at: t,
            msg,
            next_tweet: None,
        })
    }
}

/// `cascade=<cid>`, the `info` of a replayed tweet, written without the
/// formatting machinery: a replay makes one per tweet (perf, 2026-12-05:
/// `format!` was 2 % of `eval`'s CPU).
fn cascade_info(cid: usize) -> String {
    const PREFIX: &str = "cascade=";
    let mut digits = [0u8; 20];
    let (mut at, mut n) = (digits.len(), cid);
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut info = String::with_capacity(PREFIX.len() + digits.len() - at);
    info.push_str(PREFIX);
    // Only ASCII digits were written.
    info.extend(digits[at..].iter().map(|&d| char::from(d)));
    info
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
