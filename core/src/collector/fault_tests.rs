//! The collector under the faults operators meet (issue 7): a restart
//! replaying from the committed offset, event times that lie, duplicates.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests::{
    Run, cfg, end, random_stream, rt, series, sizes, tweet_of, with_watermarks, wm,
};
use super::*;
use crate::schema::{PropertiesMsg, Topic, TweetMsg};
use crate::stage::Origin;
use crate::stage::Stage;

/// A message and where it sits on the tweets topic.
type Record = (Origin, Message);

/// Puts source s on partition s mod 2, numbering each partition's offsets.
fn on_partitions(msgs: Vec<Message>) -> Vec<Record> {
    let mut next = [0i64; 2];
    msgs.into_iter()
        .map(|m| {
            let Message::Tweet(t) = &m else {
                unreachable!("the streams hold tweets only")
            };
            let partition = (t.source() % 2) as i32;
            let offset = next[partition as usize];
            next[partition as usize] += 1;
            (Origin { partition, offset }, m)
        })
        .collect()
}

/// Feeds records to `c`, ignoring refused ones (the driver dead-letters
/// them); returns the outputs, encoded.
fn feed<'a>(c: &mut Collector, records: impl IntoIterator<Item = &'a Record>) -> Vec<String> {
    let mut out = Vec::new();
    for (origin, msg) in records {
        let ctx = Ctx {
            now: 0.0,
            origin: *origin,
        };
        let mut produced = Vec::new();
        if c.handle(msg.clone(), ctx, &mut produced).is_ok() {
            out.extend(produced);
        } else {
            assert!(produced.is_empty(), "a refused message produced output");
        }
    }
    out.iter()
        .map(|m| String::from_utf8(m.encode()).unwrap())
        .collect()
}

/// Adds tweet ids, a few exact duplicates and a few times that lie.
fn with_faults(msgs: Vec<Message>, seed: u64) -> Vec<Message> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (k, mut m) in msgs.into_iter().enumerate() {
        if let Message::Tweet(TweetMsg::Retweet(t)) = &mut m {
            t.tweet_id = Some(serde_json::Value::String(format!("id-{k}")));
            if rng.random_bool(0.02) {
                let mut bad = t.clone();
                bad.t = if rng.random_bool(0.5) {
                    t.t * 1000.0 + 1e7
                } else {
                    -100.0
                };
                bad.tweet_id = None;
                out.push(Message::Tweet(TweetMsg::Retweet(bad)));
            }
        }
        let duplicate = matches!(m, Message::Tweet(TweetMsg::Retweet(_))) && rng.random_bool(0.05);
        out.push(m.clone());
        if duplicate {
            out.push(m);
        }
    }
    out
}

/// The property that makes a collector restart exact: crash anywhere,
/// replay every partition from what the driver would have committed (the
/// retained offset), and the outputs are those of the uninterrupted run,
/// duplicates aside: nothing lost, nothing invented, no size changed. The
/// streams have cascades with gaps longer than the termination delay (late
/// tweets), cascades forgotten after a short late horizon, watermarks,
/// `end`s, duplicates and refused times.
#[test]
fn a_collector_restarted_from_its_retained_offset_outputs_exactly_what_an_uninterrupted_one_does() {
    let short_horizon = CollectorConfig {
        late_horizon: 2500.0,
        ..cfg()
    };
    // Sources that stop without `end`, ended for lagging the others.
    let idle = CollectorConfig {
        source_idle: Some(3000.0),
        ..cfg()
    };
    let (mut crashes, mut idle_ended) = (0, 0);
    for (c, config) in [cfg(), short_horizon, idle].into_iter().enumerate() {
        for seed in 0..12 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let stream = random_stream(&mut rng);
            let mut msgs = with_faults(with_watermarks(&stream, Some(97.0), seed), seed);
            if c == 2 {
                msgs.retain(|m| !matches!(m, Message::Tweet(TweetMsg::End { .. })));
            }
            let records = on_partitions(msgs);
            let mut uninterrupted = Collector::new(config.clone());
            let whole: BTreeSet<String> = feed(&mut uninterrupted, &records).into_iter().collect();
            idle_ended += uninterrupted.stats().idle_sources_ended;
            assert!(!whole.is_empty());
            let step = (records.len() / 30).max(1);
            for crash in (1..records.len()).step_by(step) {
                let mut first = Collector::new(config.clone());
                let before = feed(&mut first, &records[..crash]);
                let resume: Vec<i64> = (0..2)
                    .map(|p| {
                        let next = records[..crash]
                            .iter()
                            .filter(|(o, _)| o.partition == p)
                            .map(|(o, _)| o.offset + 1)
                            .max()
                            .unwrap_or(0);
                        first
                            .retained_offset(Topic::Tweets, p)
                            .map_or(next, |r| r.min(next))
                    })
                    .collect();
                let replayed: Vec<&Record> = records
                    .iter()
                    .filter(|(o, _)| o.offset >= resume[o.partition as usize])
                    .collect();
                let after = feed(&mut Collector::new(config.clone()), replayed);
                let invented: Vec<&String> = after.iter().filter(|m| !whole.contains(*m)).collect();
                assert!(
                    invented.is_empty(),
                    "config {c}, seed {seed}, crash at {crash}, resume at {resume:?}: invented {invented:#?}"
                );
                let got: BTreeSet<String> = before.into_iter().chain(after).collect();
                let lost: Vec<&String> = whole.difference(&got).collect();
                assert!(
                    lost.is_empty(),
                    "config {c}, seed {seed}, crash at {crash}, resume at {resume:?}: lost {lost:#?}"
                );
                crashes += 1;
            }
        }
    }
    assert!(crashes > 750);
    assert!(idle_ended > 10, "idle sources ended: {idle_ended}");
}

