//! Named features of a fitted partial cascade, for the learned correction.
//!
//! The model envelope names its features, so the predictor builds the vector
//! a model expects by name, whatever produced the parameters: the course's
//! `[beta, n_star, G1]` are always available, and our estimator adds shape
//! statistics of the observed series in the parameters' `features` map.

use std::collections::BTreeMap;

use crate::schema::ParametersMsg;

/// The course's feature vector (SPEC §2 `samples`).
pub const COURSE: &[&str] = &["beta", "n_star", "G1"];

/// Our default: log-scaled Hawkes quantities plus the observed series'
/// shape and time profile. Log scales keep the forest's splits meaningful
/// across the orders of magnitude that G1, beta and sizes span. The last
/// three (time profile) were kept because `eval` showed they help a little
/// and never hurt, most on power-law cascades the exponential fit
/// misdescribes (docs/MEASUREMENTS.md, "Modelling choices").
pub const DEFAULT: &[&str] = &[
    "log_beta",
    "n_star",
    "log_G1",
    "log_n_obs",
    "log_supp_ratio",
    "frac_recent",
    "since_last",
    "log_mean_mark",
    "frac_half",
    "log_rate_ratio",
    "log_n_recent",
];

/// Every feature name [`value`] understands.
pub const KNOWN: &[&str] = &[
    "p",
    "beta",
    "n_star",
    "G1",
    "n_obs",
    "n_supp",
    "log_p",
    "log_beta",
    "log_G1",
    "log_n_obs",
    "log_supp_ratio",
    "frac_recent",
    "since_last",
    "log_mean_mark",
    "log_root_mark",
    "median_time",
    "frac_half",
    "log_rate_ratio",
    "log_n_recent",
    "pl_beta",
    "pl_log_c",
    "pl_theta",
    "exp_n_star",
    "exp_log_supp_ratio",
];

/// Shape statistics of an observed series on [0, t_obs), computed by the
/// estimator and carried in the parameters message.
///
/// The time profile lets the correction see what the exponential kernel
/// cannot: a cascade still going strong at the end of the window (a slowly
/// decaying, power-law-like one) against one whose burst is over.
/// - `frac_recent`, `frac_half`: shares of the tweets in the last quarter
///   and the second half of the window;
/// - `log_rate_ratio`: ln((tweets in the last quarter + 1) / (tweets in the
///   first quarter + 1)), the recent rate relative to the early one;
/// - `log_n_recent`: ln(1 + tweets in the last quarter), the recent rate
///   itself, which the future retweets are proportional to;
/// - `since_last`, `median_time`: the quiet time at the end and the median
///   tweet time, as fractions of the window.
pub fn series_features(times: &[f64], marks: &[f64], t_obs: f64) -> BTreeMap<String, f64> {
    let n = times.len().max(1) as f64;
    let count = |from: f64, to: f64| {
        times
            .iter()
            .filter(|&&t| t >= from * t_obs && t < to * t_obs)
            .count() as f64
    };
    let recent = times.iter().filter(|&&t| t >= 0.75 * t_obs).count() as f64;
    let early = count(0.0, 0.25);
    let half = times.iter().filter(|&&t| t >= 0.5 * t_obs).count() as f64;
    let last = times.last().copied().unwrap_or(0.0);
    let mean_mark = marks.iter().sum::<f64>() / n;
    let root = marks.first().copied().unwrap_or(0.0);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    BTreeMap::from([
        ("frac_recent".to_owned(), recent / n),
        (
            "since_last".to_owned(),
            ((t_obs - last) / t_obs).clamp(0.0, 1.0),
        ),
        ("log_mean_mark".to_owned(), (1.0 + mean_mark).ln()),
        ("log_root_mark".to_owned(), (1.0 + root).ln()),
        ("median_time".to_owned(), (median / t_obs).clamp(0.0, 1.0)),
        ("frac_half".to_owned(), half / n),
        (
            "log_rate_ratio".to_owned(),
            ((recent + 1.0) / (early + 1.0)).ln(),
        ),
        ("log_n_recent".to_owned(), recent.ln_1p()),
    ])
}

