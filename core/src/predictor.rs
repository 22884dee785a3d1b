//! The predictor (SPEC §6): joins a cascade's fitted parameters with its
//! final size, per (cid, T_obs).
//!
//! Parameters give an alert at once (the whole point is to predict before
//! the cascade ends); when the size arrives too, the pair gives a stat (how
//! wrong the alert was) and a training sample for the learner. Both halves
//! may come in either order and more than once, so completed keys are
//! remembered for a while to drop duplicates, and unmatched halves expire.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::features;
use crate::hawkes::{MarkLaw, final_size};
use crate::model::{Correction, DEFAULT_W_MAX, Sizes};
use crate::schema::{
    AlertMsg, Decoder, FailedMsg, Message, ModelMsg, ParametersMsg, PropertiesMsg, SampleMsg,
    SizeMsg, StatMsg, Topic, Window,
};
use crate::stage::{Ctx, Origin, Stage, StageError};

/// Which number of a calibrated model's predictive distribution an alert
/// reports as `n_tot` (the other is in `n_tot_median` or implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Point {
    /// The size that minimises the expected ARE (see
    /// [`crate::model::calibration`]): below the median.
    #[default]
    AreOptimal,
    /// The median of the predictive distribution.
    Median,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PredictorConfig {
    /// Features of the samples sent to the learner, in order. Predictions
    /// use whatever features the window's model names.
    pub features: Vec<String>,
    /// Seconds an unmatched half (parameters or size) waits for the other.
    pub state_ttl: f64,
    /// Seconds a completed key is remembered to drop redelivered halves.
    pub done_ttl: f64,
    /// Bound on the reported correction w.
    pub w_max: f64,
    /// Without a model, a fit whose n* reaches this gets no alert: its
    /// w = 1 prediction grows as 1 / (1 - n*) and means nothing. It is
    /// counted as failed, and still becomes a training sample.
    pub near_critical: f64,
    /// Magnitude law that completes 2020-edition parameters (n*, G1).
    pub marks: MarkLaw,
    /// What `n_tot` is when the window's model is calibrated.
    pub point: Point,
    /// The configured windows: a half for another window is refused (it
    /// would wait for a partner that never comes). Empty: any window.
    pub windows: Vec<Window>,
}

impl Default for PredictorConfig {
    fn default() -> Self {
        Self {
            features: features::DEFAULT.iter().map(|s| s.to_string()).collect(),
            state_ttl: 7.0 * 86_400.0,
            near_critical: crate::estimator::NEAR_CRITICAL,
            done_ttl: 7.0 * 86_400.0,
            w_max: DEFAULT_W_MAX,
            marks: MarkLaw::COURSE,
            point: Point::default(),
            windows: Vec::new(),
        }
    }
}

/// Counters since start, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PredictorStats {
    /// Parameters messages handled, duplicates included.
    pub parameters: u64,
    /// Size messages handled, duplicates included.
    pub sizes: u64,
    /// Halves dropped because their key was complete or already held one.
    pub duplicates: u64,
    pub alerts: u64,
    pub stats: u64,
    pub samples: u64,
    /// Completed cascades with G1 = 0, whose W is undefined.
    pub samples_skipped_g1_zero: u64,
    /// Parameters whose size never came within `state_ttl`.
    pub expired_parameters: u64,
    /// Sizes whose parameters never came within `state_ttl`.
    pub expired_sizes: u64,
    pub models_loaded: u64,
    pub models_rejected: u64,
    /// A feature vector could not be built: for a window's model (the
    /// prediction used w = 1) or for a sample (it was not sent).
    pub features_missing: u64,
    /// Near-critical fits left unpredicted because no model existed yet.
    pub failed: u64,
    /// Samples sent with the course features `[beta, n_star, G1]` because
    /// the message lacked a configured one (parameters from a course
    /// estimator carry no `features` map).
    pub samples_course_features: u64,
    /// Completed pairs that gave no sample (G1 = 0, or not even the course
    /// features could be built); each is logged with its reason.
    pub samples_not_sent: u64,
    /// Fits the estimator reported failed (`"type":"failed"`).
    pub failed_fits: u64,
}

type Key = (String, Window);

/// What the parameters half leaves behind: the prediction, for the stat.
#[derive(Debug)]
struct Predicted {
    params: ParametersMsg,
    /// None: no alert was sent (near-critical fit without a model).
    n_pred: Option<f64>,
    n_hawkes: f64,
}

/// One (cid, T_obs) waiting for its other half.
#[derive(Debug, Default)]
struct Pending {
    predicted: Option<(Predicted, Origin)>,
    size: Option<(u64, Origin)>,
    /// The estimator reported the fit failed: the size completes the key
    /// without a stat or sample.
    failed: Option<Origin>,
    /// Identifies this entry in the expiry queue (a key may be re-created
    /// after expiry; an older queue item must not expire the new entry).
    seq: u64,
}

