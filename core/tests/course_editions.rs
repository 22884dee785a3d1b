//! Golden messages of both course editions (2020, 2021), as real course
//! stages sent them, fed through each Rust consumer the way its transport
//! does (the stage's own decoder, then `handle`): each is accepted with the
//! values it implies, or refused with a counted reason. The table of
//! docs/COMPATIBILITY.md lists these shapes.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tweetoscope_core::collector::{Collector, CollectorConfig};
use tweetoscope_core::estimator::Estimator;
use tweetoscope_core::features;
use tweetoscope_core::hawkes::{FitConfig, MarkLaw};
use tweetoscope_core::learner::{Learner, LearnerConfig};
use tweetoscope_core::model::Target;
use tweetoscope_core::predictor::{Predictor, PredictorConfig};
use tweetoscope_core::schema::{Message, ModelMsg, PropertiesMsg, Topic};
use tweetoscope_core::stage::{Ctx, Origin, Stage};

/// Decodes `payload` as `stage`'s transport would and hands it over.
fn feed<S: Stage>(
    stage: &mut S,
    topic: Topic,
    key: Option<&str>,
    payload: &str,
    offset: i64,
) -> Vec<Message> {
    let msg = stage
        .decoder()
        .decode(topic, key.map(str::as_bytes), payload.as_bytes())
        .unwrap_or_else(|e| panic!("{payload}: {e}"));
    let mut out = Vec::new();
    let ctx = Ctx {
        now: 1.0,
        origin: Origin {
            partition: 0,
            offset,
        },
    };
    stage
        .handle(msg, ctx, &mut out)
        .unwrap_or_else(|e| panic!("{payload}: {e}"));
    out
}

fn predictor() -> Predictor {
    Predictor::new(PredictorConfig {
        near_critical: 1.0,
        ..PredictorConfig::default()
    })
}

