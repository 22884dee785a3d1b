//! The predictor (SPEC §6): joins a cascade's fitted parameters with its
//! final size, per (cid, T_obs).
//!
//! Parameters give an alert at once (the whole point is to predict before
//! the cascade ends); when the size arrives too, the pair gives a stat (how
//! wrong the alert was) and a training sample for the learner. Both halves
//! may come in either order and more than once, so completed keys are
//! remembered for a while to drop duplicates, and unmatched halves expire.
//!
//! Laid out by concept:
//! - this file: the configuration, the counters, the [`Predictor`] itself;
//! - `stage`: its [`crate::stage::Stage`] impl (dispatch, expiry tick,
//!   retained offsets, revocation, the counters it reports);
//! - `state`: what is held per (cid, T_obs);
//! - `done`: the completed keys, bounded by time and count;
//! - `pending`: the per-(cid, T_obs, run) state waiting for its other
//!   half, duplicate detection, the hold and release of offsets, failed
//!   fits and the size half;
//! - `orphans`: sizes whose parameters can no longer come, and the
//!   evidence (two fits in order, never one record) that says so;
//! - `carried`: models of an earlier run, read from a file, that predict a
//!   window until its first model (the cold start);
//! - `predict`: the parameters half (alert), the model's prediction, the
//!   stat and training sample of a completed pair, and model loading.

mod carried;
mod done;
mod orphans;
mod pending;
mod predict;
mod stage;
mod state;

use std::collections::{BTreeMap, VecDeque};

use crate::hashing::{FastMap, FastSet};

use crate::features;
use crate::hawkes::MarkLaw;
use crate::model::{Correction, DEFAULT_W_MAX};
use crate::schema::Window;

pub use carried::read_models;
use done::DoneKeys;
use state::{Evidence, Key, Pending, Run, Stream};

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

/// What an alert says before its window's first model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColdStart {
    /// The Hawkes size, w = 1 (SPEC §5), except for near-critical fits
    /// ([`PredictorConfig::near_critical`]): their first generation.
    #[default]
    Hawkes,
    /// The first generation, N = n_obs + G1 (w = 1 - n*), for every fit.
    FirstGeneration,
}

/// How many completed keys the predictor remembers by default (as the
/// estimator: [`crate::dedupe::SEEN_CAPACITY`]).
pub const DONE_CAPACITY: usize = crate::dedupe::SEEN_CAPACITY;

#[derive(Debug, Clone, PartialEq)]
pub struct PredictorConfig {
    /// Features of the samples sent to the learner, in order. Predictions
    /// use whatever features the window's model names.
    pub features: Vec<String>,
    /// Seconds an unmatched half (parameters or size) waits for the other.
    pub state_ttl: f64,
    /// Seconds a completed key is remembered to drop redelivered halves.
    pub done_ttl: f64,
    /// The most completed keys remembered, the oldest forgotten first.
    pub done_capacity: usize,
    /// Bound on the reported correction w.
    pub w_max: f64,
    /// Without a model, a fit whose n* reaches this is predicted by its
    /// first generation only, N = n_obs + G1 (w = 1 - n*): its w = 1
    /// prediction grows as 1 / (1 - n*) and means nothing. It is counted,
    /// and becomes a training sample as any other.
    pub near_critical: f64,
    /// What an alert says before the window's first model.
    pub cold_start: ColdStart,
    /// Models of an earlier run (see [`read_models`]): a window's
    /// predictions use its carried-over model until its first model of
    /// this run arrives, and say so (`cold_start`). Empty: none.
    pub carried: Vec<crate::schema::ModelMsg>,
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
            near_critical: crate::hawkes::NEAR_CRITICAL,
            cold_start: ColdStart::default(),
            carried: Vec::new(),
            done_ttl: 7.0 * 86_400.0,
            done_capacity: DONE_CAPACITY,
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
    /// Sizes dropped because a later fit of their window and tweets
    /// partition came first: their parameters never will (see
    /// [`crate::schema::Lineage`]).
    pub orphan_sizes: u64,
    /// Fits decided before the previous fit of their (tweets partition,
    /// window): a restarted collector replaying, or a forged lineage
    /// (whose claim is then dropped, see `orphans`).
    pub lineage_regressions: u64,
    pub models_loaded: u64,
    pub models_rejected: u64,
    /// A feature vector could not be built: for a window's model (the
    /// prediction used w = 1) or for a sample (it was not sent).
    pub features_missing: u64,
    /// Near-critical fits predicted by their first generation because no
    /// model existed yet (see [`PredictorConfig::near_critical`]); with
    /// [`ColdStart::FirstGeneration`], none: every such fit is.
    pub near_critical: u64,
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

/// Help of the predictor's `expired_halves`, one series per outcome.
const EXPIRED_HALVES: &str =
    "Halves dropped unmatched: after the state TTL, or sizes whose parameters can no longer come";

/// The predictor stage. See the module documentation.
#[derive(Debug)]
pub struct Predictor {
    cfg: PredictorConfig,
    stats: PredictorStats,
    models: FastMap<Window, Correction>,
    /// Carried-over models (see `carried`), used while `models` has none.
    carried: FastMap<Window, Correction>,
    pending: FastMap<Key, Pending>,
    /// The runs pending per (cid, T_obs), to pair a half without lineage
    /// with one that has it (see `pending`).
    runs: FastMap<(String, Window), Vec<Option<Run>>>,
    /// Pending entries by creation time, oldest first (times come from a
    /// clock that never goes back, so the queue stays sorted): expiry pops
    /// from the front, O(expired) per tick.
    pending_queue: VecDeque<(f64, u64, Key)>,
    /// Completed keys: when, on which partition, and of which run (a new
    /// run of the same data set is not a duplicate).
    done: DoneKeys,
    /// Per (tweets partition, window): how far its parameters and failed
    /// records have gone, and the `cascade_properties` partition they came
    /// on.
    decided: FastMap<Stream, Evidence>,
    /// Per (tweets partition, window): sizes waiting for their parameters,
    /// by their `decided`, so that `orphans::passed` finds the orphans.
    waiting: FastMap<Stream, std::collections::BTreeSet<(i64, Key)>>,
    /// Offsets of the held halves per partition, as a multiset: the smallest
    /// is what the driver may not commit past.
    held: FastMap<i32, BTreeMap<i64, u32>>,
    clock: f64,
    seq: u64,
    /// Windows (and model versions) whose missing features were already
    /// logged at warn level: one warning each, the counters say how many.
    /// `None`: the samples' fallback; `Some(v)`: model version v.
    warned: FastSet<(Window, Option<u64>)>,
}

impl Predictor {
    pub fn new(cfg: PredictorConfig) -> Self {
        let done = DoneKeys::new(cfg.done_ttl, cfg.done_capacity);
        let mut predictor = Self {
            cfg,
            stats: PredictorStats::default(),
            models: FastMap::default(),
            carried: FastMap::default(),
            pending: FastMap::default(),
            runs: FastMap::default(),
            pending_queue: VecDeque::new(),
            done,
            decided: FastMap::default(),
            waiting: FastMap::default(),
            held: FastMap::default(),
            clock: f64::NEG_INFINITY,
            seq: 0,
            warned: FastSet::default(),
        };
        predictor.carry_over();
        predictor
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
}

#[cfg(test)]
mod carried_tests;
#[cfg(test)]
mod cold_tests;
#[cfg(test)]
mod lineage_tests;
#[cfg(test)]
mod tests;
