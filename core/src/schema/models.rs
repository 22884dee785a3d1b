//! The `models` topic: one window's regressor in a versioned envelope.

use serde::{Deserialize, Serialize};

use super::Window;

/// A message on `models`: one window's regressor in a versioned envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMsg {
    #[serde(rename = "type", default = "model_tag")]
    pub kind: String,
    /// Envelope format version; see [`crate::model::FORMAT_VERSION`].
    pub format: u32,
    #[serde(rename = "T_obs")]
    pub t_obs: Window,
    /// Monotonic per window: a predictor ignores an older model than it has.
    pub version: u64,
    /// Feature names, in the order the regressor expects them.
    pub features: Vec<String>,
    /// What the regressor predicts; see [`crate::model::Target`].
    pub target: String,
    /// Training samples behind this model.
    pub n_samples: u64,
    /// The serialized regressor: base64 of postcard bytes.
    pub regressor: String,
    /// Extra (format 2): the spread of the regressor's errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::model::Calibration>,
}

fn model_tag() -> String {
    "model".to_owned()
}
