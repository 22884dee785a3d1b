//! The cold start from a carried-over model: models of an earlier run (the
//! `models` topic's records, or `tweetoscope eval --models-out`), read from
//! a file at start, predict a window until its first model of this run
//! arrives. Their alerts say `"cold_start":"carried_over"`.
//!
//! Why: before a window's first model (100 samples, each a termination
//! delay after its cascade's end: two to three days of a month-long feed)
//! the Hawkes size alone is about twice as wrong as a learned model, and a
//! model learned on another month of the same feed predicts as well as
//! this month's; one of another population is worse than none
//! (docs/MEASUREMENTS.md, "Cold start of a month-long feed").

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::features;
use crate::model::Correction;
use crate::schema::{ModelMsg, Window};

use super::Predictor;

/// The newest model of each window in `path`: one JSON model message a
/// line (blank lines skipped), as the `models` topic holds them. Every
/// problem is an error naming the file and line: a model the predictor
/// cannot use would silently leave its window at the Hawkes size.
pub fn read_models(path: &Path) -> Result<Vec<ModelMsg>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot open the initial models {}: {e}", path.display()))?;
    let mut newest: std::collections::BTreeMap<Window, ModelMsg> = Default::default();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let at = || format!("{} line {}", path.display(), i + 1);
        let line = line.map_err(|e| format!("cannot read {}: {e}", at()))?;
        if line.trim().is_empty() {
            continue;
        }
        let m: ModelMsg = serde_json::from_str(&line)
            .map_err(|e| format!("{}: not a model message: {e}", at()))?;
        check(&m).map_err(|e| format!("{}: {e}", at()))?;
        if newest.get(&m.t_obs).is_none_or(|o| o.version < m.version) {
            newest.insert(m.t_obs, m);
        }
    }
    if newest.is_empty() {
        return Err(format!("{} holds no model", path.display()));
    }
    Ok(newest.into_values().collect())
}

/// Whether the predictor can use `m`: known features, a readable regressor.
fn check(m: &ModelMsg) -> Result<Correction, String> {
    if let Some(bad) = m
        .features
        .iter()
        .find(|f| !features::KNOWN.contains(&f.as_str()))
    {
        return Err(format!(
            "model of window {} names feature `{bad}`, which this predictor cannot build",
            m.t_obs
        ));
    }
    Correction::from_msg(m).map_err(|e| format!("model of window {}: {e}", m.t_obs))
}

impl Predictor {
    /// Takes the configured carried-over models (checked when read; one
    /// that fails now is logged and left out).
    pub(super) fn carry_over(&mut self) {
        for m in std::mem::take(&mut self.cfg.carried) {
            match check(&m) {
                Ok(mut model) => {
                    model.w_max = self.cfg.w_max;
                    tracing::info!(
                        window = m.t_obs,
                        version = m.version,
                        samples = m.n_samples,
                        "carried-over model in use until the window's first model"
                    );
                    self.carried.insert(m.t_obs, model);
                }
                Err(error) => tracing::warn!(%error, "carried-over model left out"),
            }
        }
    }

    /// Whether `window`'s predictions come from a carried-over model.
    pub(super) fn is_carried(&self, window: Window) -> bool {
        !self.models.contains_key(&window) && self.carried.contains_key(&window)
    }
}
