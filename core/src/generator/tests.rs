//! Tests of the replay generator.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{HashMap, HashSet};

use super::*;
use rand::Rng;

use crate::data::Dataset;

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

#[test]
fn cascade_info_writes_the_id_in_decimal() {
    for cid in [0, 7, 10, 99, 12_345, usize::MAX] {
        assert_eq!(super::source::cascade_info(cid), format!("cascade={cid}"));
    }
}

#[test]
fn a_replay_read_from_the_files_is_the_replay_of_the_loaded_set() {
    let set = dataset();
    let dir = std::env::temp_dir().join(format!("tweetoscope-replay-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (data, index) = (dir.join("data.csv"), dir.join("index.csv"));
    set.write(&data, &index).unwrap();
    let file = crate::data::DataFile::open(&data, &index).unwrap();
    let mut streamed = Replay::new(Arc::new(file), config());
    let got: Vec<Emitted> = streamed.by_ref().collect();
    assert!(streamed.error().is_none());
    assert_eq!(got, run(config()));

    // A data file cut short while replayed ends the replay with the reason.
    let file = crate::data::DataFile::open(&data, &index).unwrap();
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(&data, &text[..text.len() / 2]).unwrap();
    let mut cut = Replay::new(Arc::new(file), config());
    let n = cut.by_ref().count();
    assert!(n < got.len(), "{n} of {}", got.len());
    let e = cut
        .error()
        .expect("the replay says why it stopped")
        .to_string();
    assert!(e.contains("changed since the file was checked"), "{e}");
}

#[test]
fn keeping_start_times_starts_each_cascade_at_its_data_time_unless_its_slot_is_busy() {
    // Cascade i: two tweets at 1000 i and 1000 i + 50, except cascade 3,
    // which lasts long enough to keep the only slot of a source busy.
    let cascades = (0..8).map(|i| {
        let start = 1000.0 * f64::from(i);
        let last = if i == 3 { start + 2500.0 } else { start + 50.0 };
        vec![(start, 1.0), (last, 1.0)]
    });
    let set = Arc::new(Dataset::from_cascades(cascades));
    let first_tweets = |cfg: ReplayConfig| -> Vec<(usize, f64)> {
        Replay::new(set.clone(), cfg)
            .filter_map(|e| match &e.msg {
                TweetMsg::Tweet(t) => Some((t.cascade_id()?.parse().ok()?, e.at)),
                _ => None,
            })
            .collect()
    };
    let kept = first_tweets(ReplayConfig {
        sources: 1,
        max_active: 1,
        keep_start_times: true,
        ..config()
    });
    // In the file's order; 4 and 5 wait for cascade 3's slot (free at 5500).
    let want = [0.0, 1000.0, 2000.0, 3000.0, 5500.0, 5550.0, 6000.0, 7000.0];
    assert_eq!(kept, want.iter().copied().enumerate().collect::<Vec<_>>());
    // With slots to spare, every cascade starts at its data time.
    let roomy = first_tweets(ReplayConfig {
        sources: 2,
        max_active: 8,
        keep_start_times: true,
        ..config()
    });
    let mut roomy: Vec<f64> = roomy.into_iter().map(|(_, at)| at).collect();
    roomy.sort_by(f64::total_cmp);
    assert_eq!(
        roomy,
        (0..8).map(|i| 1000.0 * f64::from(i)).collect::<Vec<_>>()
    );
    // Without the option the data times are ignored: all start early.
    let spread = first_tweets(ReplayConfig {
        sources: 2,
        max_active: 8,
        ..config()
    });
    assert!(spread.iter().all(|&(_, at)| at <= 600.0), "{spread:?}");
}
