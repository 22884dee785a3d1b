//! The rules of SPEC §4, one test each, plus the watermark-independence
//! property over random streams.

// Tests may unwrap (STYLE); a workspace `clippy.toml` with
// `allow-unwrap-in-tests = true` would make this line unnecessary.
#![allow(clippy::unwrap_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::schema::{PropertiesMsg, SeriesMsg, Topic, TweetMsg, Window};
use crate::stage::Origin;
use crate::stage::{Flush, Stage};

pub(super) fn tweet_of(source: SourceId, cid: u32, t: f64, m: f64, original: bool) -> Message {
    let tweet = Tweet {
        msg: if original {
            "hello".into()
        } else {
            String::new()
        },
        t,
        m,
        source,
        info: format!("cascade={cid}"),
        tweet_id: None,
    };
    Message::Tweet(if original {
        TweetMsg::Tweet(tweet)
    } else {
        TweetMsg::Retweet(tweet)
    })
}

pub(super) fn rt(source: SourceId, cid: u32, t: f64) -> Message {
    tweet_of(source, cid, t, 10.0 + t, false)
}

pub(super) fn wm(source: SourceId, t: f64) -> Message {
    Message::Tweet(TweetMsg::Watermark { source, t })
}

pub(super) fn end(source: SourceId) -> Message {
    Message::Tweet(TweetMsg::End { source })
}

/// The course's parameters with a small minimum size and a short memory.
/// The tests' rules. Their sources are not in step (each has its own
/// times), so idle sources are never ended unless a test says so.
pub(super) fn cfg() -> CollectorConfig {
    CollectorConfig {
        min_cascade_size: 3,
        late_horizon: 10_000.0,
        source_idle: Some(f64::INFINITY),
        ..CollectorConfig::default()
    }
}

/// A collector fed on partition 0 with consecutive offsets.
pub(super) struct Run {
    pub(super) c: Collector,
    pub(super) offset: i64,
}

impl Run {
    pub(super) fn new(cfg: CollectorConfig) -> Self {
        Self {
            c: Collector::new(cfg),
            offset: 0,
        }
    }

    pub(super) fn send_on(&mut self, partition: i32, msg: Message) -> Vec<Message> {
        let ctx = Ctx {
            now: 0.0,
            origin: Origin {
                partition,
                offset: self.offset,
            },
        };
        self.offset += 1;
        let mut out = Vec::new();
        self.c.handle(msg, ctx, &mut out).unwrap();
        out
    }

    pub(super) fn send(&mut self, msg: Message) -> Vec<Message> {
        self.send_on(0, msg)
    }

    pub(super) fn send_all(&mut self, msgs: impl IntoIterator<Item = Message>) -> Vec<Message> {
        msgs.into_iter().flat_map(|m| self.send(m)).collect()
    }
}

/// `(cid, window, n_obs)` of each series in `out`.
pub(super) fn series(out: &[Message]) -> Vec<(String, Window, usize)> {
    out.iter()
        .filter_map(|m| match m {
            Message::Series(s) => Some((s.cid.clone(), s.t_obs, s.tweets.len())),
            _ => None,
        })
        .collect()
}

/// `(cid, window, n_tot, t_end)` of each size in `out`.
pub(super) fn sizes(out: &[Message]) -> Vec<(String, Window, u64, f64)> {
    out.iter()
        .filter_map(|m| match m {
            Message::Properties(PropertiesMsg::Size(s)) => {
                Some((s.cid.clone(), s.t_obs.unwrap(), s.n_tot, s.t_end))
            }
            _ => None,
        })
        .collect()
}

fn three_tweets(source: SourceId, cid: u32) -> Vec<Message> {
    vec![
        rt(source, cid, 0.0),
        rt(source, cid, 10.0),
        rt(source, cid, 20.0),
    ]
}

