//! The learned correction of a window's Hawkes predictions, and the
//! envelope it travels in on `models` (SPEC §2, §6).
//!
//! A random forest (our own trainer, see `grow`) maps a fitted cascade's named features to a
//! correction. The course regresses the raw W = (n_tot - n_obs)(1 - n*)/G1,
//! which is heavy-tailed: a cascade with a tiny G1 gives W in the thousands
//! and a forest fitted to it predicts corrections that make the mean ARE
//! explode. So the default [`Target::LogGrowth`] regresses the log of the
//! growth ratio n_tot / n_obs instead: a forest only averages training
//! labels, so its prediction stays within the growth ratios it has seen.
//!
//! Next to the forest, a [`Calibration`] learnt from the forest's
//! out-of-bag residuals gives the spread of the predictive distribution, so
//! a prediction offers its median, the point that minimises the expected
//! ARE, and an 80 % interval (see `calibration`).
//!
//! The forest travels as base64 of its postcard bytes. Postcard is not
//! self-describing, so bytes that decode may still describe a forest that
//! would panic or loop when walked; [`Correction::from_msg`] checks the
//! structure first (see `raw`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::schema::{ModelMsg, SampleMsg, Window};

mod bins;
pub mod calibration;
mod error;
mod forest_config;
mod grow;
mod raw;
mod split;
mod trees;

pub use calibration::{Calibration, Sizes};
pub use error::{FORMAT_VERSION, MAX_MESSAGE_BYTES, ModelError, READ_FORMATS};
pub use forest_config::ForestConfig;

/// Default bound on a reported correction.
pub const DEFAULT_W_MAX: f64 = 1e3;

/// What the forest predicts. Both give a correction w and a final size N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// y = ln(n_tot / n_obs); N = n_obs * exp(y). Needs the samples' extra
    /// `n_obs` and `n_tot`.
    #[default]
    LogGrowth,
    /// y = ln(clamp(W, 1e-3, 1e3)); w = exp(y). For course samples, which
    /// carry only X and W.
    LogW,
}

impl Target {
    /// The name in [`ModelMsg::target`].
    pub fn name(self) -> &'static str {
        match self {
            Target::LogGrowth => "log_growth",
            Target::LogW => "log_w",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        match name {
            "log_growth" => Some(Target::LogGrowth),
            "log_w" => Some(Target::LogW),
            _ => None,
        }
    }

    /// The regression label of a sample, or None when the sample lacks what
    /// this target needs (LogGrowth: n_obs >= 1 and n_tot >= n_obs).
    pub fn label(self, s: &SampleMsg) -> Option<f64> {
        let y = match self {
            Target::LogGrowth => {
                let (n_obs, n_tot) = (s.n_obs?, s.n_tot?);
                if n_obs < 1 || n_tot < n_obs {
                    return None;
                }
                (n_tot as f64 / n_obs as f64).ln()
            }
            // W <= 0 (nothing came after the window) clamps to the floor.
            Target::LogW => s.w.clamp(1e-3, 1e3).ln(),
        };
        y.is_finite().then_some(y)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A window's trained correction.
#[derive(Debug)]
pub struct Correction {
    pub window: Window,
    /// Monotonic per window: newer models replace older ones.
    pub version: u64,
    /// Feature names, in the order the forest reads them.
    pub features: Vec<String>,
    pub target: Target,
    pub n_samples: u64,
    /// Bound on the reported correction; not part of the envelope, each
    /// predictor sets its own.
    pub w_max: f64,
    /// The spread of the forest's errors, out of bag (LogGrowth only).
    pub calibration: Option<Calibration>,
    forest: trees::Trees,
    /// The forest's base64 postcard bytes, kept so that `to_msg` cannot fail
    /// and re-sends exactly what was trained.
    regressor: String,
}

impl Correction {
    /// Fits a forest of `ys` (labels in `target`'s space, see
    /// [`Target::label`]) on `xs` (rows in the order of `features`).
    pub fn train(
        window: Window,
        version: u64,
        features: Vec<String>,
        target: Target,
        xs: &[Vec<f64>],
        ys: &[f64],
        cfg: &ForestConfig,
    ) -> Result<Self, ModelError> {
        if features.is_empty() {
            return Err(ModelError::NoFeatures);
        }
        if xs.is_empty() {
            return Err(ModelError::NoSamples);
        }
        if xs.len() != ys.len() {
            return Err(ModelError::LabelCount {
                xs: xs.len(),
                ys: ys.len(),
            });
        }
        for (row, (x, y)) in xs.iter().zip(ys).enumerate() {
            if x.len() != features.len() {
                return Err(ModelError::RowLength {
                    row,
                    len: x.len(),
                    expected: features.len(),
                });
            }
            if !y.is_finite() || x.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::NonFinite { row });
            }
        }
        cfg.validate(&features)?;
        let grown = grow::grow(xs, ys, features.len(), cfg)?;
        let calibration = match target {
            // Rows in every tree's bag have no out-of-bag prediction.
            Target::LogGrowth => Calibration::fit(
                &grown
                    .oob
                    .iter()
                    .zip(ys)
                    .filter_map(|(p, &y)| p.map(|p| (p, y)))
                    .collect::<Vec<_>>(),
            ),
            Target::LogW => None,
        };
        let bytes = grown.bytes;
        // The forest kept in memory is the one that travels.
        let forest = trees::Trees::from_bytes(&bytes, features.len())?;
        let model = Self {
            window,
            version,
            features,
            target,
            n_samples: xs.len() as u64,
            w_max: DEFAULT_W_MAX,
            calibration,
            forest,
            regressor: BASE64.encode(bytes),
        };
        // The configuration check bounds this; measure anyway, a message
        // over the budget would be refused by the broker.
        let size = crate::schema::Message::Model(model.to_msg()).encode().len();
        if size > MAX_MESSAGE_BYTES {
            return Err(ModelError::TooLarge {
                n_trees: cfg.n_trees,
                max_depth: cfg.max_depth,
                n_features: model.features.len(),
                worst: size,
                limit: MAX_MESSAGE_BYTES,
            });
        }
        Ok(model)
    }