#[test]
fn the_predictor_pairs_2021_parameters_with_a_null_msg_and_course_sizes() {
    let mut p = predictor();
    let params = r#"{"cid":"196","msg":null,"n_obs":10,"n_supp":87.8,"params":[0.0097,0.00027],"n_star":0.3395,"G1":57.99,"type":"parameters"}"#;
    let out = feed(&mut p, Topic::CascadeProperties, Some("600"), params, 0);
    let [Message::Alert(alert)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(
        (alert.cid.as_str(), alert.t_obs, alert.msg.as_str()),
        ("196", 600, "")
    );
    assert!((alert.n_tot - (10.0 + 57.99 / (1.0 - 0.3395))).abs() < 1e-9);
    let size = r#"{"type":"size","cid":196,"n_tot":120,"t_end":4329}"#;
    let out = feed(&mut p, Topic::CascadeProperties, Some("600"), size, 1);
    let [Message::Stat(stat), Message::Sample(sample)] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert!((stat.are - (alert.n_tot - 120.0).abs() / 120.0).abs() < 1e-12);
    // No `features` map in course parameters: the sample falls back to the
    // course features instead of being lost, and says so.
    assert_eq!(sample.features, features::COURSE);
    assert_eq!(sample.x, [0.00027, 0.3395, 57.99]);
    assert!((sample.w - (120.0 - 10.0) * (1.0 - 0.3395) / 57.99).abs() < 1e-12);
    let s = p.stats();
    assert_eq!(
        (s.samples, s.samples_course_features, s.samples_not_sent),
        (1, 1, 0)
    );
}

#[test]
fn the_predictor_completes_2020_parameters_with_its_mark_law() {
    let raw = r#"{"cid":"59","msg":"","n_obs":11,"n_supp":110.6,"params":[0.0193,0.000202],"type":"parameters"}"#;
    // E[m] = 35 (the course's), then 10 (3 - 1) / (3 - 2) = 20.
    let other = MarkLaw {
        alpha: 3.0,
        mu: 10.0,
    };
    for marks in [MarkLaw::COURSE, other] {
        let mut p = Predictor::new(PredictorConfig {
            near_critical: 1.0,
            marks,
            ..PredictorConfig::default()
        });
        feed(&mut p, Topic::CascadeProperties, Some("1200"), raw, 0);
        let out = feed(
            &mut p,
            Topic::CascadeProperties,
            Some("1200"),
            r#"{"type":"size","cid":"59","n_tot":150,"t_end":9000}"#,
            1,
        );
        let Some(Message::Sample(sample)) = out.last() else {
            panic!("{out:?}")
        };
        let n_star = 0.0193 * marks.mean();
        assert!(
            (sample.x[1] - n_star).abs() < 1e-12,
            "{marks:?}: {:?}",
            sample.x
        );
        assert!((sample.x[2] - 110.6 * (1.0 - n_star)).abs() < 1e-9);
        assert_eq!(sample.t_obs, 1200);
    }
}

#[test]
fn the_predictor_counts_the_samples_it_cannot_send() {
    let mut p = predictor();
    let params = r#"{"cid":"7","msg":"","n_obs":10,"n_supp":0,"params":[0.01,0.001],"n_star":0.35,"G1":0,"type":"parameters"}"#;
    feed(&mut p, Topic::CascadeProperties, Some("600"), params, 0);
    let size = r#"{"type":"size","cid":"7","n_tot":10,"t_end":700}"#;
    let out = feed(&mut p, Topic::CascadeProperties, Some("600"), size, 1);
    assert!(
        out.iter().all(|m| !matches!(m, Message::Sample(_))),
        "{out:?}"
    );
    let s = p.stats();
    assert_eq!(
        (s.samples, s.samples_not_sent, s.samples_skipped_g1_zero),
        (0, 1, 1)
    );
}

#[test]
fn the_predictor_refuses_a_model_naming_a_feature_it_cannot_build() {
    let mut p = predictor();
    let model = ModelMsg {
        kind: "model".into(),
        format: 1,
        t_obs: 600,
        version: 3,
        features: vec!["beta".into(), "retweets_per_hour".into()],
        target: "log_w".into(),
        n_samples: 100,
        regressor: String::new(),
        calibration: None,
    };
    let err = p
        .handle(Message::Model(model), Ctx::default(), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`retweets_per_hour`"), "{err}");
    assert_eq!((p.stats().models_rejected, p.model_version(600)), (1, None));
}

#[test]
fn the_learner_takes_course_samples_keyed_by_window_when_set_for_course_features() {
    let raw = r#"{"W":0.16,"X":[0.00055,0.717,31.8],"cid":"96","type":"sample"}"#;
    let mut course = Learner::new(LearnerConfig {
        features: features::COURSE.iter().map(|s| s.to_string()).collect(),
        target: Target::LogW,
        ..LearnerConfig::default()
    });
    feed(&mut course, Topic::Samples, Some("1200"), raw, 0);
    assert_eq!(course.samples(1200), 1);
    // Our default features cannot be had from a course sample: refused,
    // counted, not fatal.
    let mut ours = Learner::new(LearnerConfig::default());
    feed(&mut ours, Topic::Samples, Some("1200"), raw, 0);
    assert_eq!((ours.samples(1200), ours.stats().samples_rejected), (0, 1));
}

#[test]
fn the_estimator_fits_a_course_series_keyed_none_with_absolute_times() {
    let t0 = 1_600_000_000u64;
    let tweets: Vec<String> = (0..15)
        .map(|k| format!("[{},{}]", t0 + 40 * k, 100 + 7 * k))
        .collect();
    let raw = format!(
        r#"{{"type":"serie","cid":196,"msg":null,"T_obs":600,"tweets":[{}]}}"#,
        tweets.join(",")
    );
    let mut e = Estimator::new(FitConfig::default());
    let out = feed(&mut e, Topic::CascadeSeries, Some("None"), &raw, 0);
    let [Message::Properties(PropertiesMsg::Parameters(p))] = out.as_slice() else {
        panic!("{out:?}")
    };
    // 40 k < 600 for k < 15: all 15 fitted, times from the first.
    assert_eq!((p.cid.as_str(), p.n_obs, p.t_obs), ("196", 15, Some(600)));
    assert_eq!((e.stats().shifted, e.stats().past_window), (1, 0));
    assert!(feed(&mut e, Topic::CascadeSeries, Some("None"), &raw, 1).is_empty());
    assert_eq!(e.stats().repeated, 1);
}

#[test]
fn the_collector_reads_2021_tweets_named_by_tweet_id() {
    let mut c = Collector::new(CollectorConfig::default());
    let mut series = Vec::new();
    for k in 0..12u64 {
        let kind = if k == 0 { "tweet" } else { "retweet" };
        let raw = format!(
            r#"{{"type":"{kind}","msg":null,"t":{},"m":{},"source":0,"info":"","tweet_id":4242}}"#,
            1000 + 30 * k,
            50 + k
        );
        series.extend(feed(&mut c, Topic::Tweets, None, &raw, k as i64));
    }
    let raw = r#"{"type":"tweet","msg":"","t":1700,"m":10,"source":0,"info":"","tweet_id":9}"#;
    series.extend(feed(&mut c, Topic::Tweets, None, raw, 12));
    let [Message::Series(s)] = series.as_slice() else {
        panic!("{series:?}")
    };
    assert_eq!((s.cid.as_str(), s.t_obs, s.tweets.len()), ("4242", 600, 12));
    assert_eq!(s.tweets[0], (0.0, 50.0));
}