/// The predictor stage. See the module documentation.
#[derive(Debug)]
pub struct Predictor {
    cfg: PredictorConfig,
    stats: PredictorStats,
    models: HashMap<Window, Correction>,
    pending: HashMap<Key, Pending>,
    /// Pending entries by creation time, oldest first (times come from a
    /// clock that never goes back, so the queue stays sorted): expiry pops
    /// from the front, O(expired) per tick.
    pending_queue: VecDeque<(f64, u64, Key)>,
    done: HashMap<Key, (f64, i32)>,
    done_queue: VecDeque<(f64, Key)>,
    /// Offsets of the held halves per partition, as a multiset: the smallest
    /// is what the driver may not commit past.
    held: HashMap<i32, BTreeMap<i64, u32>>,
    clock: f64,
    seq: u64,
    /// Windows (and model versions) whose missing features were already
    /// logged at warn level: one warning each, the counters say how many.
    /// `None`: the samples' fallback; `Some(v)`: model version v.
    warned: HashSet<(Window, Option<u64>)>,
}

impl Predictor {
    pub fn new(cfg: PredictorConfig) -> Self {
        Self {
            cfg,
            stats: PredictorStats::default(),
            models: HashMap::new(),
            pending: HashMap::new(),
            pending_queue: VecDeque::new(),
            done: HashMap::new(),
            done_queue: VecDeque::new(),
            held: HashMap::new(),
            clock: f64::NEG_INFINITY,
            seq: 0,
            warned: HashSet::new(),
        }
    }

    pub fn stats(&self) -> &PredictorStats {
        &self.stats
    }

    /// Keys holding one half and waiting for the other.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The version of the model in use for `window`, if any.
    pub fn model_version(&self, window: Window) -> Option<u64> {
        self.models.get(&window).map(|m| m.version)
    }