#[test]
fn the_retained_offset_covers_a_terminated_cascade_until_its_late_horizon() {
    let mut run = Run::new(cfg()); // late horizon 10,000 s
    run.send_all([rt(1, 7, 0.0), rt(1, 7, 10.0)]); // offsets 0, 1
    run.send(rt(1, 8, 3000.0)); // offset 2: cascade 7 ended at 1810
    assert_eq!(run.c.open_cascades(), 1);
    // 7 may still get a late tweet, which a replay from 2 would take for
    // a new cascade.
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(0));
    run.send(rt(1, 8, 4000.0)); // offset 3
    run.send(wm(1, 11_811.0)); // offset 4: 7 forgotten (10 + 1800 + 10,000)
    // 7 is whole before 2; the source's clock was last set at 4.
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(2));
    run.send(wm(1, 20_000.0)); // 5: 8 ends, and is forgotten
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(5));
    run.send(end(1));
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), None);
}

#[test]
fn a_span_reaching_the_replay_point_pulls_it_back_to_its_first_tweet() {
    let mut run = Run::new(CollectorConfig {
        late_horizon: 100.0,
        ..cfg()
    });
    run.send(rt(1, 7, 0.0)); // 0
    run.send(rt(2, 9, 0.0)); // 1, another source, same partition
    run.send(rt(1, 7, 50.0)); // 2: 7 spans 0..=2
    run.send(wm(1, 5000.0)); // 3: 7 ends and is forgotten
    // Source 2 pins 1; 7 spans 0..=2 and reaches 1: replay from 0.
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(0));
    run.send(end(2)); // 4: 9 spans 1..=1
    assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(3));
}

#[test]
fn remembered_spans_stay_bounded_on_a_long_stream() {
    let mut run = Run::new(CollectorConfig {
        late_horizon: 100.0,
        ..cfg()
    });
    for k in 0..20_000u32 {
        run.send(rt(u64::from(1 + k % 3), k, f64::from(k) * 10.0));
    }
    assert!(
        run.c.remembered() < 2_000,
        "remembered {}",
        run.c.remembered()
    );
}

