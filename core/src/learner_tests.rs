// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::model::Target;
use crate::schema::SampleMsg;
use crate::stage::Origin;

fn cfg() -> LearnerConfig {
    LearnerConfig {
        min_samples: 10,
        retrain_growth: 0.5,
        min_retrain: 5,
        max_samples: 30,
        forest: ForestConfig {
            n_trees: 3,
            max_depth: 4,
            min_samples_leaf: 2,
            m: None,
            seed: 1,
        },
        ..LearnerConfig::default()
    }
}

fn sample(i: u64, t_obs: Window) -> SampleMsg {
    let features: Vec<String> = features::DEFAULT.iter().map(|s| s.to_string()).collect();
    let x = (0..features.len())
        .map(|k| (i * 7 + k as u64) as f64 % 13.0)
        .collect();
    SampleMsg {
        kind: "sample".into(),
        cid: i.to_string(),
        t_obs,
        x,
        w: 1.0,
        features,
        n_obs: Some(10),
        n_tot: Some(10 + i % 17),
        n_hawkes: Some(20.0),
    }
}

fn feed(l: &mut Learner, s: SampleMsg, offset: i64) -> Vec<Message> {
    let ctx = Ctx {
        now: 0.0,
        origin: Origin {
            partition: 0,
            offset,
        },
    };
    let mut out = Vec::new();
    l.handle(Message::Sample(s), ctx, &mut out).unwrap();
    out
}

/// Versions of the models emitted while feeding samples `range`.
fn versions(l: &mut Learner, range: std::ops::Range<u64>) -> Vec<(u64, u64)> {
    let mut got = Vec::new();
    for i in range {
        for m in feed(l, sample(i, 600), i as i64) {
            let Message::Model(m) = m else {
                panic!("learner sent a {}", m.topic())
            };
            got.push((i, m.version));
        }
    }
    got
}

#[test]
fn no_model_is_sent_before_min_samples() {
    let mut l = Learner::new(cfg());
    assert!(versions(&mut l, 0..9).is_empty());
    assert_eq!(versions(&mut l, 9..10), vec![(9, 1)]);
}

#[test]
fn models_are_retrained_as_the_set_grows_not_on_every_sample() {
    let mut l = Learner::new(cfg());
    // First at 10 samples; then 5 new (>= 0.5 * 10); then 8 new (>= 0.5 *
    // 15); then the set is capped at 30, so every 15 new.
    let got = versions(&mut l, 0..60);
    assert_eq!(got, vec![(9, 1), (14, 2), (22, 3), (34, 4), (49, 5)]);
    assert_eq!(l.stats().models_trained, 5);
}

#[test]
fn duplicate_samples_are_ignored() {
    let mut l = Learner::new(cfg());
    for _ in 0..3 {
        feed(&mut l, sample(1, 600), 0);
    }
    assert_eq!((l.samples(600), l.stats().duplicates), (1, 2));
    // Nine more distinct samples, not eleven, make the first model.
    assert!(versions(&mut l, 2..10).is_empty());
    assert_eq!(versions(&mut l, 10..11), vec![(10, 1)]);
}

#[test]
fn the_training_set_keeps_only_the_most_recent_samples() {
    let mut l = Learner::new(cfg());
    versions(&mut l, 0..100);
    assert_eq!(l.samples(600), 30);
    assert_eq!(l.retained_offset(Topic::Samples, 0), Some(70));
    assert_eq!(l.retained_offset(Topic::Samples, 1), None);
    // An evicted sample is no longer a duplicate.
    feed(&mut l, sample(0, 600), 100);
    assert_eq!(l.stats().duplicates, 0);
}

#[test]
fn samples_with_other_features_or_missing_extras_are_rejected() {
    let mut l = Learner::new(cfg());
    let mut renamed = sample(1, 600);
    renamed.features[0] = "p".into();
    let mut unnamed = sample(2, 600);
    unnamed.features.clear();
    let no_extras = SampleMsg {
        n_tot: None,
        ..sample(3, 600)
    };
    let shrinking = SampleMsg {
        n_tot: Some(5),
        ..sample(4, 600)
    };
    for s in [renamed, unnamed, no_extras, shrinking] {
        let mut out = Vec::new();
        let err = l
            .handle(Message::Sample(s), Ctx::default(), &mut out)
            .unwrap_err();
        // Dead-lettered by the driver, which leaves the log to the learner
        // (once per window).
        assert!(matches!(err, StageError::Unusable(_)), "{err}");
        assert!(out.is_empty());
    }
    assert_eq!((l.samples(600), l.stats().samples_rejected), (0, 4));
    assert_eq!(l.warned.len(), 1, "one window, one log line");
}

/// Window `t_obs`'s sample `i` with the course features, named as our
/// predictor names them when it falls back, or unnamed as a course
/// predictor writes them.
fn course_sample(i: u64, t_obs: Window, named: bool) -> SampleMsg {
    SampleMsg {
        x: vec![0.001, 0.5, i as f64],
        w: 0.5 + i as f64,
        features: if named {
            features::COURSE.iter().map(|s| s.to_string()).collect()
        } else {
            vec![]
        },
        n_obs: None,
        n_tot: None,
        ..sample(i, t_obs)
    }
}

#[test]
fn a_default_learner_falls_back_to_the_course_features_for_course_samples() {
    let mut l = Learner::new(cfg());
    let models: Vec<Message> = (0..10)
        .flat_map(|i| feed(&mut l, course_sample(i, 1200, true), i as i64))
        .collect();
    let [Message::Model(m)] = models.as_slice() else {
        panic!("expected one model, got {models:?}")
    };
    assert_eq!(
        (m.t_obs, m.target.as_str(), m.features.clone()),
        (
            1200,
            "log_w",
            features::COURSE.iter().map(|s| s.to_string()).collect()
        )
    );
    assert_eq!(
        (
            l.samples(1200),
            l.stats().samples_course_features,
            l.stats().samples_rejected
        ),
        (10, 10, 0)
    );
}

