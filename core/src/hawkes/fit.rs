//! MAP fit of (p, beta) to one observed series (SPEC §5): maximise
//! LL + log prior in x = (log p, log beta) on the box
//! p in [1e-8, (1 - 1e-8) / E[m]], beta in `beta_bounds`.
//!
//! This file validates the input, builds the objective and dispatches to a
//! solver: the hand-written Newton (`newton.rs`, default) or argmin's trust
//! region and Nelder-Mead (`argmin_solvers.rs`). Newton falls back to
//! Nelder-Mead when it fails, so a fit returns an estimate or a reason,
//! never NaN.

use super::argmin_solvers::{self, ArgminFailure, NELDER_MEAD_ITER_FACTOR};
use super::likelihood::Derivs;
use super::newton;
use super::objective::Posterior;
use super::prior::PriorError;
use super::{MIN_MARK, MarkLaw, Prior};

/// Bounds of p, as in the course: p > 0 and n* = p E[m] < 1, strictly.
const P_EPS: f64 = 1e-8;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarkMean {
    /// E[m] from the configured power law (course behaviour).
    Law,
    /// E[m] = the mean observed magnitude of the series being fitted. The
    /// prior on p is then read as the prior on n* = p E[m] it implies under
    /// the power law: its mean and deviation scale by E_law[m] / E[m], so
    /// real follower counts (thousands) do not push p against its bound.
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

/// The memory kernel the estimator fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// p beta exp(-beta tau): the course's model.
    Exponential,
    /// Mishra et al.'s kappa m^beta (tau + c)^-(1 + theta)
    /// ([`super::powerlaw`]).
    PowerLaw,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FitConfig {
    pub kernel: Kernel,
    pub marks: MarkLaw,
    pub mark_mean: MarkMean,
    pub prior: Prior,
    /// beta in [min, max], s^-1.
    pub beta_bounds: (f64, f64),
    pub solver: Solver,
    /// Iteration budget of Newton and the trust region; Nelder-Mead gets
    /// `NELDER_MEAD_ITER_FACTOR` (20) times more.
    pub max_iter: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            kernel: Kernel::Exponential,
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
    /// The solver that produced the estimate: differs from the configured
    /// one when Newton failed and Nelder-Mead took over.
    pub solver: Solver,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("series is empty")]
    Empty,
    #[error("non-finite input")]
    NonFinite,
    #[error("{times} times but {marks} magnitudes")]
    LengthMismatch { times: usize, marks: usize },
    #[error("event {index} at t = {time} comes before the previous one: times must be sorted")]
    Unsorted { index: usize, time: f64 },
    #[error("event at t = {time} is after the end of the observation window {t_obs}")]
    AfterWindow { time: f64, t_obs: f64 },
    #[error("mean magnitude {0} is not a positive finite number (power law with alpha <= 2?)")]
    MarkMean(f64),
    #[error("empty bounds on p: E[m] = {mark_mean} puts (1 - 1e-8) / E[m] below 1e-8")]
    PBounds { mark_mean: f64 },
    #[error("beta bounds ({0}, {1}) must satisfy 0 < min <= max < inf")]
    BetaBounds(f64, f64),
    #[error("invalid prior: {0}")]
    Prior(#[from] PriorError),
    #[error("solver did not converge after {iterations} iterations")]
    NotConverged { iterations: u64 },
    #[error("argmin failed: {0}")]
    Argmin(String),
    #[error("the estimate is not finite (p = {p}, beta = {beta})")]
    NonFiniteEstimate { p: f64, beta: f64 },
}

impl FitError {
    /// A bounded label for why the fit failed (a metric's `reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::NonFinite
            | Self::LengthMismatch { .. }
            | Self::Unsorted { .. }
            | Self::AfterWindow { .. } => "bad_input",
            Self::MarkMean(_) | Self::PBounds { .. } | Self::BetaBounds(..) | Self::Prior(_) => {
                "bad_config"
            }
            Self::NotConverged { .. } | Self::Argmin(_) => "not_converged",
            Self::NonFiniteEstimate { .. } => "non_finite_estimate",
        }
    }
}

impl From<ArgminFailure> for FitError {
    fn from(f: ArgminFailure) -> Self {
        match f {
            ArgminFailure::Error(e) => FitError::Argmin(e.to_string()),
            ArgminFailure::NotConverged { iterations } => FitError::NotConverged { iterations },
        }
    }
}

/// Checks a series for any kernel's fit: as many magnitudes as times, all
/// finite, sorted, none after the window.
pub(crate) fn check_series(times: &[f64], marks: &[f64], t_obs: f64) -> Result<(), FitError> {
    if times.len() != marks.len() {
        return Err(FitError::LengthMismatch {
            times: times.len(),
            marks: marks.len(),
        });
    }
    let Some(&last) = times.last() else {
        return Err(FitError::Empty);
    };
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    if !(finite(times) && finite(marks) && t_obs.is_finite()) {
        return Err(FitError::NonFinite);
    }
    if let Some(i) = (1..times.len()).find(|&i| times[i] < times[i - 1]) {
        return Err(FitError::Unsorted {
            index: i,
            time: times[i],
        });
    }
    if last > t_obs {
        return Err(FitError::AfterWindow { time: last, t_obs });
    }
    Ok(())
}

