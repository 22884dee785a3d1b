//! The option groups of the stages: collector, Hawkes fit and magnitude
//! law, learner and predictor.

use clap::{Args, ValueEnum};

use super::values::{FeatureList, Windows, parse_seconds};
use crate::collector::CollectorConfig;
use crate::hawkes::{FitConfig, Kernel, MarkLaw, MarkMean, Prior, Solver};
use crate::learner::LearnerConfig;
use crate::model::{ForestConfig, Target};
use crate::predictor::{PredictorConfig, read_models};

/// The collector's rules (SPEC §4).
#[derive(Debug, Clone, Args)]
pub struct CollectorArgs {
    /// Observation windows, in seconds or as durations.
    #[arg(long, env = "TWEETOSCOPE_WINDOWS", default_value = "600,1200")]
    pub windows: Windows,
    /// Source-clock silence after a cascade's last tweet that ends it. The
    /// learner learns the sizes this lets through: real cascades pause for
    /// hours (the course's 1800 s cuts 55 % of the tweets of the real auspol
    /// cascades of 10 or more tweets, 1 day 1.5 %).
    #[arg(long, env = "TWEETOSCOPE_TERMINATION", value_parser = parse_seconds, default_value = "1d")]
    pub termination: f64,
    /// Smallest partial cascade sent for estimation.
    #[arg(long, env = "TWEETOSCOPE_MIN_CASCADE_SIZE", default_value_t = 10)]
    pub min_cascade_size: usize,
    /// How long an ended cascade's id is remembered to drop its late tweets
    /// (source time). A restart replays about this much more input.
    #[arg(long, env = "TWEETOSCOPE_LATE_HORIZON", value_parser = parse_seconds, default_value = "1d")]
    pub late_horizon: f64,
    /// How far ahead of its source's clock a tweet or watermark may be;
    /// further is dead-lettered (e.g. a time in milliseconds by mistake).
    #[arg(long, env = "TWEETOSCOPE_MAX_CLOCK_SKEW", value_parser = parse_seconds, default_value = "30d")]
    pub max_clock_skew: f64,
    /// How far (source time) a source's clock may lag the newest clock of
    /// the other sources on its tweets partition before it is ended as if
    /// it had sent `end` (a source that stopped without one would hold the
    /// collector's commit forever). Default: termination + late horizon.
    #[arg(long, env = "TWEETOSCOPE_SOURCE_IDLE", value_parser = parse_seconds)]
    pub source_idle: Option<f64>,
}