#[test]
fn a_window_with_a_configured_model_publishes_no_course_model() {
    let mut l = Learner::new(cfg());
    assert_eq!(versions(&mut l, 0..10), vec![(9, 1)]);
    let course: Vec<Message> = (100..130)
        .flat_map(|i| feed(&mut l, course_sample(i, 600, true), i as i64))
        .collect();
    assert!(course.is_empty(), "{course:?}");
    assert_eq!(l.samples(600), 10 + 30);
    // Another window has no configured model: its course samples train one.
    let other: Vec<Message> = (0..10)
        .flat_map(|i| feed(&mut l, course_sample(i, 1200, true), i as i64))
        .collect();
    assert_eq!(other.len(), 1);
}

#[test]
fn samples_of_a_course_predictor_publish_no_model_unless_told() {
    let mut l = Learner::new(cfg());
    let models: Vec<Message> = (0..40)
        .flat_map(|i| feed(&mut l, course_sample(i, 1200, false), i as i64))
        .collect();
    assert!(
        models.is_empty(),
        "a course predictor would crash on {models:?}"
    );
    assert_eq!(l.samples(1200), 30);
    assert!(l.stats().models_withheld_course_predictor > 0);
    assert_eq!(l.stats().models_trained, 0);
    let mut l = Learner::new(LearnerConfig {
        publish_to_course_predictors: true,
        ..cfg()
    });
    let models: Vec<Message> = (0..10)
        .flat_map(|i| feed(&mut l, course_sample(i, 1200, false), i as i64))
        .collect();
    assert_eq!(models.len(), 1);
}

#[test]
fn course_samples_train_a_log_w_learner_with_course_features() {
    let course: Vec<String> = features::COURSE.iter().map(|s| s.to_string()).collect();
    let mut l = Learner::new(LearnerConfig {
        features: course,
        target: Target::LogW,
        publish_to_course_predictors: true,
        ..cfg()
    });
    let mut models = Vec::new();
    for i in 0..10 {
        models.extend(feed(&mut l, course_sample(i, 1200, false), i as i64));
    }
    let [Message::Model(m)] = models.as_slice() else {
        panic!("expected one model, got {models:?}")
    };
    assert_eq!((m.t_obs, m.target.as_str()), (1200, "log_w"));
    assert_eq!(l.samples(600), 0);
}

#[test]
fn the_same_samples_give_the_same_models() {
    let run = || {
        let mut l = Learner::new(cfg());
        (0..20u64)
            .flat_map(|i| feed(&mut l, sample(i, 600), i as i64))
            .collect::<Vec<_>>()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
}

#[test]
fn revoked_partitions_leave_the_training_set() {
    let mut l = Learner::new(cfg());
    versions(&mut l, 0..5);
    l.revoke(Topic::Samples, &[0]);
    assert_eq!(
        (l.samples(600), l.retained_offset(Topic::Samples, 0)),
        (0, None)
    );
}

/// A model of `samples` samples read on `models`.
fn published(l: &mut Learner, version: u64, samples: u64) {
    let mut out = Vec::new();
    let mut first = Learner::new(cfg());
    let model = (0..u64::MAX)
        .find_map(|i| {
            feed(&mut first, sample(i, 600), i as i64)
                .into_iter()
                .next()
        })
        .unwrap();
    let Message::Model(mut m) = model else {
        panic!("not a model")
    };
    m.version = version;
    m.n_samples = samples;
    l.handle(Message::Model(m), Ctx::default(), &mut out)
        .unwrap();
    assert!(out.is_empty());
}

#[test]
fn a_restarted_learner_does_not_supersede_a_model_of_more_samples() {
    let mut l = Learner::new(cfg());
    // Before the restart it had published version 7, trained on 30.
    published(&mut l, 7, 30);
    // Its replay: 10, 15 and 23 samples are fewer: withheld.
    assert!(versions(&mut l, 0..30).is_empty());
    assert_eq!(l.stats().models_withheld, 3);
    // Once the set holds 30 again, it publishes, above version 7.
    let got = versions(&mut l, 30..40);
    assert_eq!(got, vec![(34, 8)]);
    // Its own model comes back on `models`: the floor follows it.
    published(&mut l, 8, 30);
    assert_eq!(versions(&mut l, 40..50), vec![(49, 9)]);
}

#[test]
fn an_older_model_on_the_topic_does_not_lower_the_floor() {
    let mut l = Learner::new(cfg());
    published(&mut l, 7, 30);
    published(&mut l, 3, 5);
    assert!(versions(&mut l, 0..20).is_empty());
}

#[test]
fn models_are_always_reread_and_do_not_revoke_the_samples() {
    let mut l = Learner::new(cfg());
    versions(&mut l, 0..5);
    l.revoke(Topic::Models, &[0]);
    assert_eq!(l.samples(600), 5);
    assert_eq!(l.retained_offset(Topic::Models, 1), Some(0));
    assert_eq!(l.retained_offset(Topic::Samples, 0), Some(0));
    assert_eq!(l.retained_offset(Topic::Samples, 1), None);
}

#[test]
fn a_model_of_more_samples_than_its_cap_does_not_silence_the_learner() {
    let mut l = Learner::new(cfg()); // at most 30 samples
    published(&mut l, 7, 1000);
    let got = versions(&mut l, 0..40);
    assert_eq!(got, vec![(34, 8)]);
}
