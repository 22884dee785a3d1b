// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::model::{ForestConfig, Target};
use crate::schema::{
    AlertMsg, FailedMsg, Message, ParametersMsg, PropertiesMsg, SampleMsg, SizeMsg, StatMsg, Topic,
};
use crate::stage::{Ctx, Origin, Stage, StageError};

pub(super) fn params(cid: &str) -> ParametersMsg {
    ParametersMsg {
        cid: cid.into(),
        msg: "m".into(),
        n_obs: 20,
        n_supp: 20.0,
        params: [0.01, 0.002],
        n_star: 0.5,
        g1: 10.0,
        t_obs: Some(600),
        features: features::series_features(&[0.0, 100.0, 500.0], &[10.0, 20.0, 30.0], 600.0),
        power_law: None,
        lineage: None,
    }
}

pub(super) fn p_msg(p: ParametersMsg) -> Message {
    Message::Properties(PropertiesMsg::Parameters(p))
}

pub(super) fn size(cid: &str, n_tot: u64) -> Message {
    Message::Properties(PropertiesMsg::Size(SizeMsg {
        cid: cid.into(),
        n_tot,
        t_end: 4000.0,
        t_obs: Some(600),
        lineage: None,
    }))
}

pub(super) fn at(now: f64, offset: i64) -> Ctx {
    Ctx {
        now,
        origin: Origin {
            partition: 0,
            offset,
        },
    }
}

pub(super) fn run(pr: &mut Predictor, msg: Message, ctx: Ctx) -> Vec<Message> {
    let mut out = Vec::new();
    pr.handle(msg, ctx, &mut out).unwrap();
    out
}

pub(super) fn alerts(out: &[Message]) -> Vec<&AlertMsg> {
    out.iter()
        .filter_map(|m| {
            if let Message::Alert(a) = m {
                Some(a)
            } else {
                None
            }
        })
        .collect()
}

pub(super) fn stat(out: &[Message]) -> Option<&StatMsg> {
    out.iter().find_map(|m| {
        if let Message::Stat(s) = m {
            Some(s)
        } else {
            None
        }
    })
}

fn sample(out: &[Message]) -> Option<&SampleMsg> {
    out.iter().find_map(|m| {
        if let Message::Sample(s) = m {
            Some(s)
        } else {
            None
        }
    })
}

/// A model for window 600 whose forest always predicts growth `growth`.
pub(super) fn model(version: u64, growth: f64) -> Message {
    let names: Vec<String> = features::DEFAULT.iter().map(|s| s.to_string()).collect();
    let xs = vec![vec![0.0; names.len()]; 20];
    let ys = vec![growth.ln(); 20];
    let cfg = ForestConfig {
        n_trees: 2,
        ..ForestConfig::default()
    };
    let c = Correction::train(600, version, names, Target::LogGrowth, &xs, &ys, &cfg).unwrap();
    Message::Model(c.to_msg())
}

#[test]
fn parameters_before_size_alert_then_score_and_sample() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let out = run(&mut pr, p_msg(params("1")), at(0.0, 1));
    let a = alerts(&out);
    // n_obs + G1 / (1 - n*) = 20 + 10 / 0.5.
    assert_eq!(
        (a.len(), a[0].n_tot, a[0].w, a[0].n_obs),
        (1, 40.0, Some(1.0), Some(20))
    );
    assert_eq!(pr.pending(), 1);
    let out = run(&mut pr, size("1", 50), at(1.0, 2));
    assert_eq!(stat(&out).unwrap().are, 10.0 / 50.0);
    assert_eq!(stat(&out).unwrap().are_hawkes, Some(10.0 / 50.0));
    assert!(sample(&out).is_some() && alerts(&out).is_empty());
    assert_eq!(pr.pending(), 0);
}

#[test]
fn size_before_parameters_completes_on_the_parameters() {
    let mut pr = Predictor::new(PredictorConfig::default());
    assert!(run(&mut pr, size("1", 50), at(0.0, 1)).is_empty());
    let out = run(&mut pr, p_msg(params("1")), at(1.0, 2));
    assert_eq!(alerts(&out).len(), 1);
    assert!(stat(&out).is_some() && sample(&out).is_some());
    assert_eq!(pr.pending(), 0);
}

