//! The `samples` topic: training samples for the learner.
//!
//! The target is written twice, as `W` (SPEC §2, both course editions) and
//! as `w` (what one 2021 course repository's predictor writes and its
//! learner reads): a course learner of either kind reads our samples
//! without a `KeyError`, for about 20 bytes a sample on a topic that
//! carries one record per cascade and window. Either name is read; a
//! sample carrying both with different values is refused.

use serde::{Deserialize, Serialize, Serializer};

use super::Window;
use super::codec::{de_cid, de_window};

/// A training sample on `samples`: features `X` and target `W`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "SampleWire")]
pub struct SampleMsg {
    pub kind: String,
    pub cid: String,
    /// 0 when the value lacks it (course samples): [`super::Decoder`]
    /// takes the key's.
    pub t_obs: Window,
    pub x: Vec<f64>,
    /// The correction that would have predicted the true size exactly:
    /// (n_tot - n_obs)(1 - n*) / G1.
    pub w: f64,
    /// Extra: the names of `X`'s entries, in order.
    pub features: Vec<String>,
    /// Extra: observed tweets at the window's end.
    pub n_obs: Option<u64>,
    /// Extra: the final size.
    pub n_tot: Option<u64>,
    /// Extra: the prediction with w = 1 (n_obs + G1 / (1 - n*)).
    pub n_hawkes: Option<f64>,
}

/// [`SampleMsg`] as read: the target as `W`, `w` or both.
#[derive(Deserialize)]
struct SampleWire {
    #[serde(rename = "type", default = "sample_tag")]
    kind: String,
    #[serde(deserialize_with = "de_cid")]
    cid: String,
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        deserialize_with = "de_window"
    )]
    t_obs: Window,
    #[serde(rename = "X")]
    x: Vec<f64>,
    #[serde(rename = "W", default)]
    upper: Option<f64>,
    #[serde(rename = "w", default)]
    lower: Option<f64>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    n_obs: Option<u64>,
    #[serde(default)]
    n_tot: Option<u64>,
    #[serde(default)]
    n_hawkes: Option<f64>,
}

impl TryFrom<SampleWire> for SampleMsg {
    type Error = String;

    fn try_from(s: SampleWire) -> Result<Self, String> {
        let w = match (s.upper, s.lower) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!("W = {a} and w = {b} disagree"));
            }
            (Some(v), _) | (None, Some(v)) => v,
            (None, None) => return Err("no target: neither W nor w".into()),
        };
        Ok(Self {
            kind: s.kind,
            cid: s.cid,
            t_obs: s.t_obs,
            x: s.x,
            w,
            features: s.features,
            n_obs: s.n_obs,
            n_tot: s.n_tot,
            n_hawkes: s.n_hawkes,
        })
    }
}

/// [`SampleMsg`] as written.
#[derive(Serialize)]
struct SampleOut<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    cid: &'a str,
    #[serde(rename = "T_obs")]
    t_obs: Window,
    #[serde(rename = "X")]
    x: &'a [f64],
    #[serde(rename = "W")]
    upper: f64,
    #[serde(rename = "w")]
    lower: f64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    features: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    n_obs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_tot: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_hawkes: Option<f64>,
}

impl Serialize for SampleMsg {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        SampleOut {
            kind: &self.kind,
            cid: &self.cid,
            t_obs: self.t_obs,
            x: &self.x,
            upper: self.w,
            lower: self.w,
            features: &self.features,
            n_obs: self.n_obs,
            n_tot: self.n_tot,
            n_hawkes: self.n_hawkes,
        }
        .serialize(ser)
    }
}

fn sample_tag() -> String {
    "sample".to_owned()
}
