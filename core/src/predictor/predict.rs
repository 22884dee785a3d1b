//! The parameters half of the predictor: the alert from the window's model
//! (or the Hawkes size), the stat and training sample of a completed pair,
//! and model loading.

use super::state::{Half, Pending, Predicted};
use super::{ColdStart, Point, Predictor};
use crate::features;
use crate::hawkes::final_size;
use crate::model::{Correction, Sizes};
use crate::schema::{
    AlertMsg, ColdBasis, Message, ModelMsg, ParametersMsg, SampleMsg, StatMsg, Window,
};
use crate::stage::{Ctx, StageError};

use super::state::Key;

impl Predictor {
    pub(super) fn on_parameters(
        &mut self,
        p: ParametersMsg,
        ctx: Ctx,
        out: &mut Vec<Message>,
    ) -> Result<(), StageError> {
        self.stats.parameters += 1;
        let t_obs = p.t_obs.ok_or_else(|| {
            StageError::Invalid(format!("parameters of cascade {} without T_obs", p.cid))
        })?;
        self.check_window(&p.cid, t_obs)?;
        self.passed(p.lineage, t_obs, ctx.origin.partition);
        let run = p.lineage.map(|l| l.run());
        let key = self.key_of(p.cid.clone(), t_obs, run, Half::Fit);
        if self.is_duplicate(&key, run, Half::Fit) {
            return Ok(());
        }
        if p.n_star.is_nan() || p.n_star >= 1.0 {
            let reason = format!(
                "parameters of cascade {} have n_star {} >= 1: no finite prediction",
                p.cid, p.n_star
            );
            return Err(self.refuse(&key, run, ctx, reason));
        }
        let n_obs = p.n_obs as f64;
        let n_hawkes = final_size(n_obs, p.g1, p.n_star, 1.0);
        let (w, n_pred, sizes, cold_start) = match self.predict(&p, t_obs) {
            Some((w, n, sizes)) => {
                let carried = self.is_carried(t_obs).then_some(ColdBasis::CarriedOver);
                (w, n, sizes, carried)
            }
            None => {
                let (w, n, basis) = self.without_model(&p, t_obs, n_hawkes);
                (w, n, None, Some(basis))
            }
        };
        if !n_pred.is_finite() {
            // Values that pass validation can still overflow (G1 = 1e308):
            // an alert would say `"n_tot":null`.
            let reason = format!(
                "parameters of cascade {} give no finite prediction (n_obs {}, G1 {}, n_star {}, w {w})",
                p.cid, p.n_obs, p.g1, p.n_star
            );
            return Err(self.refuse(&key, run, ctx, reason));
        }
        self.stats.alerts += 1;
        out.push(Message::Alert(AlertMsg {
            kind: "alert".into(),
            cid: p.cid.clone(),
            msg: p.msg.clone(),
            t_obs,
            n_tot: n_pred,
            w: Some(w),
            n_obs: Some(p.n_obs),
            n_tot_median: sizes.map(|s| s.median),
            n_tot_low: sizes.map(|s| s.low),
            n_tot_high: sizes.map(|s| s.high),
            cold_start,
        }));
        self.advance(ctx.now);
        self.hold(ctx.origin);
        let predicted = Predicted {
            params: p,
            n_pred,
            n_hawkes,
        };
        let entry = self.entry(&key);
        entry.predicted = Some((predicted, ctx.origin));
        entry.join(run);
        if entry.size.is_some() {
            self.complete(&key, out);
        }
        Ok(())
    }

    /// (w, size) without a usable model: the Hawkes size (w = 1), or the
    /// first generation. A near-critical fit's w = 1 size grows as
    /// 1 / (1 - n*) and means nothing; its first generation (the observed
    /// tweets' expected direct retweets still to come) is a lower bound
    /// whatever n* is, and ARE punishes an underestimate by at most 1.
    /// That is w = 1 - n* in N = n_obs + w G1 / (1 - n*). The basis is
    /// what the alert says of it.
    fn without_model(
        &mut self,
        p: &ParametersMsg,
        t_obs: Window,
        n_hawkes: f64,
    ) -> (f64, f64, ColdBasis) {
        let near_critical = p.n_star >= self.cfg.near_critical;
        let basis = match (self.cfg.cold_start, near_critical) {
            (_, true) => ColdBasis::NearCritical,
            (ColdStart::FirstGeneration, false) => ColdBasis::FirstGeneration,
            (ColdStart::Hawkes, false) => return (1.0, n_hawkes, ColdBasis::Hawkes),
        };
        if self.cfg.cold_start == ColdStart::Hawkes {
            self.stats.near_critical += 1;
        }
        tracing::debug!(cid = %p.cid, window = t_obs, n_star = p.n_star, "no model yet: first generation");
        (1.0 - p.n_star, p.n_obs as f64 + p.g1, basis)
    }