#[test]
fn series_is_sent_on_a_watermark_of_the_same_source() {
    let mut run = Run::new(cfg());
    assert!(run.send_all(three_tweets(1, 7)).is_empty());
    let out = run.send(wm(1, 600.0));
    assert_eq!(series(&out), vec![("7".into(), 600, 3)]);
    let Message::Series(s) = &out[0] else {
        panic!()
    };
    assert_eq!(s.tweets, vec![(0.0, 10.0), (10.0, 20.0), (20.0, 30.0)]);
}

#[test]
fn series_is_sent_on_a_tweet_of_another_cascade_of_the_same_source() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    let out = run.send(rt(1, 8, 650.0));
    assert_eq!(series(&out), vec![("7".into(), 600, 3)]);
}

#[test]
fn series_is_not_sent_before_its_window_elapses() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    assert!(run.send(wm(1, 599.0)).is_empty());
    assert!(run.send(rt(1, 8, 599.5)).is_empty());
    assert_eq!(run.c.stats().series_sent, 0);
}

#[test]
fn tweets_at_or_after_the_window_end_are_excluded() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    run.send(rt(1, 7, 599.0));
    // The tweet at 600 closes window 600 before joining the cascade.
    let out = run.send(rt(1, 7, 600.0));
    assert_eq!(series(&out), vec![("7".into(), 600, 4)]);
    let Message::Series(s) = &out[0] else {
        panic!()
    };
    assert_eq!(s.tweets.last(), Some(&(599.0, 609.0)));
    let out = run.send(wm(1, 1200.0));
    assert_eq!(series(&out), vec![("7".into(), 1200, 5)]);
}

#[test]
fn cascade_terminates_once_the_clock_passes_the_termination_delay() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    let out = run.send(wm(1, 1820.0));
    assert_eq!(
        series(&out),
        vec![("7".into(), 600, 3), ("7".into(), 1200, 3)]
    );
    assert!(sizes(&out).is_empty(), "1820 is not past 20 + 1800");
    let out = run.send(wm(1, 1820.5));
    assert_eq!(
        sizes(&out),
        vec![("7".into(), 600, 3, 20.0), ("7".into(), 1200, 3, 20.0)]
    );
    assert_eq!(run.c.open_cascades(), 0);
}

#[test]
fn size_is_not_sent_for_a_window_without_series() {
    let mut run = Run::new(cfg());
    let out = run.send_all([
        rt(1, 7, 0.0),
        rt(1, 7, 10.0),
        rt(1, 7, 700.0),
        rt(1, 7, 800.0),
    ]);
    assert!(series(&out).is_empty(), "window 600 held 2 tweets");
    let out = run.send(wm(1, 5000.0));
    assert_eq!(series(&out), vec![("7".into(), 1200, 4)]);
    assert_eq!(sizes(&out), vec![("7".into(), 1200, 4, 800.0)]);
    assert_eq!(run.c.stats().series_too_small, 1);
}

#[test]
fn window_not_elapsed_at_termination_is_dropped() {
    let mut run = Run::new(CollectorConfig {
        termination: 700.0,
        ..cfg()
    });
    run.send_all(three_tweets(1, 7));
    // Terminated at 720: window 1200 never elapsed, however late the clock.
    let out = run.send(wm(1, 100_000.0));
    assert_eq!(series(&out), vec![("7".into(), 600, 3)]);
    assert_eq!(sizes(&out), vec![("7".into(), 600, 3, 20.0)]);
}

#[test]
fn end_flushes_every_open_cascade_of_its_source() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    run.send_all(three_tweets(2, 9));
    run.send_all([rt(1, 8, 100.0), rt(1, 8, 101.0), rt(1, 8, 102.0)]);
    let mut out = run.send(end(1));
    out.sort_by_key(|m| (m.topic(), m.window()));
    assert_eq!(series(&out).len(), 4, "both windows of both cascades");
    assert_eq!(sizes(&out).len(), 4);
    assert_eq!(run.c.open_cascades(), 1, "source 2 is untouched");
    assert_eq!(run.c.stats().ends, 1);
    // A message after `end` restarts the source.
    run.send(rt(1, 7, 30.0));
    assert_eq!(run.c.open_cascades(), 2);
}

