//! Command-line option groups shared by the binaries (clap derive, every
//! flag also readable from a `TWEETOSCOPE_*` environment variable).
//!
//! Each group turns into the plain config struct of the stage it sets up,
//! so the stages themselves know nothing of clap. Durations are human
//! ("1800", "1800s", "30m", "1h 30m").

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::collector::CollectorConfig;
use crate::data::{DataError, Dataset};
use crate::hawkes::{FitConfig, MarkLaw, MarkMean, Prior, Solver};
use crate::learner::LearnerConfig;
use crate::model::{ForestConfig, Target};
use crate::predictor::PredictorConfig;
use crate::schema::Window;

/// Every configuration problem at once, as one error message; `Ok` when
/// there is none. Shared by every binary so all report alike.
pub fn check(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid configuration:\n  - {}",
            problems.join("\n  - ")
        ))
    }
}

/// Seconds from "600", "600s", "10m", "1h 30m" or "0.5".
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        return if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("`{s}` is not a duration >= 0"))
        };
    }
    humantime::parse_duration(s)
        .map(|d| d.as_secs_f64())
        .map_err(|e| format!("`{s}` is not a duration (examples: 600, 30m, 1h 30m): {e}"))
}

/// Observation windows, sorted, distinct, positive: "600,1200" or "10m,20m".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(pub Vec<Window>);

impl std::str::FromStr for Windows {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut ws = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let secs = parse_seconds(part)?;
            if secs < 1.0 || secs.fract() != 0.0 || secs > f64::from(Window::MAX) {
                return Err(format!(
                    "window `{part}` must be a whole number of seconds >= 1"
                ));
            }
            ws.push(secs as Window);
        }
        if ws.is_empty() {
            return Err("at least one observation window is needed, e.g. 600,1200".into());
        }
        ws.sort_unstable();
        ws.dedup();
        Ok(Windows(ws))
    }
}

impl std::fmt::Display for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Feature lists by name: "default", "course", or comma-separated names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureList(pub Vec<String>);

impl std::str::FromStr for FeatureList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = match s.trim() {
            "default" => crate::features::DEFAULT.to_vec(),
            "course" => crate::features::COURSE.to_vec(),
            list => list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect(),
        };
        if names.is_empty() {
            return Err("the feature list is empty".into());
        }
        if let Some(bad) = names.iter().find(|n| !crate::features::KNOWN.contains(n)) {
            return Err(format!(
                "unknown feature `{bad}`; known: {}",
                crate::features::KNOWN.join(", ")
            ));
        }
        Ok(FeatureList(names.into_iter().map(str::to_owned).collect()))
    }
}

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
}

