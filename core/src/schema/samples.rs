//! The `samples` topic: training samples for the learner.

use serde::{Deserialize, Serialize};

use super::Window;
use super::codec::{de_cid, de_window};

/// A training sample on `samples`: features `X` and target `W`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleMsg {
    #[serde(rename = "type", default = "sample_tag")]
    pub kind: String,
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    /// 0 when the value lacks it (course samples): [`super::Decoder`]
    /// takes the key's.
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        deserialize_with = "de_window"
    )]
    pub t_obs: Window,
    #[serde(rename = "X")]
    pub x: Vec<f64>,
    /// The correction that would have predicted the true size exactly:
    /// (n_tot - n_obs)(1 - n*) / G1.
    #[serde(rename = "W")]
    pub w: f64,
    /// Extra: the names of `X`'s entries, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Extra: observed tweets at the window's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_obs: Option<u64>,
    /// Extra: the final size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_tot: Option<u64>,
    /// Extra: the prediction with w = 1 (n_obs + G1 / (1 - n*)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_hawkes: Option<f64>,
}

fn sample_tag() -> String {
    "sample".to_owned()
}
