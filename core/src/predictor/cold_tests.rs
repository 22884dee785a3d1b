//! What an alert says of how it was made without a model (`cold_start`):
//! the live page marks cold-start and near-critical rows from it.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::tests::{alerts, at, noisy_model, p_msg, params, run};
use super::*;
use crate::schema::ColdBasis;

#[test]
fn alerts_before_the_first_model_say_how_they_were_made_and_alerts_after_say_nothing() {
    let mut pr = Predictor::new(PredictorConfig::default());
    let a = alerts(&run(&mut pr, p_msg(params("1")), at(0.0, 1)))[0].clone();
    assert_eq!(a.cold_start, Some(ColdBasis::Hawkes), "{a:?}");
    let mut p = params("2");
    p.n_star = 0.999;
    let a = alerts(&run(&mut pr, p_msg(p), at(0.0, 2)))[0].clone();
    assert_eq!(a.cold_start, Some(ColdBasis::NearCritical), "{a:?}");
    run(&mut pr, noisy_model(), at(0.0, 3));
    let a = alerts(&run(&mut pr, p_msg(params("3")), at(0.0, 4)))[0].clone();
    assert_eq!(a.cold_start, None, "{a:?}");
    let json = serde_json::to_string(&a).unwrap();
    assert!(!json.contains("cold_start"), "{json}");
}

#[test]
fn the_first_generation_cold_start_tells_its_near_critical_fits_apart() {
    let mut pr = Predictor::new(PredictorConfig {
        cold_start: ColdStart::FirstGeneration,
        ..PredictorConfig::default()
    });
    let a = alerts(&run(&mut pr, p_msg(params("1")), at(0.0, 1)))[0].clone();
    assert_eq!(a.cold_start, Some(ColdBasis::FirstGeneration), "{a:?}");
    let mut p = params("2");
    p.n_star = 0.999;
    let a = alerts(&run(&mut pr, p_msg(p), at(0.0, 2)))[0].clone();
    assert_eq!(a.cold_start, Some(ColdBasis::NearCritical), "{a:?}");
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains(r#""cold_start":"near_critical""#), "{json}");
}
