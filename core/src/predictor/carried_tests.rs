//! The cold start from a carried-over model: it predicts, labelled, until
//! the window's first model of this run; a file of models is read whole or
//! refused with the line at fault.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::tests::{alerts, at, model, p_msg, params, run};
use super::*;
use crate::schema::{ColdBasis, Message, ModelMsg};

fn model_msg(version: u64, growth: f64) -> ModelMsg {
    match model(version, growth) {
        Message::Model(m) => m,
        other => panic!("not a model: {other:?}"),
    }
}

#[test]
fn a_carried_over_model_predicts_labelled_until_the_window_s_first_model() {
    let mut pr = Predictor::new(PredictorConfig {
        carried: vec![model_msg(7, 3.0)],
        ..PredictorConfig::default()
    });
    // Growth 3 on 20 observed tweets, as the carried model says.
    let a = alerts(&run(&mut pr, p_msg(params("1")), at(0.0, 1)))[0].clone();
    assert!((a.n_tot - 60.0).abs() < 1e-9, "{a:?}");
    assert_eq!(a.cold_start, Some(ColdBasis::CarriedOver), "{a:?}");
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains(r#""cold_start":"carried_over""#), "{json}");
    // This run's first model replaces it, whatever the versions.
    run(&mut pr, model(1, 4.0), at(0.0, 2));
    assert_eq!(pr.model_version(600), Some(1));
    let a = alerts(&run(&mut pr, p_msg(params("2")), at(0.0, 3)))[0].clone();
    assert!((a.n_tot - 80.0).abs() < 1e-9, "{a:?}");
    assert_eq!(a.cold_start, None, "{a:?}");
}

#[test]
fn a_window_without_a_carried_over_model_starts_cold_as_before() {
    let mut m = model_msg(7, 3.0);
    m.t_obs = 1200;
    let mut pr = Predictor::new(PredictorConfig {
        carried: vec![m],
        ..PredictorConfig::default()
    });
    let a = alerts(&run(&mut pr, p_msg(params("1")), at(0.0, 1)))[0].clone();
    assert_eq!(a.cold_start, Some(ColdBasis::Hawkes), "{a:?}");
}

fn file(name: &str, lines: &[String]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tweetoscope-carried-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

#[test]
fn reading_models_keeps_the_newest_of_each_window() {
    let line = |version, growth, window| {
        let mut m = model_msg(version, growth);
        m.t_obs = window;
        serde_json::to_string(&m).unwrap()
    };
    let path = file(
        "good.jsonl",
        &[
            line(3, 2.0, 600),
            String::new(),
            line(5, 3.0, 600),
            line(4, 9.0, 600),
            line(1, 2.0, 1200),
        ],
    );
    let got = read_models(&path).unwrap();
    let got: Vec<(Window, u64)> = got.iter().map(|m| (m.t_obs, m.version)).collect();
    assert_eq!(got, [(600, 5), (1200, 1)]);
}

#[test]
fn a_file_of_models_the_predictor_cannot_use_is_refused_with_the_line_at_fault() {
    let good = serde_json::to_string(&model_msg(1, 2.0)).unwrap();
    let mut unknown = model_msg(1, 2.0);
    unknown.features[0] = "moon_phase".into();
    let unknown = serde_json::to_string(&unknown).unwrap();
    for (name, lines, says) in [
        ("garbage", vec![good.clone(), "{not json".into()], "line 2"),
        ("unknown", vec![unknown], "moon_phase"),
        ("empty", vec![String::new()], "holds no model"),
    ] {
        let e = read_models(&file(name, &lines)).unwrap_err();
        assert!(e.contains(says), "{name}: {e}");
    }
    let e = read_models(std::path::Path::new("/nonexistent/models.jsonl")).unwrap_err();
    assert!(e.contains("cannot open"), "{e}");
}