#[test]
fn duplicates_of_either_half_produce_nothing_more() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, p_msg(params("1")), at(0.0, 1));
    assert!(run(&mut pr, p_msg(params("1")), at(0.0, 2)).is_empty());
    run(&mut pr, size("2", 30), at(0.0, 3));
    assert!(run(&mut pr, size("2", 30), at(0.0, 4)).is_empty());
    assert_eq!(run(&mut pr, size("1", 50), at(0.0, 5)).len(), 2);
    // After completion, both halves are duplicates.
    assert!(run(&mut pr, size("1", 50), at(0.0, 6)).is_empty());
    assert!(run(&mut pr, p_msg(params("1")), at(0.0, 7)).is_empty());
    let s = pr.stats();
    assert_eq!((s.duplicates, s.alerts, s.stats, s.samples), (4, 1, 1, 1));
}

#[test]
fn the_sample_carries_w_as_computed_by_hand() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, p_msg(params("1")), at(0.0, 1));
    let out = run(&mut pr, size("1", 50), at(0.0, 2));
    let s = sample(&out).unwrap();
    // (n_tot - n_obs)(1 - n*)/G1 = (50 - 20) * 0.5 / 10.
    assert_eq!(s.w, 1.5);
    assert_eq!(
        (s.n_obs, s.n_tot, s.n_hawkes),
        (Some(20), Some(50), Some(40.0))
    );
    assert_eq!(s.features, pr.cfg.features);
    assert_eq!(
        Some(s.x.clone()),
        features::vector(&params("1"), &pr.cfg.features)
    );
}

#[test]
fn a_cascade_with_g1_zero_gets_a_stat_but_no_sample() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(
        &mut pr,
        p_msg(ParametersMsg {
            g1: 0.0,
            ..params("1")
        }),
        at(0.0, 1),
    );
    let out = run(&mut pr, size("1", 25), at(0.0, 2));
    assert_eq!(stat(&out).unwrap().are, 5.0 / 25.0);
    assert!(sample(&out).is_none());
    assert_eq!(pr.stats().samples_skipped_g1_zero, 1);
}

#[test]
fn unmatched_halves_expire_after_the_ttl_and_are_counted() {
    let cfg = PredictorConfig {
        state_ttl: 100.0,
        ..PredictorConfig::default()
    };
    let mut pr = Predictor::new(cfg);
    run(&mut pr, p_msg(params("1")), at(0.0, 1));
    run(&mut pr, size("2", 9), at(50.0, 2));
    pr.tick(100.0, &mut Vec::new());
    assert_eq!(pr.pending(), 2);
    pr.tick(120.0, &mut Vec::new());
    assert_eq!((pr.pending(), pr.stats().expired_parameters), (1, 1));
    pr.tick(151.0, &mut Vec::new());
    assert_eq!((pr.pending(), pr.stats().expired_sizes), (0, 1));
    // The expired size's parameters start over: no stat without a size.
    let out = run(&mut pr, p_msg(params("2")), at(160.0, 3));
    assert!(stat(&out).is_none() && pr.pending() == 1);
}

#[test]
fn completed_keys_are_forgotten_after_done_ttl() {
    let cfg = PredictorConfig {
        done_ttl: 10.0,
        ..PredictorConfig::default()
    };
    let mut pr = Predictor::new(cfg);
    run(&mut pr, p_msg(params("1")), at(0.0, 1));
    run(&mut pr, size("1", 50), at(0.0, 2));
    pr.tick(5.0, &mut Vec::new());
    assert!(run(&mut pr, size("1", 50), at(5.0, 3)).is_empty());
    assert_eq!(pr.pending(), 0);
    pr.tick(11.0, &mut Vec::new());
    run(&mut pr, size("1", 50), at(11.0, 4));
    assert_eq!(pr.pending(), 1);
}

