//! One source of the replay: its clock, its active cascades (a heap of
//! cursors) and the messages it emits.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::data::{Cascades, DataError};
use crate::schema::{SourceId, Tweet, TweetMsg};

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
pub(super) struct Source {
    id: SourceId,
    rng: ChaCha8Rng,
    /// Index into `Replay::order` of this source's next cascade.
    next_deal: usize,
    active: BinaryHeap<Reverse<Cursor>>,
    seq: u64,
    /// Time of the last message sent (the clock starts at 0).
    last: f64,
    done: bool,
    /// Start each cascade at its data time rather than U[0, spread] after
    /// its slot frees (see [`super::ReplayConfig::keep_start_times`]).
    keep_start_times: bool,
}

impl Source {
    /// Source `id`, dealt cascades `id`, `id + S`, ... of the shuffled
    /// order, at most `max_active` at once.
    pub(super) fn new(id: SourceId, max_active: usize, rng: ChaCha8Rng) -> Self {
        Self {
            id,
            next_deal: id as usize,
            active: BinaryHeap::with_capacity(max_active),
            seq: 0,
            last: 0.0,
            done: false,
            rng,
            keep_start_times: false,
        }
    }

    pub(super) fn keeping_start_times(mut self, keep: bool) -> Self {
        self.keep_start_times = keep;
        self
    }

    /// Starts this source's next dealt cascade, if any, at now + U[0, spread]
    /// or, keeping start times, at its first tweet's data time (now if
    /// that has passed).
    pub(super) fn start_next(
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
        let (mut times, mut marks) = (Vec::new(), Vec::new());
        data.read(cid, &mut times, &mut marks)?;
        let start = if self.keep_start_times {
            times[0].max(now)
        } else {
            now + (self.rng.random::<f64>() * spread).round()
        };
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
    pub(super) fn next_at(&self, watermark: Option<f64>) -> Option<f64> {
        if self.done {
            return None;
        }
        Some(match (self.active.peek(), watermark) {
            (Some(c), Some(w)) if c.0.t - self.last > w => self.last + w,
            (Some(c), _) => c.0.t,
            (None, _) => self.last,
        })
    }

    pub(super) fn emit(
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
pub(super) fn cascade_info(cid: usize) -> String {
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