    /// The correction, the reported size and, with a calibrated model, the
    /// predictive distribution's sizes; `None` without a usable model.
    pub(super) fn predict(
        &mut self,
        p: &ParametersMsg,
        t_obs: Window,
    ) -> Option<(f64, f64, Option<Sizes>)> {
        let n_obs = p.n_obs as f64;
        let model = self
            .models
            .get(&t_obs)
            .or_else(|| self.carried.get(&t_obs))?;
        let Some(x) = features::vector(p, &model.features) else {
            self.stats.features_missing += 1;
            let missing = first_missing(p, &model.features);
            if self.warned.insert((t_obs, Some(model.version))) {
                tracing::warn!(
                    window = t_obs,
                    model_version = model.version,
                    cid = %p.cid,
                    missing,
                    "parameters lack a feature of the window's model: predicted as without a model"
                );
            }
            return None;
        };
        let ((w, n), sizes) = model.predict_with_sizes(&x, n_obs, p.g1, p.n_star);
        Some(match sizes {
            Some(s) => {
                let n = match self.cfg.point {
                    Point::AreOptimal => s.are_optimal,
                    Point::Median => s.median,
                };
                (model.w_for(n, n_obs, p.g1, p.n_star), n, Some(s))
            }
            None => (w, n, None),
        })
    }

    /// Both halves are in: score the prediction, teach the learner, forget
    /// the entry but remember the key.
    pub(super) fn complete(&mut self, key: &Key, out: &mut Vec<Message>) {
        let Some(
            entry @ Pending {
                predicted: Some(_),
                size: Some(_),
                ..
            },
        ) = self.remove(key)
        else {
            return;
        };
        let (Some((pred, origin)), Some((n_tot, _))) = (&entry.predicted, entry.size) else {
            return;
        };
        let (cid, t_obs) = (key.0.clone(), key.1);
        let p = &pred.params;
        // A size is at least the first tweet; guard the division anyway.
        let truth = (n_tot as f64).max(1.0);
        self.stats.stats += 1;
        out.push(Message::Stat(StatMsg {
            kind: "stat".into(),
            cid: cid.clone(),
            t_obs,
            are: (pred.n_pred - truth).abs() / truth,
            are_hawkes: Some((pred.n_hawkes - truth).abs() / truth).filter(|a| a.is_finite()),
        }));
        if p.g1 <= 0.0 {
            self.stats.samples_skipped_g1_zero += 1;
            self.stats.samples_not_sent += 1;
            tracing::debug!(cid = %cid, window = t_obs, reason = "G1 = 0: W is undefined", "no sample");
        } else if let Some((names, x)) = self.sample_features(p, t_obs) {
            self.stats.samples += 1;
            out.push(Message::Sample(SampleMsg {
                kind: "sample".into(),
                cid: cid.clone(),
                t_obs,
                x,
                w: (n_tot as f64 - p.n_obs as f64) * (1.0 - p.n_star) / p.g1,
                features: names,
                n_obs: Some(p.n_obs),
                n_tot: Some(n_tot),
                n_hawkes: Some(pred.n_hawkes),
            }));
        } else {
            self.stats.features_missing += 1;
            self.stats.samples_not_sent += 1;
            tracing::warn!(
                cid = %cid,
                window = t_obs,
                reason = "not even the course features are finite",
                "no sample"
            );
        }
        let partition = origin.partition;
        self.remember(key, &entry, partition);
    }

    /// The sample's feature names and values: the configured features when
    /// the message carries them all, else the course's `[beta, n_star, G1]`
    /// (counted, and logged once per window), which every message has.
    pub(super) fn sample_features(
        &mut self,
        p: &ParametersMsg,
        t_obs: Window,
    ) -> Option<(Vec<String>, Vec<f64>)> {
        if let Some(x) = features::vector(p, &self.cfg.features) {
            return Some((self.cfg.features.clone(), x));
        }
        let x = features::vector(p, features::COURSE)?;
        self.stats.samples_course_features += 1;
        if self.warned.insert((t_obs, None)) {
            tracing::warn!(
                window = t_obs,
                cid = %p.cid,
                missing = first_missing(p, &self.cfg.features),
                "parameters lack a configured feature (a course estimator's?): samples of this window fall back to the course features"
            );
        }
        Some((features::COURSE.iter().map(|s| s.to_string()).collect(), x))
    }

    pub(super) fn on_model(&mut self, m: ModelMsg) -> Result<(), StageError> {
        // A feature no message can give would silently leave the window
        // at w = 1: refuse such a model loudly instead.
        if let Some(bad) = m
            .features
            .iter()
            .find(|f| !features::KNOWN.contains(&f.as_str()))
        {
            self.stats.models_rejected += 1;
            return Err(StageError::Invalid(format!(
                "model v{} for window {} names feature `{bad}`, which this predictor cannot build; known: {}",
                m.version,
                m.t_obs,
                features::KNOWN.join(", ")
            )));
        }
        let mut model = Correction::from_msg(&m).map_err(|e| {
            self.stats.models_rejected += 1;
            StageError::Invalid(format!("model v{} for window {}: {e}", m.version, m.t_obs))
        })?;
        if self
            .model_version(m.t_obs)
            .is_some_and(|v| v >= model.version)
        {
            self.stats.models_rejected += 1;
            return Ok(());
        }
        model.w_max = self.cfg.w_max;
        self.stats.models_loaded += 1;
        tracing::info!(
            window = m.t_obs,
            version = model.version,
            samples = model.n_samples,
            replaced = self.model_version(m.t_obs),
            "model in use"
        );
        self.models.insert(m.t_obs, model);
        Ok(())
    }
}

/// The first of `names` that `p` cannot provide, for the log.
fn first_missing<'a, S: AsRef<str>>(p: &ParametersMsg, names: &'a [S]) -> &'a str {
    names
        .iter()
        .map(AsRef::as_ref)
        .find(|n| features::value(p, n).is_none())
        .unwrap_or("")
}