#[test]
fn a_tweet_far_ahead_of_its_source_clock_is_refused_and_changes_nothing() {
    let mut run = Run::new(cfg());
    run.send_all([rt(1, 7, 0.0), rt(1, 7, 10.0), rt(1, 7, 20.0)]);
    let mut out = Vec::new();
    let ms = rt(1, 7, 1.7e12);
    let err = run.c.handle(ms, Ctx::default(), &mut out).unwrap_err();
    assert!(
        err.to_string().contains("ahead of source 1's clock"),
        "{err}"
    );
    let far_wm = wm(1, 1.7e12);
    assert!(run.c.handle(far_wm, Ctx::default(), &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!(run.c.stats().bad_times, 2);
    // The cascade is intact: it still gets its window and its full size.
    let out = run.send(wm(1, 5000.0));
    assert_eq!(
        sizes(&out),
        vec![("7".into(), 600, 3, 20.0), ("7".into(), 1200, 3, 20.0)]
    );
}

#[test]
fn a_tweet_older_than_its_source_watermark_is_refused() {
    let mut run = Run::new(cfg());
    run.send_all([rt(1, 7, 0.0), rt(1, 7, 10.0), rt(1, 7, 20.0)]);
    run.send(wm(1, 100.0));
    let err = run
        .c
        .handle(rt(1, 7, -100.0), Ctx::default(), &mut Vec::new())
        .unwrap_err();
    assert!(
        err.to_string().contains("behind source 1's watermark"),
        "{err}"
    );
    // Not behind it: an out-of-order tweet is still accepted.
    run.send(rt(1, 7, 100.0));
    let out = run.send(wm(1, 600.0));
    assert_eq!(series(&out), vec![("7".into(), 600, 4)]);
}

fn with_id(msg: Message, id: &str) -> Message {
    let Message::Tweet(TweetMsg::Retweet(mut t)) = msg else {
        unreachable!()
    };
    t.tweet_id = Some(serde_json::Value::String(id.into()));
    Message::Tweet(TweetMsg::Retweet(t))
}

#[test]
fn a_tweet_sent_twice_with_its_id_is_counted_once() {
    let mut run = Run::new(cfg());
    for (k, t) in [0.0, 10.0, 20.0].into_iter().enumerate() {
        let id = format!("rt-{k}");
        run.send(with_id(rt(1, 7, t), &id));
        run.send(with_id(rt(1, 7, t), &id));
    }
    let out = run.send(wm(1, 5000.0));
    assert_eq!(
        series(&out),
        vec![("7".into(), 600, 3), ("7".into(), 1200, 3)]
    );
    assert_eq!(sizes(&out)[0].2, 3);
    assert_eq!(run.c.stats().duplicates, 3);
}

#[test]
fn tweets_whose_id_is_the_cascade_id_are_not_deduplicated() {
    // The 2021 edition without `info`: `tweet_id` names the cascade.
    let mut run = Run::new(cfg());
    for t in [0.0, 10.0, 20.0] {
        let Message::Tweet(TweetMsg::Retweet(mut tw)) = tweet_of(1, 0, t, 5.0, false) else {
            unreachable!()
        };
        tw.info.clear();
        tw.tweet_id = Some(serde_json::Value::from(42));
        run.send(Message::Tweet(TweetMsg::Retweet(tw)));
    }
    let out = run.send(wm(1, 5000.0));
    assert_eq!(
        series(&out),
        vec![("42".into(), 600, 3), ("42".into(), 1200, 3)]
    );
    assert_eq!(run.c.stats().duplicates, 0);
}

#[test]
fn series_and_sizes_say_where_their_cascade_started_and_where_they_were_decided() {
    let mut run = Run::new(cfg());
    run.send_on(3, rt(1, 9, 0.0)); // offset 0: another cascade first
    for k in 0..10 {
        assert!(run.send_on(3, rt(1, 7, f64::from(k))).is_empty()); // 1..=10
    }
    let decided = run.send_on(3, wm(1, 700.0)); // 11: window 600 decided
    let Some(Message::Series(s)) = decided
        .iter()
        .find(|m| matches!(m, Message::Series(s) if s.cid == "7"))
    else {
        panic!("no series: {decided:?}")
    };
    assert_eq!(
        s.lineage,
        Some(crate::schema::Lineage {
            partition: 3,
            first: 1,
            decided: 11
        })
    );
    let out = run.send_on(3, end(1)); // 12
    let size_lineages: Vec<_> = out
        .iter()
        .filter_map(|m| match m {
            Message::Properties(PropertiesMsg::Size(s)) if s.cid == "7" => s.lineage,
            _ => None,
        })
        .collect();
    assert!(!size_lineages.is_empty());
    assert!(
        size_lineages
            .iter()
            .all(|l| (l.partition, l.first, l.decided) == (3, 1, 12))
    );
}
