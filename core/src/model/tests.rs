// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::schema::{Message, Topic};

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("f{i}")).collect()
}

/// Rows of `d` uniform features; the label is `label(row)`.
fn data(n: usize, d: usize, seed: u64, label: impl Fn(&[f64]) -> f64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xs: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..d).map(|_| rng.random::<f64>()).collect())
        .collect();
    let ys = xs.iter().map(|x| label(x)).collect();
    (xs, ys)
}

fn small() -> ForestConfig {
    ForestConfig {
        n_trees: 10,
        max_depth: 6,
        min_samples_leaf: 3,
        m: None,
        seed: 7,
    }
}

fn trained(seed: u64) -> Correction {
    let (xs, ys) = data(300, 3, 1, |x| 2.0 * x[0]);
    let cfg = ForestConfig { seed, ..small() };
    Correction::train(600, 1, names(3), Target::LogGrowth, &xs, &ys, &cfg).unwrap()
}

/// The forest's label estimate, read back from N = n_obs * exp(y).
fn y_hat(model: &Correction, x: &[f64]) -> f64 {
    model.predict(x, 1.0, 1.0, 0.5).1.ln()
}

#[test]
fn a_forest_learns_a_relation_on_one_feature_better_than_the_mean() {
    let model = trained(7);
    let (xs, ys) = data(200, 3, 99, |x| 2.0 * x[0]);
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let mse_mean = ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>();
    let mse_model = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (y_hat(&model, x) - y).powi(2))
        .sum::<f64>();
    // m = floor(sqrt(3)) = 1: a node tries one feature, so two splits in
    // three are on the irrelevant ones; the forest still explains most.
    assert!(
        mse_model < 0.25 * mse_mean,
        "model {mse_model} vs mean {mse_mean}"
    );
}

#[test]
fn log_growth_gives_a_bounded_size_and_its_correction() {
    let model = trained(7);
    for x in [[-1e9, 0.0, 0.0], [1e9, 1e9, 1e9], [0.5, 0.5, 0.5]] {
        let (w, n) = model.predict(&x, 10.0, 4.0, 0.5);
        // Labels were in [0, 2]: growth at most e^2.
        assert!((10.0..=10.0 * 2f64.exp() + 1e-9).contains(&n), "{n}");
        let expected = ((n - 10.0) / (4.0 / 0.5)).clamp(0.0, DEFAULT_W_MAX);
        assert!((w - expected).abs() < 1e-12);
    }
    // G1 = 0: nothing to correct.
    assert_eq!(model.predict(&[0.5, 0.5, 0.5], 10.0, 0.0, 0.5).0, 1.0);
}

#[test]
fn a_row_of_the_wrong_length_falls_back_to_no_correction() {
    let model = trained(7);
    let (w, n) = model.predict(&[0.5], 10.0, 4.0, 0.5);
    assert_eq!((w, n), (1.0, 18.0));
}

#[test]
fn log_w_predicts_the_correction_directly() {
    let (xs, ys) = data(300, 2, 3, |x| if x[0] < 0.5 { 0.0 } else { 2f64.ln() });
    let model = Correction::train(600, 1, names(2), Target::LogW, &xs, &ys, &small()).unwrap();
    let (w, n) = model.predict(&[0.9, 0.5], 10.0, 4.0, 0.5);
    assert!((w - 2.0).abs() < 0.2, "{w}");
    assert!((n - (10.0 + w * 8.0)).abs() < 1e-9);
}

#[test]
fn the_envelope_round_trip_gives_identical_predictions() {
    let model = trained(7);
    let payload = Message::Model(model.to_msg()).encode();
    let Message::Model(msg) = Message::decode(Topic::Models, None, &payload).unwrap() else {
        panic!("not a model")
    };
    let back = Correction::from_msg(&msg).unwrap();
    assert_eq!(
        (back.window, back.version, back.target),
        (600, 1, Target::LogGrowth)
    );
    assert_eq!(back.features, model.features);
    let (xs, _) = data(100, 3, 5, |_| 0.0);
    for x in &xs {
        assert_eq!(
            back.predict(x, 7.0, 3.0, 0.4),
            model.predict(x, 7.0, 3.0, 0.4)
        );
    }
    assert_eq!(back.to_msg(), model.to_msg());
}

#[test]
fn same_samples_and_seed_give_identical_bytes() {
    assert_eq!(trained(7).to_msg(), trained(7).to_msg());
    assert_ne!(trained(7).to_msg().regressor, trained(8).to_msg().regressor);
}

