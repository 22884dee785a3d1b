//! Marked Hawkes process with exponential kernel (SPEC §5).
//!
//! lambda(t) = p * beta * sum_i m_i * exp(-beta (t - t_i)), magnitudes
//! following a power law (alpha, mu).
//!
//! Layout: [`likelihood`] (one O(n) pass giving LL, gradient and Hessian),
//! [`prior`] (the course's log-normal prior), [`fit`] (validation and the
//! MAP fit), with the solvers in `newton` (hand-written, default) and
//! `argmin_solvers` over the shared `objective`; [`simulate`] draws cascades.
//! [`powerlaw`] fits Mishra et al.'s power-law kernel instead
//! (`--kernel power-law`).

mod argmin_solvers;
pub mod fit;
pub mod likelihood;
mod newton;
mod objective;
pub mod powerlaw;
pub mod prior;
mod root;
pub mod simulate;
#[cfg(test)]
mod tests;

pub use fit::{Fit, FitConfig, FitError, Kernel, MarkMean, Solver, fit_map, log_posterior_derivs};
pub use likelihood::{Derivs, log_likelihood, log_likelihood_derivs};
pub use prior::{LogNormalPrior, Prior, PriorError};

/// Smallest magnitude the model uses: a follower count of 0 is read as 1 so
/// that log A_i stays finite (an account with no follower is still seen).
pub const MIN_MARK: f64 = 1.0;

/// n* from which a cascade counts as near-critical: its Hawkes size,
/// growing as 1 / (1 - n*), means little (the estimator counts such fits,
/// the predictor predicts them by their first generation).
pub const NEAR_CRITICAL: f64 = 0.95;

/// Power-law magnitude distribution: density proportional to m^-alpha on
/// [mu, inf).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkLaw {
    pub alpha: f64,
    pub mu: f64,
}

impl MarkLaw {
    /// The course's constants: E[m] = 35.
    pub const COURSE: MarkLaw = MarkLaw {
        alpha: 2.4,
        mu: 10.0,
    };
    /// Mishra et al.'s fit on NEWS.
    pub const MISHRA: MarkLaw = MarkLaw {
        alpha: 2.016,
        mu: 1.0,
    };

    /// E[m] = mu (alpha - 1) / (alpha - 2); infinite for alpha <= 2.
    pub fn mean(&self) -> f64 {
        if self.alpha <= 2.0 {
            f64::INFINITY
        } else {
            self.mu * (self.alpha - 1.0) / (self.alpha - 2.0)
        }
    }
}

/// G1 = p * sum_i m_i exp(-beta (T - t_i)): the expected number of direct
/// children still to come from the observed events.
pub fn g1(times: &[f64], marks: &[f64], t_obs: f64, p: f64, beta: f64) -> f64 {
    p * times
        .iter()
        .zip(marks)
        .map(|(&t, &m)| m.max(MIN_MARK) * (-beta * (t_obs - t)).exp())
        .sum::<f64>()
}

/// N_inf = n + w * G1 / (1 - n*).
pub fn final_size(n_obs: f64, g1: f64, n_star: f64, w: f64) -> f64 {
    n_obs + w * g1 / (1.0 - n_star)
}