#[test]
fn the_end_of_the_input_ends_every_source() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    run.send_all(three_tweets(2, 9));
    let mut out = Vec::new();
    run.c.flush(Flush::EndOfInput, &mut out);
    assert_eq!(sizes(&out).len(), 4);
    assert_eq!(run.c.open_cascades(), 0);
}

#[test]
fn min_cascade_size_holds_back_small_series() {
    let mut run = Run::new(cfg());
    let mut out = run.send_all([rt(1, 7, 0.0), rt(1, 7, 10.0)]);
    out.extend(run.send(wm(1, 5000.0)));
    assert!(out.is_empty());
    let stats = run.c.stats();
    assert_eq!((stats.series_too_small, stats.cascades_terminated), (2, 1));
}

#[test]
fn late_tweet_is_counted_dropped_and_never_reopens_its_cascade() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    assert_eq!(sizes(&run.send(wm(1, 2000.0))).len(), 2);
    assert!(run.send(rt(1, 7, 2100.0)).is_empty());
    assert_eq!(run.c.stats().late_tweets, 1);
    assert_eq!(run.c.open_cascades(), 0);
    assert!(run.send(end(1)).is_empty());
}

#[test]
fn terminated_ids_are_forgotten_after_the_late_horizon() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    // Ended at 20 + 1800; remembered for 10,000 s after that.
    run.send(wm(1, 11_820.0));
    run.send(rt(1, 7, 11_820.0));
    assert_eq!(
        run.c.stats().late_tweets,
        1,
        "20 + 1800 + 10000 is not passed yet"
    );
    run.send(rt(1, 7, 11_820.5));
    assert_eq!(run.c.stats().late_tweets, 1);
    assert_eq!(run.c.open_cascades(), 1, "a new cascade with the old id");
    assert!(run.c.sources[&1].terminated.is_empty());
}

#[test]
fn a_cascade_resuming_after_a_silence_longer_than_termination_is_late_not_reopened() {
    // Termination and late horizon equal (both a day by default): the
    // late horizon counts from the end, so the id outlives its end.
    let mut run = Run::new(CollectorConfig {
        late_horizon: 1800.0,
        ..cfg()
    });
    run.send_all(three_tweets(1, 7));
    assert_eq!(sizes(&run.send(wm(1, 1821.0))).len(), 2, "7 ended at 1820");
    // 2800 s of silence, more than the 1800 s termination delay.
    let out = run.send_all([rt(1, 7, 2820.0), rt(1, 7, 2830.0), rt(1, 7, 2840.0)]);
    assert!(out.is_empty());
    assert_eq!(run.c.stats().late_tweets, 3);
    assert_eq!(run.c.open_cascades(), 0, "no fragment of 7 opened");
    let out = run.send(wm(1, 10_000.0));
    assert!(series(&out).is_empty() && sizes(&out).is_empty());
}

#[test]
fn out_of_order_tweet_joins_its_cascade_but_misses_sent_series() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    assert_eq!(series(&run.send(rt(1, 8, 650.0))).len(), 1);
    assert!(run.send(rt(1, 7, 5.0)).is_empty());
    assert_eq!(run.c.stats().out_of_order, 1);
    let out = run.send(wm(1, 1200.0));
    assert_eq!(series(&out), vec![("7".into(), 1200, 4)]);
    let Message::Series(s) = &out[0] else {
        panic!()
    };
    let times: Vec<f64> = s.tweets.iter().map(|&(t, _)| t).collect();
    assert_eq!(times, vec![0.0, 5.0, 10.0, 20.0]);
}

#[test]
fn tweet_older_than_its_cascade_start_moves_the_start_back() {
    let mut run = Run::new(cfg());
    run.send_all([rt(1, 7, 100.0), rt(1, 7, 110.0), rt(1, 8, 120.0)]);
    run.send(tweet_of(1, 7, 50.0, 1.0, true));
    let out = run.send(wm(1, 650.0));
    assert_eq!(series(&out), vec![("7".into(), 600, 3)]);
    let Message::Series(s) = &out[0] else {
        panic!()
    };
    assert_eq!(s.tweets[0], (0.0, 1.0));
    assert_eq!(s.msg, "hello", "the original tweet's text");
}

