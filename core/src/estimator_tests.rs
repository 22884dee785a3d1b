//! Tests of the estimator stage.

use super::*;
use rand::SeedableRng;

fn series(tweets: Vec<(f64, f64)>) -> SeriesMsg {
    SeriesMsg::new("7".into(), "hello".into(), 600, tweets)
}

#[test]
fn a_series_becomes_parameters_with_the_w1_prediction_and_features() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let tweets = hawkes::simulate::simulate_cascade(
        &mut rng,
        0.02,
        0.005,
        hawkes::MarkLaw::COURSE,
        Some(2000.0),
        600.0,
        500,
    );
    let n = tweets.len() as u64;
    let mut est = Estimator::new(FitConfig::default());
    let mut out = Vec::new();
    est.handle(Message::Series(series(tweets)), Ctx::default(), &mut out)
        .unwrap();
    let [Message::Properties(PropertiesMsg::Parameters(p))] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!((p.cid.as_str(), p.n_obs, p.t_obs), ("7", n, Some(600)));
    assert!((p.n_supp - p.g1 / (1.0 - p.n_star)).abs() <= 1e-9 * p.n_supp.max(1.0));
    assert!(p.n_star < 1.0 && p.params.iter().all(|v| v.is_finite() && *v > 0.0));
    assert!(features::vector(p, features::DEFAULT).is_some());
    assert_eq!(est.stats().fitted, 1);
}

#[test]
fn the_power_law_kernel_carries_its_prediction_and_the_exponential_one() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let tweets = hawkes::simulate::simulate_with_delays(
        &mut rng,
        0.02,
        |r: &mut rand_chacha::ChaCha8Rng| hawkes::simulate::power_law_delay(r, 30.0, 0.7),
        hawkes::MarkLaw::COURSE,
        Some(3000.0),
        600.0,
        500,
    );
    let cfg = FitConfig {
        kernel: Kernel::PowerLaw,
        ..FitConfig::default()
    };
    let exp = Estimator::new(FitConfig::default())
        .estimate(&series(tweets.clone()))
        .unwrap();
    let p = Estimator::new(cfg).estimate(&series(tweets)).unwrap();
    let pl = p.power_law.unwrap();
    assert!(pl.c > 0.0 && pl.theta > 0.0 && pl.p > 0.0, "{pl:?}");
    assert_eq!(p.params, exp.params, "params stay the exponential fit's");
    assert_ne!(p.n_star, exp.n_star);
    assert!((p.n_supp - p.g1 / (1.0 - p.n_star)).abs() <= 1e-9 * p.n_supp.max(1.0));
    assert_eq!(p.features["exp_n_star"], exp.n_star);
    let mut names: Vec<&str> = features::DEFAULT.to_vec();
    names.extend(["pl_beta", "pl_log_c", "pl_theta", "exp_log_supp_ratio"]);
    assert!(features::vector(&p, &names).is_some());
    assert!(features::value(&exp, "pl_theta").is_none());
}

#[test]
fn course_series_with_absolute_times_are_shifted_and_cut_at_the_window() {
    let shifted: Vec<(f64, f64)> = vec![(0.0, 500.0), (30.0, 80.0), (200.0, 40.0), (590.0, 12.0)];
    let absolute: Vec<(f64, f64)> = shifted
        .iter()
        .map(|&(t, m)| (t + 1_600_000_000.0, m))
        .chain([(1_600_000_600.0, 9.0), (1_600_000_900.0, 7.0)])
        .collect();
    let mut ours = Estimator::new(FitConfig::default());
    let mut course = Estimator::new(FitConfig::default());
    let expected = ours.estimate(&series(shifted)).unwrap();
    let got = course.estimate(&series(absolute)).unwrap();
    assert_eq!(got, expected);
    assert_eq!(got.n_obs, 4);
    assert_eq!((course.stats().shifted, course.stats().past_window), (1, 2));
    assert_eq!((ours.stats().shifted, ours.stats().past_window), (0, 0));
}

#[test]
fn a_repeated_series_is_fitted_once_per_window() {
    let tweets = vec![(0.0, 500.0), (30.0, 80.0), (200.0, 40.0), (590.0, 12.0)];
    let mut est = Estimator::new(FitConfig::default());
    let mut out = Vec::new();
    for _ in 0..3 {
        est.handle(
            Message::Series(series(tweets.clone())),
            Ctx::default(),
            &mut out,
        )
        .unwrap();
    }
    let other = SeriesMsg::new("7".into(), String::new(), 1200, tweets);
    est.handle(Message::Series(other), Ctx::default(), &mut out)
        .unwrap();
    assert_eq!(out.len(), 2, "one fit for (7, 600), one for (7, 1200)");
    assert_eq!((est.stats().repeated, est.stats().fitted), (2, 2));
}

#[test]
fn parameters_and_failed_fits_carry_their_series_lineage_and_a_new_run_is_fitted_again() {
    let mut est = Estimator::new(FitConfig::default());
    let lineage = |first| {
        Some(crate::schema::Lineage {
            partition: 2,
            first,
            decided: first + 40,
        })
    };
    let mut out = Vec::new();
    for first in [5, 5, 905] {
        // One tweet: the fit fails.
        let mut s = SeriesMsg::new("7".into(), String::new(), 600, vec![(0.0, 1.0)]);
        s.lineage = lineage(first);
        est.handle(Message::Series(s), Ctx::default(), &mut out)
            .unwrap();
    }
    let got: Vec<_> = out
        .iter()
        .map(|m| match m {
            Message::Properties(p) => p.lineage(),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![lineage(5), lineage(905)], "the replay is skipped");
}

#[test]
fn the_memory_of_fitted_series_is_bounded() {
    let mut est = Estimator::new(FitConfig::default());
    for i in 0..SEEN_CAPACITY + 10 {
        let s = SeriesMsg::new(i.to_string(), String::new(), 600, vec![(0.0, 1.0)]);
        assert!(est.first_time(&s));
    }
    assert_eq!(est.seen.len(), SEEN_CAPACITY);
    let oldest = SeriesMsg::new("0".into(), String::new(), 600, vec![(0.0, 1.0)]);
    assert!(est.first_time(&oldest), "the oldest key was forgotten");
}

#[test]
fn other_topics_are_refused() {
    let mut est = Estimator::new(FitConfig::default());
    let msg = Message::Stat(crate::schema::StatMsg {
        kind: "stat".into(),
        cid: "1".into(),
        t_obs: 600,
        are: 0.1,
        are_hawkes: None,
    });
    assert!(est.handle(msg, Ctx::default(), &mut Vec::new()).is_err());
}

#[test]
fn a_failed_fit_is_reported_under_its_reason() {
    use crate::schema::{Message, SeriesMsg};
    let mut e = Estimator::new(crate::hawkes::FitConfig::default());
    let series = SeriesMsg::new("1".into(), "m".into(), 600, vec![]);
    let _ = crate::stage::Stage::handle(
        &mut e,
        Message::Series(series),
        Default::default(),
        &mut Vec::new(),
    );
    let mut r = crate::stage::Recorder::default();
    crate::stage::Stage::observe(&e, &mut r);
    assert_eq!(
        r.0["fit_failures[(\"reason\", \"empty\")]"], 1.0,
        "{:?}",
        r.0
    );
    assert_eq!(r.0["power_law_fallbacks[]"], 0.0, "{:?}", r.0);
}