/// The value of feature `name` for a fitted cascade, if it can be had.
pub fn value(p: &ParametersMsg, name: &str) -> Option<f64> {
    let n_obs = p.n_obs as f64;
    let v = match name {
        "p" => p.params[0],
        "beta" => p.params[1],
        "n_star" => p.n_star,
        "G1" => p.g1,
        "n_obs" => n_obs,
        "n_supp" => p.n_supp,
        "log_p" => p.params[0].max(1e-300).ln(),
        "log_beta" => p.params[1].max(1e-300).ln(),
        "log_G1" => p.g1.ln_1p(),
        "log_n_obs" => n_obs.max(1.0).ln(),
        "log_supp_ratio" => (p.n_supp / n_obs.max(1.0)).ln_1p(),
        // The power-law kernel (`--kernel power-law` only); n_star, G1 and
        // log_supp_ratio are then its own, exp_* the exponential fit's.
        "pl_beta" => p.power_law?.beta,
        "pl_log_c" => p.power_law?.c.ln(),
        "pl_theta" => p.power_law?.theta,
        other => *p.features.get(other)?,
    };
    v.is_finite().then_some(v)
}

/// The vector for `names`, or None when one of them is missing.
pub fn vector<S: AsRef<str>>(p: &ParametersMsg, names: &[S]) -> Option<Vec<f64>> {
    names.iter().map(|n| value(p, n.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ParametersMsg {
        ParametersMsg {
            cid: "1".into(),
            msg: String::new(),
            n_obs: 20,
            n_supp: 20.0,
            params: [0.01, 0.002],
            n_star: 0.35,
            g1: 13.0,
            t_obs: Some(600),
            features: series_features(&[0.0, 100.0, 500.0], &[10.0, 20.0, 30.0], 600.0),
            power_law: None,
            lineage: None,
        }
    }

    #[test]
    fn default_features_are_all_known_and_available() {
        let p = params();
        for name in DEFAULT.iter().chain(COURSE) {
            assert!(KNOWN.contains(name), "{name} not in KNOWN");
            assert!(value(&p, name).is_some(), "{name} missing");
        }
        assert_eq!(vector(&p, COURSE), Some(vec![0.002, 0.35, 13.0]));
    }

    #[test]
    fn series_shape_statistics_are_what_they_say() {
        let f = series_features(&[0.0, 100.0, 500.0], &[10.0, 20.0, 30.0], 600.0);
        assert_eq!(f["frac_recent"], 1.0 / 3.0);
        assert!((f["since_last"] - 100.0 / 600.0).abs() < 1e-12);
        assert!((f["log_mean_mark"] - 21f64.ln()).abs() < 1e-12);
        // Tweets at 0, 100 (first quarter) and 500 (last quarter) of 600.
        assert_eq!(f["frac_half"], 1.0 / 3.0);
        assert!((f["log_rate_ratio"] - (2.0f64 / 3.0).ln()).abs() < 1e-12);
        assert!((f["log_n_recent"] - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn a_cascade_still_growing_has_a_higher_rate_ratio_than_a_spent_one() {
        let rising: Vec<f64> = (0..40)
            .map(|i| 600.0 * (f64::from(i) / 40.0).sqrt())
            .collect();
        let spent: Vec<f64> = (0..40)
            .map(|i| 600.0 * (f64::from(i) / 40.0).powi(2))
            .collect();
        let marks = vec![1.0; 40];
        let (r, s) = (
            series_features(&rising, &marks, 600.0),
            series_features(&spent, &marks, 600.0),
        );
        assert!(r["log_rate_ratio"] > 0.0 && s["log_rate_ratio"] < 0.0);
        assert!(r["frac_half"] > s["frac_half"]);
        assert!(r["log_n_recent"] > s["log_n_recent"]);
    }

    #[test]
    fn a_missing_feature_gives_no_vector() {
        let mut p = params();
        p.features.clear();
        assert!(vector(&p, DEFAULT).is_none());
    }
}