/// Checks the series and builds the objective with its prior and box.
/// Returns E[m] along with it.
fn posterior<'a>(
    times: &'a [f64],
    marks: &'a [f64],
    t_obs: f64,
    cfg: &FitConfig,
) -> Result<(Posterior<'a>, f64), FitError> {
    check_series(times, marks, t_obs)?;
    let mark_mean = match cfg.mark_mean {
        MarkMean::Law => cfg.marks.mean(),
        // The retweeters' marks, not the root's: n* counts children per
        // retweet, and the root (the original author) is usually the
        // largest account by far.
        MarkMean::Empirical => {
            let children = if marks.len() > 1 { &marks[1..] } else { marks };
            children.iter().map(|m| m.max(MIN_MARK)).sum::<f64>() / children.len() as f64
        }
    };
    if !(mark_mean > 0.0 && mark_mean.is_finite()) {
        return Err(FitError::MarkMean(mark_mean));
    }
    let p_max = (1.0 - P_EPS) / mark_mean;
    if p_max <= P_EPS {
        return Err(FitError::PBounds { mark_mean });
    }
    let (b_min, b_max) = cfg.beta_bounds;
    if !(b_min > 0.0 && b_min <= b_max && b_max.is_finite()) {
        return Err(FitError::BetaBounds(b_min, b_max));
    }
    let prior = match cfg.mark_mean {
        MarkMean::Law => cfg.prior,
        MarkMean::Empirical => {
            let scale = cfg.marks.mean() / mark_mean;
            let mut prior = cfg.prior;
            if scale.is_finite() {
                prior.mean[0] *= scale;
                prior.std[0] *= scale;
            }
            prior
        }
    };
    let post = Posterior {
        times,
        marks,
        t_obs,
        prior: prior.log_normal()?,
        lo: [P_EPS.ln(), b_min.ln()],
        hi: [p_max.ln(), b_max.ln()],
    };
    Ok((post, mark_mean))
}

/// MAP estimate of (p, beta) for the series (t_i, m_i) observed until
/// `t_obs`, with G1 and n* at that estimate.
///
/// Times are sorted, in seconds, at most `t_obs`; magnitudes are floored at
/// [`MIN_MARK`].
pub fn fit_map(times: &[f64], marks: &[f64], t_obs: f64, cfg: &FitConfig) -> Result<Fit, FitError> {
    let (post, mark_mean) = posterior(times, marks, t_obs, cfg)?;
    let x0 = post.start();
    let nm_budget = cfg.max_iter.saturating_mul(NELDER_MEAD_ITER_FACTOR);
    let (x, iterations, solver) = match cfg.solver {
        Solver::Newton => match newton::maximise(&post, x0, cfg.max_iter) {
            Ok(r) => (r.x, r.iterations, Solver::Newton),
            Err(why) => {
                tracing::debug!(
                    ?why,
                    n = times.len(),
                    "Newton failed, falling back to Nelder-Mead"
                );
                let (x, it) = argmin_solvers::nelder_mead(&post, x0, nm_budget)?;
                (x, it, Solver::NelderMead)
            }
        },
        Solver::TrustRegion => {
            let (x, it) = argmin_solvers::trust_region(&post, x0, cfg.max_iter)?;
            (x, it, Solver::TrustRegion)
        }
        Solver::NelderMead => {
            let (x, it) = argmin_solvers::nelder_mead(&post, x0, nm_budget)?;
            (x, it, Solver::NelderMead)
        }
    };
    let pass = post.pass_value(x[1]);
    let (p, beta) = (x[0].exp(), pass.beta);
    let fit = Fit {
        p,
        beta,
        mark_mean,
        n_star: p * mark_mean,
        g1: p * pass.a_t,
        log_posterior: post.value_from(&pass, x),
        iterations,
        solver,
    };
    let values = [fit.p, fit.beta, fit.n_star, fit.g1, fit.log_posterior];
    if values.iter().all(|v| v.is_finite()) {
        Ok(fit)
    } else {
        Err(FitError::NonFiniteEstimate { p, beta })
    }
}

/// Log posterior (LL + log prior, the objective of [`fit_map`]) with its
/// gradient and Hessian in (log p, log beta). Minus the Hessian at the
/// estimate is the observed information, whose inverse gives standard
/// errors of (log p, log beta).
pub fn log_posterior_derivs(
    times: &[f64],
    marks: &[f64],
    t_obs: f64,
    cfg: &FitConfig,
    log_p: f64,
    log_beta: f64,
) -> Result<Derivs, FitError> {
    let (post, _) = posterior(times, marks, t_obs, cfg)?;
    Ok(post.derivs([log_p, log_beta]))
}