#[test]
fn completed_keys_leave_no_state_beyond_the_bounds() {
    let cfg = PredictorConfig {
        state_ttl: 100.0,
        done_capacity: 500,
        ..PredictorConfig::default()
    };
    let mut pr = Predictor::new(cfg);
    // One key left waiting, then 20,000 completed around it.
    run(&mut pr, p_msg(params("waiting")), at(0.0, 0));
    let mut offset = 1;
    for i in 0..20_000 {
        let cid = i.to_string();
        run(&mut pr, p_msg(params(&cid)), at(1.0, offset));
        run(&mut pr, size(&cid, 50), at(1.0, offset + 1));
        offset += 2;
        assert!(pr.pending_queue.len() <= 2 * pr.pending() + 1025);
        assert!(pr.done.len() <= 500);
    }
    assert_eq!(pr.pending(), 1);
    // The compacted queue still expires the waiting key on time.
    pr.tick(100.0, &mut Vec::new());
    assert_eq!(pr.pending(), 1);
    pr.tick(101.0, &mut Vec::new());
    assert_eq!((pr.pending(), pr.stats().expired_parameters), (0, 1));
    // The newest completed keys are still refused as duplicates.
    assert!(run(&mut pr, size("19999", 50), at(101.0, offset)).is_empty());
    assert_eq!(pr.pending(), 0);
}

#[test]
fn a_newer_model_is_used_and_an_older_one_rejected() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, model(2, 3.0), at(0.0, 0));
    assert_eq!(pr.model_version(600), Some(2));
    let out = run(&mut pr, p_msg(params("1")), at(0.0, 1));
    // Growth 3 on 20 observed; w = (60 - 20) / (10 / 0.5).
    let a = alerts(&out)[0];
    assert!(
        (a.n_tot - 60.0).abs() < 1e-9 && (a.w.unwrap() - 2.0).abs() < 1e-9,
        "{a:?}"
    );
    run(&mut pr, model(1, 5.0), at(0.0, 2));
    assert_eq!(pr.model_version(600), Some(2));
    run(&mut pr, model(3, 4.0), at(0.0, 3));
    let out = run(&mut pr, p_msg(params("2")), at(0.0, 4));
    assert!((alerts(&out)[0].n_tot - 80.0).abs() < 1e-9);
    let s = pr.stats();
    assert_eq!((s.models_loaded, s.models_rejected), (2, 1));
    // Scored against the model's prediction, and against w = 1.
    let out = run(&mut pr, size("2", 80), at(0.0, 5));
    let st = stat(&out).unwrap();
    assert!(st.are < 1e-9 && st.are_hawkes == Some(0.5));
}

#[test]
fn a_model_without_the_parameters_features_falls_back_to_w_one() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, model(1, 3.0), at(0.0, 0));
    let mut p = params("1");
    p.features.clear();
    let out = run(&mut pr, p_msg(p), at(0.0, 1));
    assert_eq!(alerts(&out)[0].n_tot, 40.0);
    assert_eq!(pr.stats().features_missing, 1);
}

#[test]
fn undecodable_models_and_windowless_properties_are_invalid() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let Message::Model(mut m) = model(1, 3.0) else {
        panic!("not a model")
    };
    m.regressor = "###".into();
    let err = pr
        .handle(Message::Model(m), at(0.0, 0), &mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
    let p = ParametersMsg {
        t_obs: None,
        ..params("1")
    };
    assert!(pr.handle(p_msg(p), at(0.0, 1), &mut Vec::new()).is_err());
    let tweet = Message::Tweet(crate::schema::TweetMsg::End { source: 1 });
    assert!(matches!(
        pr.handle(tweet, at(0.0, 2), &mut Vec::new()),
        Err(StageError::UnexpectedTopic { .. })
    ));
    assert_eq!(pr.stats().models_rejected, 1);
}

#[test]
fn retained_offset_follows_the_oldest_pending_half() {
    let mut pr = Predictor::new(PredictorConfig::default());
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), None);
    run(&mut pr, p_msg(params("1")), at(0.0, 10));
    run(&mut pr, size("2", 5), at(0.0, 11));
    let other = Ctx {
        now: 0.0,
        origin: Origin {
            partition: 1,
            offset: 3,
        },
    };
    run(&mut pr, size("3", 5), other);
    assert_eq!(
        (
            pr.retained_offset(Topic::CascadeProperties, 0),
            pr.retained_offset(Topic::CascadeProperties, 1)
        ),
        (Some(10), Some(3))
    );
    run(&mut pr, size("1", 50), at(0.0, 12));
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(11));
    pr.revoke(Topic::CascadeProperties, &[0]);
    assert_eq!(
        (
            pr.retained_offset(Topic::CascadeProperties, 0),
            pr.pending()
        ),
        (None, 1)
    );
}

