//! Tweet sources: a [`Dataset`] replayed as the `tweets` stream, the way the
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
//! tweet costs O(log K + log S) plus its message.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;
use std::iter::FusedIterator;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::Dataset;
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
    data: Arc<Dataset>,
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
    pub fn new(data: Arc<Dataset>, cfg: ReplayConfig) -> Replay {
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
                source.start_next(0.0, &replay.data, &replay.order, n_sources, spread);
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
}

impl Iterator for Replay {
    type Item = Emitted;

    fn next(&mut self) -> Option<Emitted> {
        loop {
            let n_sources = self.sources.len();
            let mut top = self.queue.peek_mut()?;
            let source = &mut self.sources[top.0.source];
            let mut out = source.emit(
                &self.data,
                &self.order,
                n_sources,
                self.spread,
                self.watermark,
            );
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

/// An active cascade: its next row and when that row's tweet is due.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    t: f64,
    /// Start order within the source: the tie-break between cascades.
    seq: u64,
    cid: usize,
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
    fn start_next(&mut self, now: f64, data: &Dataset, order: &[usize], n: usize, spread: f64) {
        let Some(&cid) = order.get(self.next_deal) else {
            return;
        };
        self.next_deal += n;
        let start = now + (self.rng.random::<f64>() * spread).round();
        let row = data.cascades[cid].start;
        self.active.push(Reverse(Cursor {
            t: start,
            seq: self.seq,
            cid,
            row,
            start,
            origin: data.times[row],
        }));
        self.seq += 1;
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
        data: &Dataset,
        order: &[usize],
        n: usize,
        spread: f64,
        watermark: Option<f64>,
    ) -> Emitted {
        let source = self.id;
        let Some(mut top) = self.active.peek_mut() else {
            self.done = true;
            let msg = TweetMsg::End { source };
            return Emitted {
                at: self.last,
                msg,
                next_tweet: None,
            };
        };
        if let Some(w) = watermark.filter(|&w| top.0.t - self.last > w) {
            self.last += w;
            let msg = TweetMsg::Watermark {
                source,
                t: self.last,
            };
            return Emitted {
                at: self.last,
                msg,
                next_tweet: Some(top.0.t),
            };
        }
        let Cursor { t, cid, row, .. } = top.0;
        let range = &data.cascades[cid];
        let tweet = Tweet {
            msg: String::new(),
            t,
            m: data.marks[row],
            source,
            info: format!("cascade={cid}"),
            tweet_id: None,
        };
        let msg = if row == range.start {
            TweetMsg::Tweet(tweet)
        } else {
            TweetMsg::Retweet(tweet)
        };
        self.last = t;
        if row + 1 < range.end {
            top.0.row = row + 1;
            // Non-decreasing: data times are sorted and rounding is monotone.
            top.0.t = top.0.start + (data.times[row + 1] - top.0.origin);
        } else {
            PeekMut::pop(top);
            self.start_next(t, data, order, n, spread);
        }
        Emitted {
            at: t,
            msg,
            next_tweet: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    /// 300 cascades of 1 to 40 tweets over up to ~3 hours, with long gaps.
    fn dataset() -> Arc<Dataset> {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let cascades = (0..300).map(|_| {
            let n = rng.random_range(1..=40);
            let mut t = 0.0;
            (0..n)
                .map(|k| {
                    if k > 0 {
                        t += (rng.random::<f64>() * 600.0).round();
                    }
                    (t, rng.random_range(1..10_000) as f64)
                })
                .collect::<Vec<_>>()
        });
        Arc::new(Dataset::from_cascades(cascades))
    }

    fn config() -> ReplayConfig {
        ReplayConfig {
            sources: 3,
            max_active: 4,
            seed: 11,
            ..ReplayConfig::default()
        }
    }

    fn run(cfg: ReplayConfig) -> Vec<Emitted> {
        Replay::new(dataset(), cfg).collect()
    }

    fn cid(msg: &TweetMsg) -> Option<usize> {
        match msg {
            TweetMsg::Tweet(t) | TweetMsg::Retweet(t) => t.cascade_id()?.parse().ok(),
            _ => None,
        }
    }

    #[test]
    fn a_seed_gives_one_stream_and_another_seed_another() {
        assert_eq!(run(config()), run(config()));
        let other = run(ReplayConfig {
            seed: 12,
            ..config()
        });
        assert_ne!(run(config()), other);
    }

    #[test]
    fn the_merged_stream_and_each_source_go_forward_in_time() {
        let out = run(config());
        assert!(out.windows(2).all(|w| w[0].at <= w[1].at));
        let mut last: HashMap<SourceId, f64> = HashMap::new();
        for e in &out {
            if let Some(t) = e.msg.time() {
                assert_eq!(t, e.at);
            }
            let prev = last.insert(e.msg.source(), e.at).unwrap_or(0.0);
            assert!(e.at >= prev, "source {} went back", e.msg.source());
        }
    }

    #[test]
    fn every_tweet_is_sent_once_with_its_cascade_id_and_type() {
        let data = dataset();
        let replay = Replay::new(data.clone(), config());
        assert_eq!(replay.total_tweets(), data.n_tweets());
        let mut seen: Vec<Vec<(f64, TweetMsg)>> = vec![Vec::new(); data.len()];
        for e in replay {
            if let Some(c) = cid(&e.msg) {
                seen[c].push((e.at, e.msg));
            }
        }
        for (c, tweets) in seen.iter().enumerate() {
            let (times, marks) = data.cascade(c);
            assert_eq!(tweets.len(), times.len(), "cascade {c}");
            let start = tweets[0].0;
            for (k, (at, msg)) in tweets.iter().enumerate() {
                let (TweetMsg::Tweet(t) | TweetMsg::Retweet(t)) = msg else {
                    unreachable!()
                };
                assert_eq!(matches!(msg, TweetMsg::Tweet(_)), k == 0);
                assert_eq!((at - start, t.m), (times[k], marks[k]));
                assert_eq!(t.source, tweets[0].1.source());
            }
        }
    }

    #[test]
    fn a_source_never_has_more_than_k_cascades_active() {
        let data = dataset();
        let mut active: HashMap<SourceId, HashSet<usize>> = HashMap::new();
        let mut sent = vec![0; data.len()];
        let mut peak = 0;
        for e in Replay::new(data.clone(), config()) {
            let Some(c) = cid(&e.msg) else { continue };
            let set = active.entry(e.msg.source()).or_default();
            set.insert(c);
            peak = peak.max(set.len());
            sent[c] += 1;
            if sent[c] == data.size(c) {
                set.remove(&c);
            }
        }
        assert!(peak <= config().max_active, "peak {peak}");
        assert_eq!(peak, config().max_active, "the test never fills a source");
    }

    #[test]
    fn watermarks_fill_every_gap_longer_than_the_interval() {
        let out = run(ReplayConfig {
            max_active: 1,
            ..config()
        });
        let interval = config().watermark_interval;
        let watermarks = out
            .iter()
            .filter(|e| matches!(e.msg, TweetMsg::Watermark { .. }))
            .count();
        assert!(watermarks > 100, "{watermarks} watermarks");
        let mut last: HashMap<SourceId, f64> = HashMap::new();
        for e in &out {
            let prev = last.insert(e.msg.source(), e.at).unwrap_or(0.0);
            assert!(e.at - prev <= interval, "gap {prev} -> {}", e.at);
        }
        let none = run(ReplayConfig {
            watermark_interval: f64::INFINITY,
            ..config()
        });
        assert!(
            none.iter()
                .all(|e| !matches!(e.msg, TweetMsg::Watermark { .. }))
        );
    }

    #[test]
    fn a_watermark_says_when_its_source_s_next_tweet_is_due() {
        let out = run(ReplayConfig {
            max_active: 1,
            ..config()
        });
        let mut checked = 0;
        for (i, e) in out.iter().enumerate() {
            let TweetMsg::Watermark { source, .. } = e.msg else {
                assert_eq!(e.next_tweet, None, "{e:?}");
                continue;
            };
            let next = out[i + 1..]
                .iter()
                .find(|n| n.msg.source() == source && cid(&n.msg).is_some())
                .unwrap();
            assert_eq!(e.next_tweet, Some(next.at), "{e:?}");
            checked += 1;
        }
        assert!(checked > 100, "{checked} watermarks");
    }

    #[test]
    fn the_course_2021_format_sends_tweet_ids_and_no_watermark_or_end() {
        let ours = run(ReplayConfig {
            max_active: 1,
            ..config()
        });
        let course = run(ReplayConfig {
            max_active: 1,
            format: TweetFormat::Course2021,
            ..config()
        });
        let tweets = |out: &[Emitted]| -> Vec<(f64, Option<usize>)> {
            out.iter()
                .filter_map(|e| Some((e.at, Some(cid(&e.msg)?))))
                .collect()
        };
        assert_eq!(
            tweets(&course),
            tweets(&ours),
            "the same tweets, in the same order"
        );
        assert_eq!(course.len(), tweets(&course).len(), "nothing but tweets");
        assert!(ours.len() > course.len());
        for e in &course {
            let (TweetMsg::Tweet(t) | TweetMsg::Retweet(t)) = &e.msg else {
                panic!("{e:?}")
            };
            let id = t.tweet_id.as_ref().and_then(|v| v.as_u64()).unwrap();
            assert_eq!(Some(id as usize), cid(&e.msg));
            let json = serde_json::to_string(&e.msg).unwrap();
            assert!(json.contains(&format!(r#""tweet_id":{id}"#)), "{json}");
        }
    }

    #[test]
    fn each_source_ends_with_end_at_its_last_tweet() {
        let out = run(config());
        for s in 0..config().sources as SourceId {
            let mine: Vec<&Emitted> = out.iter().filter(|e| e.msg.source() == s).collect();
            let (end, rest) = mine.split_last().unwrap();
            assert_eq!(end.msg, TweetMsg::End { source: s });
            assert_eq!(end.at, rest.last().unwrap().at);
            assert!(rest.iter().all(|e| !matches!(e.msg, TweetMsg::End { .. })));
        }
        let idle = Replay::new(
            dataset(),
            ReplayConfig {
                sources: 400,
                ..config()
            },
        );
        assert_eq!(
            idle.filter(|e| matches!(e.msg, TweetMsg::End { .. }))
                .count(),
            400
        );
    }

    /// Not a benchmark harness, a measure: run with `--release --ignored
    /// --nocapture`. Leaves the files in the temp directory for other tools.
    #[test]
    #[ignore = "measures a NEWS-sized synthetic set: generate, write, load, replay"]
    fn news_sized_set_timings() {
        use std::time::Instant;
        let clock = Instant::now();
        let d = crate::synthetic::generate(&crate::synthetic::SyntheticConfig::default());
        println!("generate: {:?} ({} tweets)", clock.elapsed(), d.n_tweets());
        let dir = std::env::temp_dir();
        let (data, index) = (
            dir.join("synthetic-news-data.csv"),
            dir.join("synthetic-news-index.csv"),
        );
        let clock = Instant::now();
        d.write(&data, &index).unwrap();
        println!("write: {:?}", clock.elapsed());
        let clock = Instant::now();
        let loaded = Dataset::load(&data, &index).unwrap();
        println!("load: {:?}", clock.elapsed());
        assert_eq!(loaded, d);
        let clock = Instant::now();
        let (mut tweets, mut others) = (0, 0);
        for e in Replay::new(Arc::new(loaded), ReplayConfig::default()) {
            match e.msg {
                TweetMsg::Tweet(_) | TweetMsg::Retweet(_) => tweets += 1,
                _ => others += 1,
            }
        }
        println!(
            "replay: {:?} ({tweets} tweets, {others} watermarks and ends)",
            clock.elapsed()
        );
        assert_eq!(tweets, d.n_tweets());
    }
}