    /// (window, version) of every model in use.
    pub fn model_versions(&self) -> impl Iterator<Item = (Window, u64)> + '_ {
        self.models.iter().map(|(w, m)| (*w, m.version))
    }

    /// Advances the stage's clock, which never goes back, so that the
    /// expiry queues stay sorted whatever the driver passes.
    fn advance(&mut self, now: f64) -> f64 {
        if now.is_finite() {
            self.clock = self.clock.max(now);
        }
        self.clock
    }

    /// The entry for `key`, created (and queued for expiry) if new.
    fn entry(&mut self, key: &Key) -> &mut Pending {
        if !self.pending.contains_key(key) {
            self.seq += 1;
            self.pending_queue
                .push_back((self.clock, self.seq, key.clone()));
            let seq = self.seq;
            self.pending.insert(
                key.clone(),
                Pending {
                    seq,
                    ..Pending::default()
                },
            );
        }
        self.pending.entry(key.clone()).or_default()
    }

    fn hold(&mut self, origin: Origin) {
        *self
            .held
            .entry(origin.partition)
            .or_default()
            .entry(origin.offset)
            .or_default() += 1;
    }

    fn release(&mut self, origin: Origin) {
        if let Some(offsets) = self.held.get_mut(&origin.partition) {
            if let Some(n) = offsets.get_mut(&origin.offset) {
                *n -= 1;
                if *n == 0 {
                    offsets.remove(&origin.offset);
                }
            }
            if offsets.is_empty() {
                self.held.remove(&origin.partition);
            }
        }
    }

    /// Frees an entry and the offsets it held.
    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let entry = self.pending.remove(key)?;
        if let Some((_, origin)) = &entry.predicted {
            self.release(*origin);
        }
        if let Some((_, origin)) = &entry.size {
            self.release(*origin);
        }
        if let Some(origin) = entry.failed {
            self.release(origin);
        }
        Some(entry)
    }

    fn is_duplicate(&mut self, key: &Key, has_half: impl Fn(&Pending) -> bool) -> bool {
        let dup = self.done.contains_key(key) || self.pending.get(key).is_some_and(has_half);
        if dup {
            self.stats.duplicates += 1;
        }
        dup
    }

    /// Refuses a window the predictor is not configured for.
    fn check_window(&self, cid: &str, t_obs: Window) -> Result<(), StageError> {
        if self.cfg.windows.is_empty() || self.cfg.windows.contains(&t_obs) {
            Ok(())
        } else {
            Err(StageError::Invalid(format!(
                "cascade {cid}: window {t_obs} is not one of the configured windows {:?}",
                self.cfg.windows
            )))
        }
    }

    fn on_failed(&mut self, f: FailedMsg, ctx: Ctx) -> Result<(), StageError> {
        let t_obs = f.t_obs.ok_or_else(|| {
            StageError::Invalid(format!("failed fit of cascade {} without T_obs", f.cid))
        })?;
        self.check_window(&f.cid, t_obs)?;
        let key = (f.cid, t_obs);
        if self.is_duplicate(&key, |e| e.predicted.is_some() || e.failed.is_some()) {
            return Ok(());
        }
        self.mark_failed(&key, ctx);
        Ok(())
    }

    /// Records that `key` will have no prediction, so its size completes
    /// it instead of waiting (and holding the commit) for `state_ttl`.
    fn mark_failed(&mut self, key: &Key, ctx: Ctx) {
        self.stats.failed_fits += 1;
        self.advance(ctx.now);
        self.hold(ctx.origin);
        let entry = self.entry(key);
        entry.failed = Some(ctx.origin);
        if entry.size.is_some() {
            self.close_failed(key);
        }
    }

    /// Refuses parameters that cannot give a prediction (the driver
    /// dead-letters them) and marks the key failed.
    fn refuse(&mut self, key: &Key, ctx: Ctx, reason: String) -> StageError {
        self.mark_failed(key, ctx);
        StageError::Invalid(reason)
    }

    /// A failed fit and its size: nothing to score, forget the entry but
    /// remember the key.
    fn close_failed(&mut self, key: &Key) {
        if let Some(e) = self.remove(key) {
            let partition = e.failed.map_or(-1, |o| o.partition);
            self.done.insert(key.clone(), (self.clock, partition));
            self.done_queue.push_back((self.clock, key.clone()));
        }
    }

    fn on_parameters(
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
        let key = (p.cid.clone(), t_obs);
        if self.is_duplicate(&key, |e| e.predicted.is_some() || e.failed.is_some()) {
            return Ok(());
        }
        if p.n_star.is_nan() || p.n_star >= 1.0 {
            let reason = format!(
                "parameters of cascade {} have n_star {} >= 1: no finite prediction",
                p.cid, p.n_star
            );
            return Err(self.refuse(&key, ctx, reason));
        }
        let n_obs = p.n_obs as f64;
        let n_hawkes = final_size(n_obs, p.g1, p.n_star, 1.0);
        let (w, n_pred, sizes) = self.predict(&p, t_obs, n_hawkes);
        if !n_pred.is_finite() {
            // Values that pass validation can still overflow (G1 = 1e308):
            // an alert would say `"n_tot":null`.
            let reason = format!(
                "parameters of cascade {} give no finite prediction (n_obs {}, G1 {}, n_star {}, w {w})",
                p.cid, p.n_obs, p.g1, p.n_star
            );
            return Err(self.refuse(&key, ctx, reason));
        }
        let unreliable = w == 1.0 && n_pred == n_hawkes && p.n_star >= self.cfg.near_critical;
        let n_pred = if unreliable {
            self.stats.failed += 1;
            tracing::debug!(cid = %p.cid, window = t_obs, n_star = p.n_star, "near-critical fit left unpredicted");
            None
        } else {
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
            }));
            Some(n_pred)
        };
        self.advance(ctx.now);
        self.hold(ctx.origin);
        let predicted = Predicted {
            params: p,
            n_pred,
            n_hawkes,
        };
        let entry = self.entry(&key);
        entry.predicted = Some((predicted, ctx.origin));
        if entry.size.is_some() {
            self.complete(&key, out);
        }
        Ok(())
    }

    /// The correction, the reported size and, with a calibrated model, the
    /// predictive distribution's sizes; w = 1 and the Hawkes size without a
    /// usable model.
    fn predict(
        &mut self,
        p: &ParametersMsg,
        t_obs: Window,
        n_hawkes: f64,
    ) -> (f64, f64, Option<Sizes>) {
        let n_obs = p.n_obs as f64;
        let Some(model) = self.models.get(&t_obs) else {
            return (1.0, n_hawkes, None);
        };
        let Some(x) = features::vector(p, &model.features) else {
            self.stats.features_missing += 1;
            let missing = first_missing(p, &model.features);
            if self.warned.insert((t_obs, Some(model.version))) {
                tracing::warn!(
                    window = t_obs,
                    model_version = model.version,
                    cid = %p.cid,
                    missing,
                    "parameters lack a feature of the window's model: predicted with w = 1"
                );
            }
            return (1.0, n_hawkes, None);
        };
        let (w, n) = model.predict(&x, n_obs, p.g1, p.n_star);
        match model.sizes(&x, n_obs) {
            Some(s) => {
                let n = match self.cfg.point {
                    Point::AreOptimal => s.are_optimal,
                    Point::Median => s.median,
                };
                (model.w_for(n, n_obs, p.g1, p.n_star), n, Some(s))
            }
            None => (w, n, None),
        }
    }

    fn on_size(&mut self, s: SizeMsg, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        self.stats.sizes += 1;
        let t_obs = s.t_obs.ok_or_else(|| {
            StageError::Invalid(format!("size of cascade {} without T_obs", s.cid))
        })?;
        self.check_window(&s.cid, t_obs)?;
        let key = (s.cid, t_obs);
        if self.is_duplicate(&key, |e| e.size.is_some()) {
            return Ok(());
        }
        self.advance(ctx.now);
        self.hold(ctx.origin);
        let entry = self.entry(&key);
        entry.size = Some((s.n_tot, ctx.origin));
        if entry.predicted.is_some() {
            self.complete(&key, out);
        } else if entry.failed.is_some() {
            self.close_failed(&key);
        }
        Ok(())
    }

    /// Both halves are in: score the prediction, teach the learner, forget
    /// the entry but remember the key.
    fn complete(&mut self, key: &Key, out: &mut Vec<Message>) {
        let Some(Pending {
            predicted: Some((pred, origin)),
            size: Some((n_tot, _)),
            ..
        }) = self.remove(key)
        else {
            return;
        };
        let (cid, t_obs) = key.clone();
        let p = &pred.params;
        // A size is at least the first tweet; guard the division anyway.
        let truth = (n_tot as f64).max(1.0);
        if let Some(n_pred) = pred.n_pred {
            self.stats.stats += 1;
            out.push(Message::Stat(StatMsg {
                kind: "stat".into(),
                cid: cid.clone(),
                t_obs,
                are: (n_pred - truth).abs() / truth,
                are_hawkes: Some((pred.n_hawkes - truth).abs() / truth).filter(|a| a.is_finite()),
            }));
        }
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
        self.done
            .insert(key.clone(), (self.clock, origin.partition));
        self.done_queue.push_back((self.clock, key.clone()));
    }

    /// The sample's feature names and values: the configured features when
    /// the message carries them all, else the course's `[beta, n_star, G1]`
    /// (counted, and logged once per window), which every message has.
    fn sample_features(
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

    fn on_model(&mut self, m: ModelMsg) -> Result<(), StageError> {
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

impl Stage for Predictor {
    fn name(&self) -> &'static str {
        "predictor"
    }

    fn decoder(&self) -> Decoder {
        Decoder::new(self.cfg.marks)
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::CascadeProperties, Topic::Models]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        match msg {
            Message::Properties(PropertiesMsg::Parameters(p)) => self.on_parameters(p, ctx, out),
            Message::Properties(PropertiesMsg::Size(s)) => self.on_size(s, ctx, out),
            Message::Properties(PropertiesMsg::Failed(f)) => self.on_failed(f, ctx),
            Message::Model(m) => self.on_model(m),
            other => Err(StageError::UnexpectedTopic {
                stage: "predictor",
                topic: other.topic(),
            }),
        }
    }

    fn tick(&mut self, now: f64, _out: &mut Vec<Message>) {
        let now = self.advance(now);
        while let Some((born, seq, _)) = self.pending_queue.front() {
            if now - born <= self.cfg.state_ttl {
                break;
            }
            let seq = *seq;
            let Some((_, _, key)) = self.pending_queue.pop_front() else {
                break;
            };
            // A completed or revoked key, or one re-created later, is not ours.
            if self.pending.get(&key).is_some_and(|e| e.seq == seq)
                && let Some(e) = self.remove(&key)
            {
                self.stats.expired_parameters += u64::from(e.predicted.is_some());
                self.stats.expired_sizes += u64::from(e.size.is_some());
            }
        }
        while let Some((done_at, _)) = self.done_queue.front() {
            if now - done_at <= self.cfg.done_ttl {
                break;
            }
            if let Some((done_at, key)) = self.done_queue.pop_front()
                && self.done.get(&key).is_some_and(|(t, _)| *t == done_at)
            {
                self.done.remove(&key);
            }
        }
    }

    /// Only `cascade_properties` holds state: models are re-read from the
    /// start of their compacted topic on every start.
    fn retained_offset(&self, topic: Topic, partition: i32) -> Option<i64> {
        if topic != Topic::CascadeProperties {
            return None;
        }
        self.held
            .get(&partition)
            .and_then(|offsets| offsets.keys().next().copied())
    }

    fn observe(&self, report: &mut dyn crate::stage::StageReport) {
        crate::observe::predictor(self, report);
    }

    fn revoke(&mut self, topic: Topic, partitions: &[i32]) {
        if topic != Topic::CascadeProperties {
            return;
        }
        let revoked = |o: &Option<Origin>| o.is_some_and(|o| partitions.contains(&o.partition));
        let keys: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, e)| {
                revoked(&e.predicted.as_ref().map(|(_, o)| *o))
                    || revoked(&e.size.as_ref().map(|(_, o)| *o))
                    || revoked(&e.failed)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.remove(&key);
        }
        self.done.retain(|_, (_, p)| !partitions.contains(p));
    }
}

#[cfg(test)]
#[path = "predictor_tests.rs"]
mod tests;
