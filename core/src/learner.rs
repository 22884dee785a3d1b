//! The learner (SPEC §6): one training set per window, a random forest
//! retrained as samples accumulate, published on `models`.
//!
//! Training is synchronous in `handle`: a model is due only every so many
//! samples (a fraction of the training set, see [`LearnerConfig`]), so the
//! cost is amortised, and the stage stays a pure state machine. The
//! training set is a sliding window of the most recent samples, so the
//! model follows drift and its size stays bounded; its oldest sample's
//! offset is what the driver may commit, so a restarted learner rebuilds the
//! same set by replay.
//!
//! Course samples (the course features, see [`samples`]) train a course
//! set per window when the learner is configured with other features, as
//! the predictor falls back to them; that set's model is published only
//! while the window has none of the configured features. A sample it
//! cannot use is refused with its reason (dead-lettered by the driver),
//! logged once per window.
//!
//! Samples written by a course predictor (unnamed `X`) mean a course
//! predictor reads `models`: it `pickle.loads` each record and crashes on
//! our JSON envelope, and producing a scikit-learn pickle from Rust is not
//! realistic. So no model is published for a window holding such samples
//! unless [`LearnerConfig::publish_to_course_predictors`] says the models
//! topic is read by Rust predictors only; the learner says so in an error
//! log line once.

use std::collections::BTreeMap;

use crate::hashing::FastSet;

use crate::features;
use crate::model::{Correction, ForestConfig};
use crate::schema::{Message, ModelMsg, Topic, Window};
use crate::stage::{Ctx, Stage, StageError, StageReport};

#[path = "learner_config.rs"]
mod config;
#[path = "learner_samples.rs"]
pub mod samples;
#[path = "learner_set.rs"]
mod set;

pub use config::{LearnerConfig, LearnerStats};
use samples::Kind;
use set::TrainingSet;

/// The learner stage. See the module documentation.
#[derive(Debug)]
pub struct Learner {
    cfg: LearnerConfig,
    stats: LearnerStats,
    sets: BTreeMap<(Window, Kind), TrainingSet>,
    /// Per window and kind, the newest model on the `models` topic (read
    /// at start and while running): (version, samples). A restarted
    /// learner, whose replay holds fewer samples, does not supersede it.
    published: BTreeMap<(Window, Kind), (u64, u64)>,
    /// Windows whose unusable samples were logged, and whether the course
    /// predictor's models were.
    warned: FastSet<Window>,
    warned_course_predictor: bool,
}

impl Learner {
    pub fn new(cfg: LearnerConfig) -> Self {
        Self {
            cfg,
            stats: LearnerStats::default(),
            sets: BTreeMap::new(),
            published: BTreeMap::new(),
            warned: FastSet::default(),
            warned_course_predictor: false,
        }
    }

    pub fn stats(&self) -> &LearnerStats {
        &self.stats
    }