    /// The correction w and final size N for a cascade with features `x`
    /// (in [`Self::features`]' order), `n_obs` observed tweets and Hawkes
    /// fit (G1, n*). Never NaN or infinite: a non-finite forest output, or
    /// an `x` of the wrong length, falls back to w = 1.
    pub fn predict(&self, x: &[f64], n_obs: f64, g1: f64, n_star: f64) -> (f64, f64) {
        self.predict_raw(self.raw(x), n_obs, g1, n_star)
    }

    /// [`Self::predict`] and [`Self::sizes`] from one walk of the forest.
    pub fn predict_with_sizes(
        &self,
        x: &[f64],
        n_obs: f64,
        g1: f64,
        n_star: f64,
    ) -> ((f64, f64), Option<Sizes>) {
        let y = self.raw(x);
        (
            self.predict_raw(y, n_obs, g1, n_star),
            self.sizes_raw(y, n_obs),
        )
    }

    fn predict_raw(&self, y: Option<f64>, n_obs: f64, g1: f64, n_star: f64) -> (f64, f64) {
        let fallback = || {
            let n = crate::hawkes::final_size(n_obs, g1, n_star, 1.0);
            (1.0, if n.is_finite() { n } else { n_obs })
        };
        let Some(y) = y.filter(|y| y.is_finite()) else {
            return fallback();
        };
        match self.target {
            Target::LogGrowth => {
                let n = n_obs * y.exp();
                if !n.is_finite() {
                    return fallback();
                }
                (self.w_for(n, n_obs, g1, n_star), n)
            }
            Target::LogW => {
                let w = y.exp().clamp(0.0, self.w_max);
                let n = crate::hawkes::final_size(n_obs, g1, n_star, w);
                if n.is_finite() { (w, n) } else { fallback() }
            }
        }
    }

    /// The calibrated sizes for a cascade with features `x` and `n_obs`
    /// observed tweets: None without a calibration (format 1, LogW) or a
    /// usable forest output.
    pub fn sizes(&self, x: &[f64], n_obs: f64) -> Option<Sizes> {
        self.sizes_raw(self.raw(x), n_obs)
    }

    fn sizes_raw(&self, y: Option<f64>, n_obs: f64) -> Option<Sizes> {
        if self.target != Target::LogGrowth {
            return None;
        }
        let y = y.filter(|y| y.is_finite())?;
        self.calibration.as_ref()?.sizes(n_obs, y)
    }

    /// The correction w that gives final size `n`, bounded by `w_max`
    /// (1 when there is nothing to correct: G1 = 0).
    pub fn w_for(&self, n: f64, n_obs: f64, g1: f64, n_star: f64) -> f64 {
        let supp = g1 / (1.0 - n_star);
        if g1 == 0.0 || !(supp.is_finite() && supp > 0.0) {
            1.0
        } else {
            ((n - n_obs) / supp).clamp(0.0, self.w_max)
        }
    }

    /// The forest's output for one row, in the target's space.
    fn raw(&self, x: &[f64]) -> Option<f64> {
        if x.len() != self.features.len() {
            return None;
        }
        self.forest.predict(x)
    }

    /// The envelope for `models`.
    pub fn to_msg(&self) -> ModelMsg {
        ModelMsg {
            kind: "model".into(),
            format: FORMAT_VERSION,
            t_obs: self.window,
            version: self.version,
            features: self.features.clone(),
            target: self.target.name().into(),
            n_samples: self.n_samples,
            regressor: self.regressor.clone(),
            calibration: self.calibration.clone(),
        }
    }

    /// Reads an envelope, refusing unknown formats and targets and forests
    /// that do not match their feature list or could not be walked safely.
    pub fn from_msg(msg: &ModelMsg) -> Result<Self, ModelError> {
        if !READ_FORMATS.contains(&msg.format) {
            return Err(ModelError::Format { found: msg.format });
        }
        let calibration = match (msg.format, &msg.calibration) {
            (1, _) | (_, None) => None,
            (_, Some(c)) if c.is_valid() => Some(c.clone()),
            (_, Some(_)) => return Err(ModelError::Calibration),
        };
        let target = Target::from_name(&msg.target)
            .ok_or_else(|| ModelError::UnknownTarget(msg.target.clone()))?;
        if msg.features.is_empty() {
            return Err(ModelError::NoFeatures);
        }
        let bytes = BASE64.decode(msg.regressor.as_bytes())?;
        let forest = trees::Trees::from_bytes(&bytes, msg.features.len())?;
        Ok(Self {
            window: msg.t_obs,
            version: msg.version,
            features: msg.features.clone(),
            target,
            n_samples: msg.n_samples,
            w_max: DEFAULT_W_MAX,
            calibration,
            forest,
            regressor: msg.regressor.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
