//! The `alerts` and `stats` topics: predictions and their errors.

use serde::{Deserialize, Serialize};

use super::Window;
use super::codec::{de_cid, de_text, de_window};

/// A prediction on `alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMsg {
    #[serde(rename = "type", default = "alert_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(default, deserialize_with = "de_text")]
    pub msg: String,
    /// `t_obs` in the 2020 edition.
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        deserialize_with = "de_window"
    )]
    pub t_obs: Window,
    /// Predicted final size.
    pub n_tot: f64,
    /// Extra: the correction used (1 until a model exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w: Option<f64>,
    /// Extra: observed tweets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_obs: Option<u64>,
    /// Extra, once a window has a calibrated model: the median of the
    /// predictive distribution and its 10 % / 90 % quantiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_tot_median: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_tot_low: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_tot_high: Option<f64>,
    /// Extra, only on a prediction made without a usable model for its
    /// window (before the learner's first model: the cold start): how it
    /// was made. Absent on predictions made with a model, so a course
    /// consumer sees the alerts it always saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdBasis>,
}

/// How a prediction without a model was made (`cold_start` of an alert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColdBasis {
    /// The Hawkes size, w = 1.
    Hawkes,
    /// The first generation, n_obs + G1 (w = 1 - n*), chosen for every
    /// cold prediction (`--cold-start first-generation`).
    FirstGeneration,
    /// The first generation because the fit is near-critical (n* at or
    /// above the predictor's threshold), whose Hawkes size means nothing.
    NearCritical,
    /// A model carried over from an earlier run (the predictor's
    /// `--initial-model`), until the window's first model of this run.
    CarriedOver,
    /// A value this build does not know (a newer producer's): still a
    /// cold-start prediction.
    #[serde(other)]
    Other,
}

fn alert_tag() -> String {
    "alert".to_owned()
}

/// A prediction error on `stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatMsg {
    #[serde(rename = "type", default = "stat_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    /// `t_obs` in the 2020 edition.
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        deserialize_with = "de_window"
    )]
    pub t_obs: Window,
    #[serde(rename = "ARE")]
    pub are: f64,
    /// Extra: ARE of the w = 1 prediction, to see what the correction buys.
    #[serde(
        rename = "ARE_hawkes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub are_hawkes: Option<f64>,
}

fn stat_tag() -> String {
    "stat".to_owned()
}