    /// The windows with a training set.
    pub fn windows(&self) -> impl Iterator<Item = Window> + '_ {
        let mut windows: Vec<Window> = self.sets.keys().map(|&(w, _)| w).collect();
        windows.dedup();
        windows.into_iter()
    }

    /// Samples in `window`'s training sets (configured and course).
    pub fn samples(&self, window: Window) -> usize {
        self.sets
            .range((window, Kind::Configured)..=(window, Kind::Course))
            .map(|(_, s)| s.rows.len())
            .sum()
    }

    /// The kind of set a model on the topic stands for: the course one
    /// only when it names the course features and this learner is
    /// configured with others.
    fn kind_of(&self, m: &ModelMsg) -> Kind {
        let course = m
            .features
            .iter()
            .map(String::as_str)
            .eq(features::COURSE.iter().copied());
        if course && m.features != self.cfg.features {
            Kind::Course
        } else {
            Kind::Configured
        }
    }

    /// Whether the window's configured features have a model (published
    /// or trained here): its course set then stays unpublished, so the
    /// two never take turns on the window's compacted record.
    fn configured_model(&self, window: Window) -> bool {
        let key = (window, Kind::Configured);
        self.published.contains_key(&key) || self.sets.get(&key).is_some_and(|s| s.version > 0)
    }

    /// A model read on `models`: the newest version of each window is the
    /// floor of what this learner publishes for it.
    fn on_model(&mut self, key: (Window, Kind), version: u64, samples: u64) {
        let newest = self.published.entry(key).or_insert((version, samples));
        if version >= newest.0 {
            *newest = (version, samples);
        }
    }

    /// Whether the set of `key` may publish: not for a course predictor
    /// unless told, not a course model over the configured one.
    fn may_publish(&mut self, key: (Window, Kind)) -> bool {
        let Some(set) = self.sets.get_mut(&key) else {
            return false;
        };
        if set.from_course_predictor && !self.cfg.publish_to_course_predictors {
            set.last_attempt = Some((set.added, set.rows.len()));
            self.stats.models_withheld_course_predictor += 1;
            if !self.warned_course_predictor {
                self.warned_course_predictor = true;
                tracing::error!(
                    window = key.0,
                    "samples from a course predictor (X without feature names): it reads the models \
                     topic with pickle.loads and would crash on this learner's JSON models, so none \
                     is published for its windows; if only Rust predictors read the models topic, \
                     pass --publish-to-course-predictors"
                );
            }
            return false;
        }
        key.1 == Kind::Configured || !self.configured_model(key.0)
    }

    fn train(&mut self, key: (Window, Kind), now: f64, out: &mut Vec<Message>) {
        if !self.may_publish(key) {
            return;
        }
        let window = key.0;
        let Some(set) = self.sets.get_mut(&key) else {
            return;
        };
        set.last_attempt = Some((set.added, set.rows.len()));
        // A restarted learner replays fewer samples than the model it
        // published before: that model stays until this one has as many.
        let published = self.published.get(&key).copied();
        // (No more than its own cap asks: a model from a learner allowed
        // more samples does not silence this one for good.)
        let cap = self.cfg.max_samples.max(1) as u64;
        if let Some((v, n)) = published
            && (set.rows.len() as u64) < n.min(cap)
        {
            self.stats.models_withheld += 1;
            tracing::debug!(
                window,
                samples = set.rows.len(),
                published_samples = n,
                published_version = v,
                "model withheld: the published one has more samples"
            );
            return;
        }
        // Versions follow the clock (milliseconds of `now`) and pass the
        // published ones (of either kind: they share the window's record),
        // so a new model supersedes what the topic holds.
        let newest = self
            .published
            .range((window, Kind::Configured)..=(window, Kind::Course))
            .map(|(_, &(v, _))| v + 1)
            .max()
            .unwrap_or(0);
        let version = (set.version + 1).max((now * 1000.0) as u64).max(newest);
        let xs: Vec<Vec<f64>> = set.rows.iter().map(|r| r.x.clone()).collect();
        let ys: Vec<f64> = set.rows.iter().map(|r| r.y).collect();
        let forest = ForestConfig {
            seed: self.cfg.forest.seed ^ u64::from(window) ^ version,
            ..self.cfg.forest.clone()
        };
        let (names, target) = samples::schema(key.1, &self.cfg.features, self.cfg.target);
        match Correction::train(
            window,
            version,
            names.into_iter().map(str::to_owned).collect(),
            target,
            &xs,
            &ys,
            &forest,
        ) {
            Ok(model) => {
                set.version = version;
                self.stats.models_trained += 1;
                // At INFO: a model is rare (one per window per retrain)
                // and the one event that changes every later prediction.
                tracing::info!(
                    window,
                    version,
                    samples = xs.len(),
                    target = %model.target,
                    oob_error = model.oob_error,
                    "model published"
                );
                out.push(Message::Model(model.to_msg()));
            }
            Err(error) => {
                // Not retried before the next scheduled attempt: a
                // configuration error would otherwise cost a fit per sample.
                self.stats.train_errors += 1;
                tracing::warn!(window, version, %error, "training failed");
            }
        }
    }
}