impl CollectorArgs {
    pub fn config(&self) -> CollectorConfig {
        CollectorConfig {
            windows: self.windows.0.clone(),
            termination: self.termination,
            min_cascade_size: self.min_cascade_size,
            late_horizon: self.late_horizon,
            max_clock_skew: self.max_clock_skew,
            source_idle: self.source_idle,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MarkMeanArg {
    /// E[m] from the power law (alpha, mu): the course's behaviour.
    Law,
    /// E[m] = mean observed magnitude of the cascade.
    Empirical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SolverArg {
    Newton,
    TrustRegion,
    NelderMead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    /// p beta exp(-beta tau): the course's model.
    Exponential,
    /// Mishra et al.'s kappa m^beta (tau + c)^-(1 + theta): 200 to 2,000
    /// times slower to fit (docs/MEASUREMENTS.md, "The power-law kernel"). Not for
    /// predictions: on power-law data 64-70 % of its fits put n* near 1
    /// (its w = 1 sizes explode) and the learned medians equal the
    /// exponential kernel's; use it to study the fitted shapes only.
    PowerLaw,
}

/// The Hawkes model and its MAP fit (SPEC §5).
#[derive(Debug, Clone, Args)]
pub struct HawkesArgs {
    /// Memory kernel of the fitted process.
    #[arg(long, env = "TWEETOSCOPE_KERNEL", value_enum, default_value_t = KernelArg::Exponential)]
    pub kernel: KernelArg,
    // --alpha and --mu: the one definition of the magnitude-law flags.
    #[command(flatten)]
    pub marks: MarkLawArgs,
    /// Where the mean magnitude E[m] in n* = p E[m] comes from.
    #[arg(long, env = "TWEETOSCOPE_MARK_MEAN", value_enum, default_value_t = MarkMeanArg::Empirical)]
    pub mark_mean: MarkMeanArg,
    /// Prior means of (p, beta).
    #[arg(long, env = "TWEETOSCOPE_PRIOR_MEAN", num_args = 2, value_delimiter = ',', default_values_t = Prior::COURSE.mean)]
    pub prior_mean: Vec<f64>,
    /// Prior standard deviations of (p, beta).
    #[arg(long, env = "TWEETOSCOPE_PRIOR_STD", num_args = 2, value_delimiter = ',', default_values_t = Prior::COURSE.std)]
    pub prior_std: Vec<f64>,
    /// Prior correlation of p and beta.
    #[arg(long, env = "TWEETOSCOPE_PRIOR_CORR", default_value_t = Prior::COURSE.corr, allow_negative_numbers = true)]
    pub prior_corr: f64,
    /// Bounds on beta, s^-1.
    #[arg(long, env = "TWEETOSCOPE_BETA_MIN", default_value_t = 1.0 / 864_000.0)]
    pub beta_min: f64,
    #[arg(long, env = "TWEETOSCOPE_BETA_MAX", default_value_t = 1.0 / 60.0)]
    pub beta_max: f64,
    #[arg(long, env = "TWEETOSCOPE_SOLVER", value_enum, default_value_t = SolverArg::Newton)]
    pub solver: SolverArg,
}

impl HawkesArgs {
    /// Every problem with these options, not just the first.
    pub fn problems(&self) -> Vec<String> {
        let mut p = self.marks.problems();
        if self
            .prior_mean
            .iter()
            .chain(&self.prior_std)
            .any(|v| !(*v > 0.0 && v.is_finite()))
        {
            p.push("--prior-mean and --prior-std must be positive".into());
        }
        if !(self.prior_corr > -1.0 && self.prior_corr < 1.0) {
            p.push(format!(
                "--prior-corr {} must be in (-1, 1)",
                self.prior_corr
            ));
        }
        if !(self.beta_min > 0.0 && self.beta_min < self.beta_max && self.beta_max.is_finite()) {
            p.push(format!(
                "need 0 < --beta-min ({}) < --beta-max ({})",
                self.beta_min, self.beta_max
            ));
        }
        p
    }

    pub fn config(&self) -> FitConfig {
        let pair = |v: &[f64]| {
            [
                v.first().copied().unwrap_or(f64::NAN),
                v.get(1).copied().unwrap_or(f64::NAN),
            ]
        };
        FitConfig {
            kernel: match self.kernel {
                KernelArg::Exponential => Kernel::Exponential,
                KernelArg::PowerLaw => Kernel::PowerLaw,
            },
            marks: self.marks.law(),
            mark_mean: match self.mark_mean {
                MarkMeanArg::Law => MarkMean::Law,
                MarkMeanArg::Empirical => MarkMean::Empirical,
            },
            prior: Prior {
                mean: pair(&self.prior_mean),
                std: pair(&self.prior_std),
                corr: self.prior_corr,
            },
            beta_bounds: (self.beta_min, self.beta_max),
            solver: match self.solver {
                SolverArg::Newton => Solver::Newton,
                SolverArg::TrustRegion => Solver::TrustRegion,
                SolverArg::NelderMead => Solver::NelderMead,
            },
            ..FitConfig::default()
        }
    }
}

/// The magnitude law a predictor completes 2020-edition parameters with
/// (they carry neither n* nor G1): the same flags as the estimator's, so one
/// environment configures both.
#[derive(Debug, Clone, Args)]
pub struct MarkLawArgs {
    /// Power-law exponent of magnitudes.
    #[arg(long, env = "TWEETOSCOPE_ALPHA", default_value_t = MarkLaw::COURSE.alpha)]
    pub alpha: f64,
    /// Minimum magnitude of the power law.
    #[arg(long, env = "TWEETOSCOPE_MU", default_value_t = MarkLaw::COURSE.mu)]
    pub mu: f64,
}

impl MarkLawArgs {
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.alpha > 2.0 && self.alpha.is_finite()) {
            p.push(format!(
                "--alpha {} must be > 2 for E[m] to be finite",
                self.alpha
            ));
        }
        if !(self.mu > 0.0 && self.mu.is_finite()) {
            p.push(format!("--mu {} must be > 0", self.mu));
        }
        p
    }

    pub fn law(&self) -> MarkLaw {
        MarkLaw {
            alpha: self.alpha,
            mu: self.mu,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// Regress ln(n_tot / n_obs): bounded, needs our predictor's samples.
    LogGrowth,
    /// Regress ln(W), W clamped to [1e-3, 1e3]: for course predictors.
    LogW,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PointArg {
    /// The size minimising the expected ARE (below the median).
    AreOptimal,
    /// The median of the predictive distribution.
    Median,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColdStartArg {
    /// w = 1: N = n_obs + G1 / (1 - n*) (SPEC §5), near-critical fits
    /// excepted.
    Hawkes,
    /// The first generation, N = n_obs + G1, for every fit.
    FirstGeneration,
}

/// The predictor's state and the learned correction (SPEC §6).
#[derive(Debug, Clone, Args)]
pub struct LearnerArgs {
    /// Features of the correction: "default", "course" or names.
    #[arg(long, env = "TWEETOSCOPE_FEATURES", default_value = "default")]
    pub features: FeatureList,
    #[arg(long, env = "TWEETOSCOPE_TARGET", value_enum, default_value_t = TargetArg::LogGrowth)]
    pub target: TargetArg,
    /// Samples of a window before its first model.
    #[arg(long, env = "TWEETOSCOPE_MIN_SAMPLES", default_value_t = 100)]
    pub min_samples: usize,
    /// Most recent samples a window trains on.
    #[arg(long, env = "TWEETOSCOPE_MAX_SAMPLES", default_value_t = 5000)]
    pub max_samples: usize,
    /// Retrain when a window's samples grew by this fraction (0.5: as
    /// accurate as 0.25 on the synthetic sets, half the training).
    #[arg(long, env = "TWEETOSCOPE_RETRAIN_GROWTH", default_value_t = 0.5)]
    pub retrain_growth: f64,
    #[arg(long, env = "TWEETOSCOPE_TREES", default_value_t = 50)]
    pub trees: usize,
    #[arg(long, env = "TWEETOSCOPE_MAX_DEPTH", default_value_t = 8)]
    pub max_depth: u16,
    #[arg(long, env = "TWEETOSCOPE_MIN_SAMPLES_LEAF", default_value_t = 5)]
    pub min_samples_leaf: usize,
    /// Seed of the forests (results are reproducible for a seed).
    #[arg(
        long = "forest-seed",
        env = "TWEETOSCOPE_FOREST_SEED",
        default_value_t = 0
    )]
    pub forest_seed: u64,
    /// How long the predictor keeps a window's parameters waiting for the
    /// size (and the reverse). Must exceed the longest cascade plus the
    /// termination delay, or its sample is lost.
    #[arg(long, env = "TWEETOSCOPE_STATE_TTL", value_parser = parse_seconds, default_value = "7d")]
    pub state_ttl: f64,
    /// Until a window has a model, a fit with n* at or above this is
    /// predicted by its first generation, n_obs + G1, and counted (its
    /// w = 1 prediction grows as 1 / (1 - n*)); 1: never.
    #[arg(long, env = "TWEETOSCOPE_NEAR_CRITICAL", default_value_t = crate::hawkes::NEAR_CRITICAL)]
    pub near_critical: f64,
    /// What an alert says before its window's first model: the Hawkes size
    /// with w = 1, or the first generation n_obs + G1 (a lower bound; on
    /// real cascades a lower ARE, see docs/MEASUREMENTS.md).
    #[arg(long, env = "TWEETOSCOPE_COLD_START", value_enum, default_value_t = ColdStartArg::Hawkes)]
    pub cold_start: ColdStartArg,
    /// Models of an earlier run, one JSON model message a line (the
    /// `models` topic's records, or `tweetoscope eval --models-out`): each
    /// window predicts with its model until its first model of this run,
    /// alerts saying `"cold_start":"carried_over"`. Use it only with models
    /// of the same feed (a new deployment or a new month of it): the cold
    /// phase then predicts like a warm model, while a model of another
    /// population is worse than none (docs/MEASUREMENTS.md, "Cold start of
    /// a month-long feed").
    #[arg(long, env = "TWEETOSCOPE_INITIAL_MODEL")]
    pub initial_model: Option<std::path::PathBuf>,
    /// What an alert's n_tot is once the window has a calibrated model; the
    /// alert also carries the median (`n_tot_median`) and the 80 % interval
    /// (`n_tot_low`, `n_tot_high`).
    #[arg(long, env = "TWEETOSCOPE_POINT", value_enum, default_value_t = PointArg::AreOptimal)]
    pub point: PointArg,
}

impl LearnerArgs {
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.min_samples < 10 {
            p.push(format!("--min-samples {} must be >= 10", self.min_samples));
        }
        if self.max_samples < self.min_samples {
            p.push("--max-samples must be >= --min-samples".into());
        }
        if !(self.near_critical > 0.0 && self.near_critical <= 1.0) {
            p.push(format!(
                "--near-critical {} must be in (0, 1]",
                self.near_critical
            ));
        }
        if let Some(Err(e)) = self.initial_model.as_deref().map(read_models) {
            p.push(format!("--initial-model: {e}"));
        }
        if !(self.retrain_growth > 0.0 && self.retrain_growth.is_finite()) {
            p.push("--retrain-growth must be > 0".into());
        }
        if self.trees == 0 || self.max_depth == 0 || self.min_samples_leaf == 0 {
            p.push("--trees, --max-depth and --min-samples-leaf must be >= 1".into());
        } else if let Err(e) = self.learner_config().forest.validate(&self.features.0) {
            p.push(format!("--trees/--max-depth: {e}"));
        }
        p
    }

    pub fn target(&self) -> Target {
        match self.target {
            TargetArg::LogGrowth => Target::LogGrowth,
            TargetArg::LogW => Target::LogW,
        }
    }

    pub fn learner_config(&self) -> LearnerConfig {
        LearnerConfig {
            features: self.features.0.clone(),
            target: self.target(),
            min_samples: self.min_samples,
            max_samples: self.max_samples,
            retrain_growth: self.retrain_growth,
            forest: ForestConfig {
                n_trees: self.trees,
                max_depth: self.max_depth,
                min_samples_leaf: self.min_samples_leaf,
                seed: self.forest_seed,
                ..ForestConfig::default()
            },
            ..LearnerConfig::default()
        }
    }

    pub fn predictor_config(&self) -> PredictorConfig {
        PredictorConfig {
            features: self.features.0.clone(),
            state_ttl: self.state_ttl,
            done_ttl: self.state_ttl,
            near_critical: self.near_critical,
            cold_start: match self.cold_start {
                ColdStartArg::Hawkes => crate::predictor::ColdStart::Hawkes,
                ColdStartArg::FirstGeneration => crate::predictor::ColdStart::FirstGeneration,
            },
            point: match self.point {
                PointArg::AreOptimal => crate::predictor::Point::AreOptimal,
                PointArg::Median => crate::predictor::Point::Median,
            },
            // A file that cannot be read was reported by `problems`, which
            // every binary checks before building its stages.
            carried: self
                .initial_model
                .as_deref()
                .and_then(|path| read_models(path).ok())
                .unwrap_or_default(),
            ..PredictorConfig::default()
        }
    }
}