#[test]
fn other_sources_do_not_advance_this_sources_clock() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    assert!(run.send(wm(2, 100_000.0)).is_empty());
    assert!(run.send(rt(2, 9, 100_001.0)).is_empty());
    assert_eq!(run.c.open_cascades(), 2);
    assert_eq!(series(&run.send(wm(1, 600.0))).len(), 1);
}

#[test]
fn retained_offset_holds_every_open_or_remembered_cascade() {
    let mut run = Run::new(cfg());
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), None);
    run.send(rt(1, 7, 0.0)); // offset 0
    run.send(rt(1, 8, 1000.0)); // offset 1
    run.send(rt(1, 7, 1100.0)); // offset 2
    run.send(rt(1, 8, 1500.0)); // offset 3
    run.send_on(1, rt(2, 9, 0.0)); // offset 4, partition 1
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(0));
    assert_eq!(run.c.retained_offset(Topic::Tweets, 1), Some(4));
    run.send(wm(1, 2900.5)); // cascade 7 ended (1100 + 1800), 8 is open
    assert_eq!(
        run.c.retained_offset(Topic::Tweets, 0),
        Some(0),
        "7 may get late tweets"
    );
    run.send(wm(1, 5000.0)); // 8 ended too
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(0));
    run.send(wm(1, 20_000.0)); // offset 7: both forgotten
    assert_eq!(
        run.c.retained_offset(Topic::Tweets, 0),
        Some(7),
        "the clock's record"
    );
    assert_eq!(run.c.retained_offset(Topic::Tweets, 1), Some(4));
    assert_eq!(run.c.retained_offset(Topic::Tweets, 2), None);
}

#[test]
fn revoke_drops_the_sources_of_lost_partitions() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    run.send_on(1, rt(2, 9, 0.0));
    run.c.revoke(Topic::Tweets, &[0]);
    assert_eq!(run.c.open_cascades(), 1);
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), None);
    assert_eq!(run.c.retained_offset(Topic::Tweets, 1), Some(3));
}

#[test]
fn flush_emits_nothing_and_keeps_cascades_open() {
    let mut run = Run::new(cfg());
    run.send_all(three_tweets(1, 7));
    let mut out = Vec::new();
    run.c.flush(Flush::Shutdown, &mut out);
    assert!(out.is_empty());
    assert_eq!(run.c.open_cascades(), 1);
}

#[test]
fn state_is_freed_after_termination() {
    let mut run = Run::new(cfg());
    for cid in 0..50 {
        run.send_all([rt(1, cid, f64::from(cid)), rt(1, cid, f64::from(cid) + 1.0)]);
    }
    assert_eq!(run.c.open_cascades(), 50);
    run.send(wm(1, 2000.0));
    assert_eq!(run.c.open_cascades(), 0);
    let state = &run.c.sources[&1];
    assert!(state.open.is_empty());
    assert_eq!(state.terminated.len(), 50);
    assert_eq!(state.first_offsets.len(), 50, "pinned until forgotten");
    run.send(wm(1, 20_000.0));
    let state = &run.c.sources[&1];
    assert!(state.terminated.is_empty() && state.forget.is_empty());
    assert!(state.first_offsets.is_empty());
    assert!(state.due.is_empty());
}

#[test]
fn messages_of_other_topics_are_refused() {
    let mut c = Collector::new(cfg());
    let msg = Message::Series(SeriesMsg::new("1".into(), String::new(), 600, vec![]));
    let err = c.handle(msg, Ctx::default(), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, StageError::UnexpectedTopic { .. }));
    assert_eq!(c.inputs(), &[Topic::Tweets]);
}