impl Stage for Learner {
    fn name(&self) -> &'static str {
        "learner"
    }

    /// `models` too: what is published there (by this learner, another
    /// replica or an earlier run) is the floor of what it publishes.
    fn inputs(&self) -> &'static [Topic] {
        &[Topic::Samples, Topic::Models]
    }

    fn outputs(&self) -> &'static [Topic] {
        &[Topic::Models]
    }

    /// What `models` holds (from before a restart too) bounds what it
    /// publishes: read it whole first.
    fn preload(&self) -> &'static [Topic] {
        &[Topic::Models]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        let s = match msg {
            Message::Sample(s) => s,
            Message::Model(m) => {
                self.on_model((m.t_obs, self.kind_of(&m)), m.version, m.n_samples);
                return Ok(());
            }
            other => {
                return Err(StageError::UnexpectedTopic {
                    stage: "learner",
                    topic: other.topic(),
                });
            }
        };
        let usable = match samples::classify(&s, &self.cfg.features, self.cfg.target) {
            Ok(usable) => usable,
            Err(why) => {
                self.stats.samples_rejected += 1;
                if self.warned.insert(s.t_obs) {
                    tracing::warn!(
                        window = s.t_obs,
                        cid = %s.cid,
                        partition = ctx.origin.partition,
                        offset = ctx.origin.offset,
                        reason = why.reason,
                        "sample refused (dead-lettered; further ones of this window only counted in samples_rejected)"
                    );
                }
                return Err(StageError::Unusable(format!(
                    "sample of cascade {} (window {}): {}",
                    s.cid, s.t_obs, why.reason
                )));
            }
        };
        let key = (s.t_obs, usable.kind);
        let set = self.sets.entry(key).or_default();
        if !set.add(s.cid, usable.x, usable.y, ctx.origin, self.cfg.max_samples) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        set.from_course_predictor |= usable.from_course_predictor;
        if usable.kind == Kind::Course {
            self.stats.samples_course_features += 1;
        }
        self.stats.samples += 1;
        if self.sets.get(&key).is_some_and(|set| set.due(&self.cfg)) {
            self.train(key, ctx.now, out);
        }
        Ok(())
    }

    fn retained_offset(&self, topic: Topic, partition: i32) -> Option<i64> {
        // The floor of what it publishes depends on every model on the
        // (compacted, small) topic: never committed past its start, so a
        // replica taking a partition over, or a restart, reads it whole.
        if topic == Topic::Models {
            return Some(0);
        }
        if topic != Topic::Samples {
            return None;
        }
        self.sets
            .values()
            .filter_map(|set| set.oldest(partition))
            .min()
    }

    fn observe(&self, r: &mut dyn StageReport) {
        let s = self.stats();
        r.counter(
            "samples_rejected",
            "Samples it cannot use, dead-lettered with the reason",
            &[],
            s.samples_rejected,
        );
        r.counter(
            "samples_course_features",
            "Samples with the course features, trained in a window's course set",
            &[],
            s.samples_course_features,
        );
        r.counter(
            "models_withheld_course_predictor",
            "Trainings skipped: samples of a course predictor, which cannot load our models",
            &[],
            s.models_withheld_course_predictor,
        );
        r.counter(
            "duplicate_samples",
            "Samples already in the training set",
            &[],
            s.duplicates,
        );
        r.counter(
            "models_trained",
            "Models trained and published",
            &[],
            s.models_trained,
        );
        r.counter("train_errors", "Trainings that failed", &[], s.train_errors);
        r.counter(
            "models_withheld",
            "Trainings not published: the models topic holds one with more samples for the window",
            &[],
            s.models_withheld,
        );
        for window in self.windows() {
            r.gauge(
                "training_set_size",
                "Samples in the training set, per window",
                &[("window", &window.to_string())],
                self.samples(window) as f64,
            );
        }
    }

    fn revoke(&mut self, topic: Topic, partitions: &[i32]) {
        if topic != Topic::Samples {
            return;
        }
        for set in self.sets.values_mut() {
            set.revoke(partitions);
        }
    }
}

#[cfg(test)]
#[path = "learner_tests.rs"]
mod tests;
