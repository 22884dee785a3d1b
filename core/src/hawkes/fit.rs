//! MAP fit (STUB: helper fills).
use super::{MarkLaw, Prior};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarkMean {
    /// E[m] from the configured power law (course behaviour).
    Law,
    /// E[m] = the mean observed magnitude of the series being fitted.
    Empirical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// Hand-written projected damped Newton on the analytic Hessian.
    Newton,
    /// argmin's trust region on the analytic Hessian.
    TrustRegion,
    /// argmin's Nelder-Mead (derivative-free; the test oracle).
    NelderMead,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FitConfig {
    pub marks: MarkLaw,
    pub mark_mean: MarkMean,
    pub prior: Prior,
    /// beta in [min, max], s^-1.
    pub beta_bounds: (f64, f64),
    pub solver: Solver,
    pub max_iter: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            marks: MarkLaw::COURSE,
            mark_mean: MarkMean::Law,
            prior: Prior::COURSE,
            beta_bounds: (1.0 / 864_000.0, 1.0 / 60.0),
            solver: Solver::Newton,
            max_iter: 100,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub p: f64,
    pub beta: f64,
    /// Mean magnitude the branching factor was computed with.
    pub mark_mean: f64,
    pub n_star: f64,
    pub g1: f64,
    pub log_posterior: f64,
    pub iterations: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("series is empty")]
    Empty,
    #[error("non-finite input")]
    NonFinite,
    #[error("solver did not converge after {iterations} iterations")]
    NotConverged { iterations: u64 },
}

pub fn fit_map(
    _times: &[f64],
    _marks: &[f64],
    _t_obs: f64,
    _cfg: &FitConfig,
) -> Result<Fit, FitError> {
    Err(FitError::Empty)
}
