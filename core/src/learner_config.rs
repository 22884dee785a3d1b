//! What the learner is told (its schedule, features and forest) and
//! what it counts.

use crate::features;
use crate::model::{ForestConfig, Target};

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
    /// Publish models trained on samples of a course predictor (see the
    /// module documentation): only when Rust predictors alone read the
    /// models topic.
    pub publish_to_course_predictors: bool,
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
            publish_to_course_predictors: false,
        }
    }
}

/// Counters since start, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnerStats {
    /// Samples added to a training set.
    pub samples: u64,
    /// Samples it cannot use (see [`samples::classify`]): refused.
    pub samples_rejected: u64,
    /// Samples taken into a window's course set (course features while
    /// configured with others).
    pub samples_course_features: u64,
    /// Trainings not done: the set holds samples of a course predictor,
    /// which would crash on the model.
    pub models_withheld_course_predictor: u64,
    /// Samples whose (cid, T_obs) is already in the training set.
    pub duplicates: u64,
    pub models_trained: u64,
    pub train_errors: u64,
    /// Models trained but not published: the `models` topic already held
    /// one for their window with more samples or a newer version.
    pub models_withheld: u64,
}
