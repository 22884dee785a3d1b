//! The `cascade_properties` topic: final sizes and fitted parameters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codec::{de_cid, de_count, de_num, de_text, ser_num};
use super::{Lineage, Window};
use crate::hawkes::MarkLaw;

/// A message on `cascade_properties`: a final size from the collector or
/// fitted parameters from the estimator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PropertiesMsg {
    Size(SizeMsg),
    Parameters(ParametersMsg),
    /// Extra (`"type":"failed"`): the estimator could not fit this series,
    /// so the predictor frees the size instead of waiting for parameters.
    /// Course consumers ignore it (they read `size` and `parameters`).
    Failed(FailedMsg),
}

impl PropertiesMsg {
    pub fn cid(&self) -> &str {
        match self {
            PropertiesMsg::Size(s) => &s.cid,
            PropertiesMsg::Parameters(p) => &p.cid,
            PropertiesMsg::Failed(f) => &f.cid,
        }
    }

    /// The window, when the value carries it (ours always do; the course's
    /// only carry it in the key).
    pub fn window(&self) -> Option<Window> {
        match self {
            PropertiesMsg::Size(s) => s.t_obs,
            PropertiesMsg::Parameters(p) => p.t_obs,
            PropertiesMsg::Failed(f) => f.t_obs,
        }
    }

    /// Where on `tweets` the record comes from, when it says.
    pub fn lineage(&self) -> Option<Lineage> {
        match self {
            PropertiesMsg::Size(s) => s.lineage,
            PropertiesMsg::Parameters(p) => p.lineage,
            PropertiesMsg::Failed(f) => f.lineage,
        }
    }

    pub fn set_window(&mut self, w: Window) {
        match self {
            PropertiesMsg::Size(s) => s.t_obs = Some(w),
            PropertiesMsg::Parameters(p) => p.t_obs = Some(w),
            PropertiesMsg::Failed(f) => f.t_obs = Some(w),
        }
    }
}

/// A series the estimator could not fit, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedMsg {
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub t_obs: Option<Window>,
    #[serde(default)]
    pub reason: String,
    /// Extra: where on `tweets` this record comes from (absent from course
    /// messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// The cascade's final size, sent by the collector at termination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeMsg {
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(deserialize_with = "de_count")]
    pub n_tot: u64,
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub t_end: f64,
    /// Extra: the window this size is keyed by (the course puts it only in
    /// the key).
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub t_obs: Option<Window>,
    /// Extra: where on `tweets` this record comes from (absent from course
    /// messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// The estimator's fit of one partial cascade.
///
/// Read through [`ParametersWire`]: one 2021 course repository writes
/// `params` as `[p, beta, n_star, G1]` (four elements) instead of
/// `[p, beta]` plus the two fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ParametersWire")]
pub struct ParametersMsg {
    #[serde(deserialize_with = "de_cid")]
    pub cid: String,
    #[serde(default, deserialize_with = "de_text")]
    pub msg: String,
    #[serde(deserialize_with = "de_count")]
    pub n_obs: u64,
    /// Retweets still to come with w = 1: G1 / (1 - n*).
    pub n_supp: f64,
    /// `[p, beta]`.
    pub params: [f64; 2],
    /// Branching factor. NaN when absent (2020 edition) until
    /// [`ParametersMsg::complete`] derives it.
    #[serde(default = "absent")]
    pub n_star: f64,
    /// NaN when absent (2020 edition) until [`ParametersMsg::complete`].
    #[serde(rename = "G1", default = "absent")]
    pub g1: f64,
    /// Extra: the window (the course puts it only in the key).
    #[serde(
        rename = "T_obs",
        alias = "t_obs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub t_obs: Option<Window>,
    /// Extra: named features of the partial cascade for the learned
    /// correction (see [`crate::features`]). Absent from course messages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, f64>,
    /// Extra: the power-law kernel when the estimator fitted one
    /// (`--kernel power-law`); `n_supp`, `n_star` and `G1` are then its
    /// values and `params` the exponential fit's. Course consumers ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_law: Option<PowerLawParams>,
    /// Extra: where on `tweets` this record comes from (absent from course
    /// messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// [`ParametersMsg`] as read: `params` of two or four elements.
#[derive(Deserialize)]
struct ParametersWire {
    #[serde(deserialize_with = "de_cid")]
    cid: String,
    #[serde(default, deserialize_with = "de_text")]
    msg: String,
    #[serde(deserialize_with = "de_count")]
    n_obs: u64,
    n_supp: f64,
    params: Vec<f64>,
    #[serde(default = "absent")]
    n_star: f64,
    #[serde(rename = "G1", default = "absent")]
    g1: f64,
    #[serde(rename = "T_obs", alias = "t_obs", default)]
    t_obs: Option<Window>,
    #[serde(default)]
    features: BTreeMap<String, f64>,
    #[serde(default)]
    power_law: Option<PowerLawParams>,
    #[serde(default)]
    lineage: Option<Lineage>,
}

impl TryFrom<ParametersWire> for ParametersMsg {
    type Error = String;

    /// `[p, beta]`, or `[p, beta, n_star, G1]`: the last two are used
    /// where the message lacks the `n_star` and `G1` fields, and must
    /// agree with them where it has them.
    fn try_from(w: ParametersWire) -> Result<Self, String> {
        let (mut n_star, mut g1) = (w.n_star, w.g1);
        let params = match *w.params.as_slice() {
            [p, beta] => [p, beta],
            [p, beta, n, g] => {
                for (name, field, listed) in [("n_star", &mut n_star, n), ("G1", &mut g1, g)] {
                    if field.is_nan() {
                        *field = listed;
                    } else if *field != listed {
                        return Err(format!(
                            "params [p, beta, n_star, G1] says {name} = {listed}, the {name} field {field}"
                        ));
                    }
                }
                [p, beta]
            }
            ref other => {
                return Err(format!(
                    "params must be [p, beta] or [p, beta, n_star, G1], got {} values",
                    other.len()
                ));
            }
        };
        Ok(Self {
            cid: w.cid,
            msg: w.msg,
            n_obs: w.n_obs,
            n_supp: w.n_supp,
            params,
            n_star,
            g1,
            t_obs: w.t_obs,
            features: w.features,
            power_law: w.power_law,
            lineage: w.lineage,
        })
    }
}

/// Mishra et al.'s kernel kappa m^beta (tau + c)^-(1 + theta), as
/// p m^beta theta c^theta (tau + c)^-(1 + theta) (see
/// [`crate::hawkes::powerlaw`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerLawParams {
    pub p: f64,
    pub beta: f64,
    pub c: f64,
    pub theta: f64,
}

fn absent() -> f64 {
    f64::NAN
}

impl ParametersMsg {
    /// Completes a 2020-edition message, which carries neither `n_star` nor
    /// `G1`, the way the 2020 course predictor derives them from what it
    /// does carry and the magnitude law (alpha, mu) it is configured with:
    ///
    /// - n* = p E[m], E[m] = mu (alpha - 1) / (alpha - 2);
    /// - G1 = n_supp (1 - n*), since the estimator sent
    ///   n_supp = G1 / (1 - n*).
    ///
    /// Values the message carries are kept. Returns whether anything was
    /// derived.
    pub fn complete(&mut self, marks: MarkLaw) -> bool {
        let mut derived = false;
        if self.n_star.is_nan() {
            self.n_star = self.params[0] * marks.mean();
            derived = true;
        }
        if self.g1.is_nan() {
            self.g1 = self.n_supp * (1.0 - self.n_star);
            derived = true;
        }
        derived
    }
}