#[test]
fn a_near_critical_fit_without_a_model_is_predicted_by_its_first_generation_and_still_trains() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let mut p = params("9");
    p.n_star = 0.999;
    let out = run(&mut pr, p_msg(p), at(0.0, 1));
    // w = 1 would say 20 + 10 / 0.001 = 10,020; the first generation 20 + 10.
    let a = alerts(&out);
    assert_eq!(a.len(), 1, "{out:?}");
    assert_eq!(a[0].n_tot, 30.0);
    assert!((a[0].w.unwrap() - 0.001).abs() < 1e-12, "{:?}", a[0]);
    assert_eq!(pr.stats().near_critical, 1);
    let out = run(&mut pr, size("9", 80), at(1.0, 2));
    let n_stats = out.iter().filter(|m| matches!(m, Message::Stat(_))).count();
    assert_eq!(n_stats, 1, "{out:?}");
    let s = stat(&out).unwrap();
    assert!((s.are - 50.0 / 80.0).abs() < 1e-12, "{s:?}");
    assert!(s.are_hawkes.unwrap() > 100.0, "{s:?}");
    let samples: Vec<_> = out
        .iter()
        .filter(|m| matches!(m, Message::Sample(_)))
        .collect();
    assert_eq!(samples.len(), 1, "{out:?}");
    // Below the threshold the w = 1 prediction is sent as usual.
    let mut p = params("10");
    p.n_star = 0.9;
    let out = run(&mut pr, p_msg(p), at(2.0, 3));
    assert!((alerts(&out)[0].n_tot - 120.0).abs() < 1e-9, "{out:?}");
    assert_eq!(pr.stats().near_critical, 1);
}

#[test]
fn the_first_generation_cold_start_predicts_every_fit_by_it_until_a_model_comes() {
    let mut pr = Predictor::new(PredictorConfig {
        cold_start: ColdStart::FirstGeneration,
        ..PredictorConfig::default()
    });
    // n* 0.5: w = 1 says 20 + 10 / 0.5 = 40, the first generation 30.
    let a = alerts(&run(&mut pr, p_msg(params("1")), at(0.0, 1)))[0].clone();
    assert_eq!((a.n_tot, a.w), (30.0, Some(0.5)));
    assert_eq!(pr.stats().near_critical, 0);
    run(&mut pr, noisy_model(), at(0.0, 2));
    let a = alerts(&run(&mut pr, p_msg(params("2")), at(0.0, 3)))[0].clone();
    assert!(a.n_tot > 40.0 && a.n_tot_median.is_some(), "{a:?}");
}

#[test]
fn a_near_critical_fit_with_a_model_is_predicted_by_the_model() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, noisy_model(), at(0.0, 0));
    let mut p = params("9");
    p.n_star = 0.999;
    let a = alerts(&run(&mut pr, p_msg(p), at(0.0, 1)))[0].clone();
    // The model's growth (about 3 times n_obs), not the first generation.
    assert!(a.n_tot > 40.0 && a.n_tot_median.is_some(), "{a:?}");
    assert_eq!(pr.stats().near_critical, 0);
}

/// A model for window 600 whose labels are growth 3 times a log-normal
/// noise of log-sd 0.5, whatever the features.
pub(super) fn noisy_model() -> Message {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let names: Vec<String> = features::DEFAULT.iter().map(|s| s.to_string()).collect();
    let xs = vec![vec![0.0; names.len()]; 400];
    let ys: Vec<f64> = (0..400)
        .map(|_| 3f64.ln() + 0.5 * rng.sample::<f64, _>(rand_distr::StandardNormal))
        .collect();
    let cfg = ForestConfig {
        n_trees: 10,
        ..ForestConfig::default()
    };
    let c = Correction::train(600, 1, names, Target::LogGrowth, &xs, &ys, &cfg).unwrap();
    Message::Model(c.to_msg())
}