#[test]
fn tweets_without_a_cascade_id_or_with_a_non_finite_time_are_refused() {
    let mut c = Collector::new(cfg());
    let mut bad = |msg| c.handle(msg, Ctx::default(), &mut Vec::new()).is_err();
    let Message::Tweet(TweetMsg::Retweet(mut t)) = rt(1, 7, 0.0) else {
        panic!()
    };
    t.info.clear();
    assert!(bad(Message::Tweet(TweetMsg::Retweet(t))));
    assert!(bad(wm(1, f64::NAN)));
}

/// A random stream: a few sources, cascades with gaps around the
/// termination delay, per-source time order, sources interleaved randomly.
/// Integer times so watermarks land exactly on window ends.
pub(super) fn random_stream(rng: &mut ChaCha8Rng) -> Vec<Vec<(u32, f64)>> {
    let mut cid = 0;
    (0..3)
        .map(|_| {
            let mut tweets = Vec::new();
            for _ in 0..rng.random_range(1..8) {
                cid += 1;
                let mut t = f64::from(rng.random_range(0..4000u32));
                for _ in 0..rng.random_range(1..25) {
                    tweets.push((cid, t));
                    let gap = if rng.random_bool(0.1) {
                        1700..2000
                    } else {
                        0..200
                    };
                    t += f64::from(rng.random_range(gap));
                }
            }
            tweets.sort_by(|a, b| a.1.total_cmp(&b.1));
            tweets
        })
        .collect()
}

/// Interleaves the sources (seeded), with watermarks every `every` seconds
/// between tweets and up to 5000 s after the last, then `end` for each.
pub(super) fn with_watermarks(
    sources: &[Vec<(u32, f64)>],
    every: Option<f64>,
    seed: u64,
) -> Vec<Message> {
    let mut per_source: Vec<Vec<Message>> = sources
        .iter()
        .enumerate()
        .map(|(s, tweets)| {
            let s = s as SourceId;
            let mut msgs = Vec::new();
            let mut next_wm = every.unwrap_or(f64::INFINITY);
            let stop = tweets.last().map_or(0.0, |&(_, t)| t + 5000.0);
            for &(cid, t) in tweets.iter().chain([&(0, stop)]) {
                while next_wm <= t {
                    msgs.push(wm(s, next_wm));
                    next_wm += every.unwrap_or(f64::INFINITY);
                }
                if cid != 0 {
                    msgs.push(rt(s, cid, t));
                }
            }
            msgs.push(end(s));
            msgs.reverse();
            msgs
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut merged = Vec::new();
    while per_source.iter().any(|m| !m.is_empty()) {
        let s = rng.random_range(0..per_source.len());
        if let Some(m) = per_source[s].pop() {
            merged.push(m);
        }
    }
    merged
}

/// The outputs, without their lineage (offsets differ with the watermarks).
fn sorted_output(cfg: &CollectorConfig, msgs: Vec<Message>) -> Vec<String> {
    let mut run = Run::new(cfg.clone());
    let mut out: Vec<String> = run
        .send_all(msgs)
        .into_iter()
        .map(|m| String::from_utf8(m.without_lineage().encode()).unwrap())
        .collect();
    assert_eq!(run.c.open_cascades(), 0);
    out.sort();
    out
}

#[test]
fn output_is_the_same_whatever_the_watermark_interval() {
    // The second configuration terminates cascades before their last window.
    let short = CollectorConfig {
        windows: vec![300, 600, 1200],
        termination: 500.0,
        ..cfg()
    };
    for cfg in [cfg(), short] {
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let stream = random_stream(&mut rng);
            let reference = sorted_output(&cfg, with_watermarks(&stream, None, seed));
            assert!(!reference.is_empty(), "seed {seed} tests nothing");
            for every in [1.0, 7.0, 500.0] {
                let msgs = with_watermarks(&stream, Some(every), seed + 1);
                let got = sorted_output(&cfg, msgs);
                assert_eq!(got, reference, "seed {seed}, watermark every {every} s");
            }
        }
    }
}
