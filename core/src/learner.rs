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

use std::collections::{BTreeMap, VecDeque};

use crate::hashing::FastSet;

use crate::features;
use crate::model::{Correction, ForestConfig, Target};
use crate::schema::{Message, SampleMsg, Topic, Window};
use crate::stage::{Ctx, Origin, Stage, StageError, StageReport};

#[derive(Debug, Clone, PartialEq)]
pub struct LearnerConfig {
    /// Feature names a usable sample must carry, in this order.
    pub features: Vec<String>,
    pub target: Target,
    /// Samples in a window's set before its first model.
    pub min_samples: usize,
    /// Retrain when the samples received since the last model reach this
    /// fraction of the set the last model was trained on...
    pub retrain_growth: f64,
    /// ...and at least this many.
    pub min_retrain: usize,
    /// The most recent samples kept per window.
    pub max_samples: usize,
    pub forest: ForestConfig,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            features: features::DEFAULT.iter().map(|s| s.to_string()).collect(),
            target: Target::LogGrowth,
            min_samples: 100,
            retrain_growth: 0.5,
            min_retrain: 50,
            max_samples: 5000,
            forest: ForestConfig::default(),
        }
    }
}

/// Counters since start, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnerStats {
    /// Samples added to a training set.
    pub samples: u64,
    /// Samples with other features than configured, or without what the
    /// target needs (LogGrowth: n_obs and n_tot).
    pub samples_rejected: u64,
    /// Samples whose (cid, T_obs) is already in the training set.
    pub duplicates: u64,
    pub models_trained: u64,
    pub train_errors: u64,
    /// Models trained but not published: the `models` topic already held
    /// one for their window with more samples or a newer version.
    pub models_withheld: u64,
}

/// A sample as the forest sees it, with where it came from.
#[derive(Debug)]
struct Row {
    cid: String,
    x: Vec<f64>,
    y: f64,
    origin: Origin,
}

/// One window's training set and schedule.
#[derive(Debug, Default)]
struct TrainingSet {
    rows: VecDeque<Row>,
    cids: FastSet<String>,
    /// Samples added since the start.
    added: u64,
    /// `added` and the set's size at the last training attempt, if any.
    last_attempt: Option<(u64, usize)>,
    version: u64,
}

/// The learner stage. See the module documentation.
#[derive(Debug)]
pub struct Learner {
    cfg: LearnerConfig,
    stats: LearnerStats,
    sets: BTreeMap<Window, TrainingSet>,
    /// Per window, the newest model on the `models` topic (read at start
    /// and while running): (version, samples). A restarted learner, whose
    /// replay holds fewer samples, does not supersede it.
    published: BTreeMap<Window, (u64, u64)>,
}

impl Learner {
    pub fn new(cfg: LearnerConfig) -> Self {
        Self {
            cfg,
            stats: LearnerStats::default(),
            sets: BTreeMap::new(),
            published: BTreeMap::new(),
        }
    }

    pub fn stats(&self) -> &LearnerStats {
        &self.stats
    }