#[test]
fn a_calibrated_model_reports_the_are_optimal_size_with_its_median_and_interval() {
    let mut pr = Predictor::new(PredictorConfig::default());
    run(&mut pr, noisy_model(), at(0.0, 0));
    let out = run(&mut pr, p_msg(params("1")), at(0.0, 1));
    let a = alerts(&out)[0].clone();
    let (median, low, high) = (
        a.n_tot_median.unwrap(),
        a.n_tot_low.unwrap(),
        a.n_tot_high.unwrap(),
    );
    // Median near 20 * 3; the ARE-optimal point near exp(-0.5^2) of it.
    assert!((median / 60.0 - 1.0).abs() < 0.1, "{a:?}");
    assert!((a.n_tot / median - (-0.25f64).exp()).abs() < 0.08, "{a:?}");
    assert!(low < a.n_tot && median < high, "{a:?}");
    // w is the one that gives the reported size.
    assert!((20.0 + a.w.unwrap() * 10.0 / 0.5 - a.n_tot).abs() < 1e-9);

    let mut pr = Predictor::new(PredictorConfig {
        point: Point::Median,
        ..PredictorConfig::default()
    });
    run(&mut pr, noisy_model(), at(0.0, 0));
    let out = run(&mut pr, p_msg(params("1")), at(0.0, 1));
    let m = alerts(&out)[0];
    assert_eq!(m.n_tot, median);
    assert_eq!(m.n_tot_median, Some(median));
}

#[test]
fn an_alert_without_a_model_has_no_interval() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let out = run(&mut pr, p_msg(params("1")), at(0.0, 1));
    let a = alerts(&out)[0];
    assert_eq!(
        (a.n_tot_median, a.n_tot_low, a.n_tot_high),
        (None, None, None)
    );
}

pub(super) fn failed(cid: &str) -> Message {
    Message::Properties(PropertiesMsg::Failed(FailedMsg {
        cid: cid.into(),
        t_obs: Some(600),
        reason: "no fit".into(),
        lineage: None,
    }))
}

#[test]
fn a_failed_fit_frees_its_size_in_either_order_and_releases_the_commit() {
    let mut pr = Predictor::new(PredictorConfig::default());
    assert!(run(&mut pr, size("1", 30), at(0.0, 0)).is_empty());
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(0));
    assert!(run(&mut pr, failed("1"), at(1.0, 1)).is_empty());
    run(&mut pr, failed("2"), at(2.0, 2));
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), Some(2));
    assert!(run(&mut pr, size("2", 30), at(3.0, 3)).is_empty());
    assert_eq!(pr.pending(), 0);
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), None);
    assert_eq!(pr.stats().failed_fits, 2);
    // Replayed halves of a closed key are duplicates.
    assert!(run(&mut pr, size("1", 30), at(4.0, 4)).is_empty());
    assert_eq!(pr.pending(), 0);
}

#[test]
fn a_half_for_a_window_that_is_not_configured_is_refused() {
    let mut pr = Predictor::new(PredictorConfig {
        windows: vec![600, 1200],
        ..PredictorConfig::default()
    });
    let mut p = params("1");
    p.t_obs = Some(777);
    let err = pr
        .handle(p_msg(p), at(0.0, 0), &mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("window 777"), "{err}");
    assert_eq!(pr.pending(), 0);
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), None);
    assert!(!run(&mut pr, p_msg(params("2")), at(0.0, 1)).is_empty());
}

#[test]
fn parameters_that_overflow_are_refused_and_free_their_size() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let mut p = params("1");
    p.g1 = 1e308;
    p.n_star = 0.9;
    let err = pr
        .handle(p_msg(p), at(0.0, 0), &mut Vec::new())
        .unwrap_err();
    assert!(err.to_string().contains("no finite prediction"), "{err}");
    assert!(run(&mut pr, size("1", 30), at(1.0, 1)).is_empty());
    assert_eq!(pr.pending(), 0);
    assert_eq!(pr.retained_offset(Topic::CascadeProperties, 0), None);
}

#[test]
fn a_fresh_predictor_reports_zero_counters_and_no_model_version() {
    let p = Predictor::new(crate::predictor::PredictorConfig::default());
    let mut r = crate::stage::Recorder::default();
    crate::stage::Stage::observe(&p, &mut r);
    assert_eq!(r.0["unmatched_halves[]"], 0.0);
    assert_eq!(r.0["expired_halves[(\"outcome\", \"size\")]"], 0.0);
    assert!(
        !r.0.keys().any(|k| k.starts_with("model_version_in_use")),
        "{:?}",
        r.0
    );
}