#[test]
fn the_largest_allowed_forest_encodes_under_one_megabyte() {
    let features: Vec<String> = crate::features::DEFAULT
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Every feature tried at every split of a linear relation: each node
    // splits near its median, so every tree is full to its depth.
    let base = ForestConfig {
        min_samples_leaf: 1,
        m: Some(features.len()),
        ..ForestConfig::default()
    };
    let n_trees = base.max_trees(&features);
    let cfg = ForestConfig { n_trees, ..base };
    assert!(cfg.validate(&features).is_ok());
    let more = ForestConfig {
        n_trees: n_trees + 1,
        ..cfg.clone()
    };
    assert!(matches!(
        more.validate(&features),
        Err(ModelError::TooLarge { .. })
    ));
    let (xs, ys) = data(2000, features.len(), 11, |x| x[0]);
    let model =
        Correction::train(600, 1, features.clone(), Target::LogGrowth, &xs, &ys, &cfg).unwrap();
    let size = Message::Model(model.to_msg()).encode().len();
    let bound = cfg.worst_case_bytes(&features);
    assert!(
        size <= bound && bound <= MAX_MESSAGE_BYTES,
        "{size} / {bound}"
    );
    assert!(size > bound * 6 / 10, "trees not full: {size} / {bound}");
}

#[test]
fn forests_that_could_outgrow_the_message_are_refused() {
    let (xs, ys) = data(50, 3, 1, |x| x[0]);
    let cfg = ForestConfig {
        max_depth: 16,
        ..ForestConfig::default()
    };
    let err = Correction::train(600, 1, names(3), Target::LogGrowth, &xs, &ys, &cfg).unwrap_err();
    assert!(matches!(err, ModelError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("budget"));
}

#[test]
fn bad_training_input_is_refused_with_a_reason() {
    let cfg = small();
    let t = |xs: &[Vec<f64>], ys: &[f64]| {
        Correction::train(600, 1, names(2), Target::LogGrowth, xs, ys, &cfg).unwrap_err()
    };
    assert!(matches!(t(&[], &[]), ModelError::NoSamples));
    assert!(matches!(
        t(&[vec![1.0, 2.0]], &[]),
        ModelError::LabelCount { .. }
    ));
    assert!(matches!(
        t(&[vec![1.0]], &[1.0]),
        ModelError::RowLength { .. }
    ));
    assert!(matches!(
        t(&[vec![1.0, f64::NAN]], &[1.0]),
        ModelError::NonFinite { row: 0 }
    ));
}

#[test]
fn corrupt_envelopes_are_refused_with_an_error() {
    let good = trained(7).to_msg();
    let with = |f: &dyn Fn(&mut ModelMsg)| {
        let mut m = good.clone();
        f(&mut m);
        Correction::from_msg(&m).unwrap_err()
    };
    let e = with(&|m| m.regressor = "not base64 !!".into());
    assert!(matches!(e, ModelError::Base64(_)), "{e}");
    let e = with(&|m| {
        let bytes = BASE64.decode(&m.regressor).unwrap();
        m.regressor = BASE64.encode(&bytes[..bytes.len() / 2]);
    });
    assert!(matches!(e, ModelError::Decode(_)), "{e}");
    let e = with(&|m| {
        let mut bytes = BASE64.decode(&m.regressor).unwrap();
        bytes.extend_from_slice(&[0, 0]);
        m.regressor = BASE64.encode(bytes);
    });
    assert!(matches!(e, ModelError::Corrupt(_)), "{e}");
    let e = with(&|m| m.features.push("extra".into()));
    assert!(
        matches!(
            e,
            ModelError::FeatureCount {
                envelope: 4,
                forest: 3
            }
        ),
        "{e}"
    );
    let e = with(&|m| m.format = 3);
    assert!(matches!(e, ModelError::Format { found: 3 }), "{e}");
    let e = with(&|m| {
        if let Some(c) = m.calibration.as_mut() {
            c.bins[0].high = f64::INFINITY;
        }
    });
    assert!(matches!(e, ModelError::Calibration), "{e}");
    let e = with(&|m| m.target = "raw_w".into());
    assert!(matches!(e, ModelError::UnknownTarget(_)), "{e}");
}

#[test]
fn labels_follow_the_target() {
    let mut s = SampleMsg {
        kind: "sample".into(),
        cid: "1".into(),
        t_obs: 600,
        x: vec![],
        w: 0.0,
        features: vec![],
        n_obs: Some(10),
        n_tot: Some(40),
        n_hawkes: None,
    };
    assert_eq!(Target::LogGrowth.label(&s), Some(4f64.ln()));
    assert_eq!(Target::LogW.label(&s), Some(1e-3f64.ln()));
    s.n_tot = Some(5);
    assert_eq!(Target::LogGrowth.label(&s), None);
    s.n_obs = None;
    assert_eq!(Target::LogGrowth.label(&s), None);
    assert_eq!(Target::from_name("log_w"), Some(Target::LogW));
}

#[test]
fn a_trained_model_is_calibrated_out_of_bag_and_the_masks_do_not_travel() {
    // y = 2 x0 plus noise of sd 0.5: out-of-bag residuals see the noise.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (xs, mut ys) = data(1_000, 3, 21, |x| 2.0 * x[0]);
    for y in &mut ys {
        let z: f64 = rng.sample(rand_distr::StandardNormal);
        *y += 0.5 * z;
    }
    let model = Correction::train(600, 1, names(3), Target::LogGrowth, &xs, &ys, &small()).unwrap();
    let cal = model.calibration.as_ref().unwrap();
    // A few rows are in the bag of all 10 trees: under 1,000 residuals,
    // so 3 bins of at least 250.
    assert_eq!(cal.bins.len(), 3);
    assert!(cal.bins.iter().map(|b| b.n).sum::<u64>() > 950);
    for b in &cal.bins {
        // The noise, plus the forest's own error out of bag.
        assert!((0.45..0.8).contains(&b.sd), "{b:?}");
        assert!(b.are_shift < b.median_shift, "{b:?}");
    }
    // Without the in-bag masks (1,000 samples x 10 trees), the message is
    // no larger than the bound for the forest alone.
    let bytes = BASE64.decode(&model.to_msg().regressor).unwrap();
    let mut trees = 0;
    let r: raw::Regressor = postcard::from_bytes(&bytes).unwrap();
    if let Some(f) = r.forest {
        assert!(f._samples.is_none());
        trees = f.trees.map_or(0, |t| t.len());
    }
    assert_eq!(trees, 10);
    let s = model.sizes(&[0.5, 0.5, 0.5], 10.0).unwrap();
    assert!(s.low < s.are_optimal && s.are_optimal < s.median && s.median < s.high);
    // The point without calibration is the forest's own.
    let (_, n) = model.predict(&[0.5, 0.5, 0.5], 10.0, 4.0, 0.5);
    assert!(s.low < n && n < s.high);
}

#[test]
fn the_interval_of_a_trained_model_covers_about_80_percent_of_new_cascades() {
    let noisy = |seed: u64, n: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1_000);
        let (xs, mut ys) = data(n, 3, seed, |x| 1.0 + x[0]);
        for y in &mut ys {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            *y += 0.4 * z;
        }
        (xs, ys)
    };
    let (xs, ys) = noisy(31, 2_000);
    let model = Correction::train(600, 1, names(3), Target::LogGrowth, &xs, &ys, &small()).unwrap();
    let (xs, ys) = noisy(32, 2_000);
    let inside = xs
        .iter()
        .zip(&ys)
        .filter(|(x, y)| {
            let s = model.sizes(x, 10.0).unwrap();
            let truth = 10.0 * y.exp();
            s.low <= truth && truth <= s.high
        })
        .count() as f64
        / xs.len() as f64;
    assert!((0.74..0.88).contains(&inside), "coverage {inside}");
}

#[test]
fn a_format_1_envelope_is_read_without_calibration() {
    let mut msg = trained(7).to_msg();
    msg.format = 1;
    let back = Correction::from_msg(&msg).unwrap();
    assert!(back.calibration.is_none());
    assert!(back.sizes(&[0.5, 0.5, 0.5], 10.0).is_none());
    msg.calibration = None;
    msg.format = 2;
    assert!(Correction::from_msg(&msg).unwrap().calibration.is_none());
}

#[test]
fn log_w_models_carry_no_calibration() {
    let (xs, ys) = data(300, 2, 3, |x| x[0]);
    let model = Correction::train(600, 1, names(2), Target::LogW, &xs, &ys, &small()).unwrap();
    assert!(model.calibration.is_none());
    assert!(model.sizes(&[0.5, 0.5], 10.0).is_none());
}