    /// The windows with a training set.
    pub fn windows(&self) -> impl Iterator<Item = Window> + '_ {
        self.sets.keys().copied()
    }

    /// Samples in `window`'s training set.
    pub fn samples(&self, window: Window) -> usize {
        self.sets.get(&window).map_or(0, |s| s.rows.len())
    }

    /// The features and label of a sample this learner can use.
    fn usable(&self, s: &SampleMsg) -> Option<(Vec<f64>, f64)> {
        let names_match = if s.features.is_empty() {
            // Course samples carry no names: only their length can be checked.
            self.cfg
                .features
                .iter()
                .map(String::as_str)
                .eq(features::COURSE.iter().copied())
        } else {
            s.features == self.cfg.features
        };
        if !names_match
            || s.x.len() != self.cfg.features.len()
            || s.x.iter().any(|v| !v.is_finite())
        {
            return None;
        }
        Some((s.x.clone(), self.cfg.target.label(s)?))
    }

    /// Whether `set` is due a (re)training under the schedule.
    fn due(&self, set: &TrainingSet) -> bool {
        if set.rows.len() < self.cfg.min_samples.max(1) {
            return false;
        }
        match set.last_attempt {
            None => true,
            Some((added, len)) => {
                let new = set.added - added;
                new >= self.cfg.min_retrain as u64
                    && new as f64 >= self.cfg.retrain_growth * len as f64
            }
        }
    }

    /// A model read on `models`: the newest version of each window is the
    /// floor of what this learner publishes for it.
    fn on_model(&mut self, window: Window, version: u64, samples: u64) {
        let newest = self.published.entry(window).or_insert((version, samples));
        if version >= newest.0 {
            *newest = (version, samples);
        }
    }

    fn train(&mut self, window: Window, now: f64, out: &mut Vec<Message>) {
        let Some(set) = self.sets.get_mut(&window) else {
            return;
        };
        set.last_attempt = Some((set.added, set.rows.len()));
        // A restarted learner replays fewer samples than the model it
        // published before: that model stays until this one has as many.
        let published = self.published.get(&window).copied();
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
        // published one, so a new model supersedes what the topic holds.
        let version = (set.version + 1)
            .max((now * 1000.0) as u64)
            .max(published.map_or(0, |(v, _)| v + 1));
        let xs: Vec<Vec<f64>> = set.rows.iter().map(|r| r.x.clone()).collect();
        let ys: Vec<f64> = set.rows.iter().map(|r| r.y).collect();
        let forest = ForestConfig {
            seed: self.cfg.forest.seed ^ u64::from(window) ^ version,
            ..self.cfg.forest.clone()
        };
        match Correction::train(
            window,
            version,
            self.cfg.features.clone(),
            self.cfg.target,
            &xs,
            &ys,
            &forest,
        ) {
            Ok(model) => {
                set.version = version;
                self.stats.models_trained += 1;
                tracing::debug!(window, version, samples = xs.len(), "model trained");
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
                self.on_model(m.t_obs, m.version, m.n_samples);
                return Ok(());
            }
            other => {
                return Err(StageError::UnexpectedTopic {
                    stage: "learner",
                    topic: other.topic(),
                });
            }
        };
        let Some((x, y)) = self.usable(&s) else {
            self.stats.samples_rejected += 1;
            return Ok(());
        };
        let max = self.cfg.max_samples.max(1);
        let set = self.sets.entry(s.t_obs).or_default();
        if set.cids.contains(&s.cid) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        set.cids.insert(s.cid.clone());
        set.rows.push_back(Row {
            cid: s.cid,
            x,
            y,
            origin: ctx.origin,
        });
        set.added += 1;
        while set.rows.len() > max {
            if let Some(old) = set.rows.pop_front() {
                set.cids.remove(&old.cid);
            }
        }
        self.stats.samples += 1;
        if self.sets.get(&s.t_obs).is_some_and(|set| self.due(set)) {
            self.train(s.t_obs, ctx.now, out);
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
        // Rows are in arrival order, so offsets of one partition increase
        // along a set: its first row from `partition` is its oldest.
        self.sets
            .values()
            .filter_map(|set| {
                set.rows
                    .iter()
                    .find(|r| r.origin.partition == partition)
                    .map(|r| r.origin.offset)
            })
            .min()
    }

    fn observe(&self, r: &mut dyn StageReport) {
        let s = self.stats();
        r.counter(
            "samples_rejected",
            "Samples with other features than configured, refused",
            &[],
            s.samples_rejected,
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
            set.rows
                .retain(|r| !partitions.contains(&r.origin.partition));
            set.cids = set.rows.iter().map(|r| r.cid.clone()).collect();
        }
    }
}

#[cfg(test)]
#[path = "learner_tests.rs"]
mod tests;
