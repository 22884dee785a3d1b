//! Both in-process transports on a cascade that resumes after a silence
//! longer than the termination delay: its late tweets are dropped, no
//! fragment of it is sent on, its size counts only what came before.

// Tests may unwrap (STYLE).
#![allow(clippy::unwrap_used)]

use super::*;
use crate::collector::CollectorConfig;
use crate::estimator::Estimator;
use crate::hawkes::FitConfig;
use crate::predictor::PredictorConfig;
use crate::schema::{PropertiesMsg, Tweet, TweetMsg};

fn stages() -> Stages {
    Stages {
        collector: Collector::new(CollectorConfig {
            windows: vec![600],
            termination: 1800.0,
            late_horizon: 1800.0,
            ..CollectorConfig::default()
        }),
        estimator: Estimator::new(FitConfig::default()),
        predictor: Predictor::new(PredictorConfig::default()),
        learner: None,
    }
}

fn retweet(cid: u32, t: f64) -> Message {
    Message::Tweet(TweetMsg::Retweet(Tweet {
        msg: String::new(),
        t,
        m: 100.0 + t,
        source: 1,
        info: format!("cascade={cid}"),
        tweet_id: None,
    }))
}

/// Cascade 7: 12 tweets, 2,000 s of silence (its end is 1,811, and it is
/// remembered until 3,611), 12 more; then cascade 8 moves the clock on.
fn stream() -> Vec<Message> {
    let mut v: Vec<Message> = (0..12).map(|k| retweet(7, f64::from(k))).collect();
    v.extend((0..12).map(|k| retweet(7, 2011.0 + f64::from(k))));
    v.extend((0..12).map(|k| retweet(8, 2100.0 + f64::from(k))));
    v.push(Message::Tweet(TweetMsg::Watermark {
        source: 1,
        t: 20_000.0,
    }));
    v.push(Message::Tweet(TweetMsg::End { source: 1 }));
    v
}

/// `(cid, n_obs)` of the series and `(cid, n_tot)` of the sizes seen.
type Outcome = (Vec<(String, usize)>, Vec<(String, u64)>);

fn outcome(seen: &[Message]) -> Outcome {
    let series = seen
        .iter()
        .filter_map(|m| match m {
            Message::Series(s) => Some((s.cid.clone(), s.tweets.len())),
            _ => None,
        })
        .collect();
    let sizes = seen
        .iter()
        .filter_map(|m| match m {
            Message::Properties(PropertiesMsg::Size(s)) => Some((s.cid.clone(), s.n_tot)),
            _ => None,
        })
        .collect();
    (series, sizes)
}

fn expected() -> Outcome {
    (
        vec![("7".into(), 12), ("8".into(), 12)],
        vec![("7".into(), 12), ("8".into(), 12)],
    )
}

#[test]
fn the_sync_pipeline_drops_a_resumed_cascade_as_late_instead_of_reopening_it() {
    let mut p = SyncPipeline::new(stages());
    let mut seen = Vec::new();
    for msg in stream() {
        p.push(msg, 0.0, &mut |m| seen.push(m.clone()));
    }
    p.finish(0.0, &mut |m| seen.push(m.clone()));
    assert_eq!(outcome(&seen), expected());
    assert_eq!(p.stages.collector.stats().late_tweets, 12);
}

#[test]
fn the_threaded_pipeline_drops_a_resumed_cascade_as_late_instead_of_reopening_it() {
    let (threaded, output) = spawn_threaded(stages());
    for msg in stream() {
        threaded.input.send(Envelope::Msg(msg, 0.0)).unwrap();
    }
    threaded.input.send(Envelope::Done).unwrap();
    let stages = threaded.join().unwrap();
    // The sink sees series and fits, not sizes: the collector counts them.
    let seen: Vec<Message> = output.try_iter().collect();
    assert_eq!(outcome(&seen).0, expected().0);
    let stats = stages.collector.stats();
    assert_eq!(stats.late_tweets, 12);
    assert_eq!((stats.cascades_terminated, stats.sizes_sent), (2, 2));
}