impl CollectorArgs {
    pub fn config(&self) -> CollectorConfig {
        CollectorConfig {
            windows: self.windows.0.clone(),
            termination: self.termination,
            min_cascade_size: self.min_cascade_size,
            late_horizon: self.late_horizon,
            max_clock_skew: self.max_clock_skew,
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

/// The Hawkes model and its MAP fit (SPEC §5).
#[derive(Debug, Clone, Args)]
pub struct HawkesArgs {
    /// Power-law exponent of magnitudes.
    #[arg(long, env = "TWEETOSCOPE_ALPHA", default_value_t = MarkLaw::COURSE.alpha)]
    pub alpha: f64,
    /// Minimum magnitude of the power law.
    #[arg(long, env = "TWEETOSCOPE_MU", default_value_t = MarkLaw::COURSE.mu)]
    pub mu: f64,
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
            marks: MarkLaw {
                alpha: self.alpha,
                mu: self.mu,
            },
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
    /// Retrain when a window's samples grew by this fraction.
    #[arg(long, env = "TWEETOSCOPE_RETRAIN_GROWTH", default_value_t = 0.25)]
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
    /// Until a window has a model, a fit with n* at or above this is left
    /// unpredicted and counted as failed (its w = 1 prediction grows as
    /// 1 / (1 - n*)); 1 predicts every fit.
    #[arg(long, env = "TWEETOSCOPE_NEAR_CRITICAL", default_value_t = crate::estimator::NEAR_CRITICAL)]
    pub near_critical: f64,
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
            point: match self.point {
                PointArg::AreOptimal => crate::predictor::Point::AreOptimal,
                PointArg::Median => crate::predictor::Point::Median,
            },
            ..PredictorConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(parse_seconds("1800").unwrap(), 1800.0);
        assert_eq!(parse_seconds("30m").unwrap(), 1800.0);
        assert_eq!(parse_seconds("1h 30m").unwrap(), 5400.0);
        assert!(
            parse_seconds("soon")
                .unwrap_err()
                .contains("not a duration")
        );
        assert!(parse_seconds("-5").is_err());
    }

    #[test]
    fn windows_are_sorted_and_checked() {
        assert_eq!(
            "1200,600,10m".parse::<Windows>().unwrap(),
            Windows(vec![600, 1200])
        );
        assert!("".parse::<Windows>().is_err());
        assert!("0".parse::<Windows>().is_err());
        assert!("1.5".parse::<Windows>().is_err());
    }

    #[test]
    fn feature_lists_by_name_and_unknown_names_refused() {
        assert_eq!(
            "course".parse::<FeatureList>().unwrap().0,
            ["beta", "n_star", "G1"]
        );
        let err = "beta,bogus".parse::<FeatureList>().unwrap_err();
        assert!(err.contains("bogus"), "{err}");
    }
}

/// How a data set is replayed as tweet sources (SPEC §3).
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Sources (course: threads) the cascades are dealt to.
    #[arg(long, env = "TWEETOSCOPE_SOURCES", default_value_t = 4)]
    pub sources: usize,
    /// Cascades a source keeps active at once.
    #[arg(long, env = "TWEETOSCOPE_MAX_ACTIVE", default_value_t = 50)]
    pub max_active: usize,
    /// A new cascade starts U[0, this] after the previous one ends.
    #[arg(long, env = "TWEETOSCOPE_START_SPREAD", value_parser = parse_seconds, default_value = "600")]
    pub start_spread: f64,
    /// A quiet source sends a watermark this often (source clock).
    #[arg(long, env = "TWEETOSCOPE_WATERMARK_INTERVAL", value_parser = parse_seconds, default_value = "60")]
    pub watermark_interval: f64,
    /// Seed of the shuffle, the start offsets and the synthetic set.
    #[arg(long, env = "TWEETOSCOPE_SEED", default_value_t = 1)]
    pub seed: u64,
}

impl ReplayArgs {
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.sources == 0 || self.max_active == 0 {
            p.push("--sources and --max-active must be >= 1".into());
        }
        if self.watermark_interval <= 0.0 {
            p.push("--watermark-interval must be > 0".into());
        }
        p
    }

    pub fn config(&self) -> crate::generator::ReplayConfig {
        crate::generator::ReplayConfig {
            sources: self.sources,
            max_active: self.max_active,
            start_spread: self.start_spread,
            watermark_interval: self.watermark_interval,
            seed: self.seed,
            format: crate::generator::TweetFormat::Ours,
        }
    }
}

/// Where the tweets come from: a NEWS-format data set, or the synthetic
/// source (seeded by the replay's `--seed`).
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// NEWS-format data file (time,magnitude rows); needs --index.
    #[arg(long, env = "TWEETOSCOPE_DATA", requires = "index")]
    pub data: Option<PathBuf>,
    /// NEWS-format index file (start_ind,end_ind rows); needs --data.
    #[arg(long, env = "TWEETOSCOPE_INDEX", requires = "data")]
    pub index: Option<PathBuf>,
    /// Synthetic cascades, when no --data is given.
    #[arg(long, env = "TWEETOSCOPE_CASCADES", default_value_t = 3000)]
    pub cascades: usize,
}

impl SourceArgs {
    pub fn problems(&self) -> Vec<String> {
        if self.data.is_none() && self.cascades == 0 {
            vec!["--cascades must be >= 1 without --data".into()]
        } else {
            Vec::new()
        }
    }

    /// The data set, or the synthetic one for `seed`. The caller checks
    /// that it is not empty (a data file may hold no cascade).
    pub fn load(&self, seed: u64) -> Result<Arc<Dataset>, DataError> {
        let set = match (&self.data, &self.index) {
            (Some(data), Some(index)) => Dataset::load(data, index)?,
            _ => crate::synthetic::generate(&crate::synthetic::SyntheticConfig {
                cascades: self.cascades,
                seed,
                ..crate::synthetic::SyntheticConfig::default()
            }),
        };
        Ok(Arc::new(set))
    }
}
