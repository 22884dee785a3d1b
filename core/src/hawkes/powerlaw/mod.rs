//! Marked Hawkes process with Mishra et al.'s power-law kernel (CIKM 2016):
//!
//! phi_m(tau) = kappa m^beta (tau + c)^-(1 + theta).
//!
//! Written here as phi_m(tau) = p m^beta f(tau), with
//! f(tau) = theta c^theta (tau + c)^-(1 + theta) the Lomax density the
//! simulator draws delays from ([`crate::hawkes::simulate::power_law_delay`]),
//! so kappa = p theta c^theta and a tweet of magnitude m has p m^beta
//! children on average. Then:
//!
//! - n* = p E[m^beta] (E over the retweeters' magnitudes, or the power law
//!   of [`crate::hawkes::MarkLaw`]);
//! - G1 = p sum_j m_j^beta (c / (T - t_j + c))^theta, the children still to
//!   come from the observed tweets, so the predictor's
//!   N = n_obs + G1 / (1 - n*) holds unchanged.
//!
//! Layout: [`likelihood`] (the profiled log-likelihood and its analytic
//! gradient in x = (beta, ln c, ln theta), O(n H) with the history truncated
//! to the last [`HISTORY`] parents), [`fit`] (the MAP fit by projected BFGS,
//! p profiled out in closed form).

pub mod fit;
pub mod likelihood;
#[cfg(test)]
mod tests;

pub use fit::{PowerLawFit, fit_power_law};
pub use likelihood::{Shape, profiled};

/// How many most recent tweets count as parents of a tweet in the
/// likelihood's O(n^2) sum. Older ones contribute (tau + c)^-(1 + theta)
/// of a tweet 500 retweets ago: negligible for the cascades of a few
/// thousand tweets this is fitted on, and it bounds a fit at O(500 n).
pub const HISTORY: usize = 500;

/// Box of the shape parameters x = (beta, ln c, ln theta): beta in
/// [0, 1.5] (below alpha - 1 for the law's E[m^beta] to be finite), c from
/// 1 s to 1 day, theta from 0.05 to 5.
pub const BETA_BOUNDS: (f64, f64) = (0.0, 1.5);
pub const C_BOUNDS: (f64, f64) = (1.0, 86_400.0);
pub const THETA_BOUNDS: (f64, f64) = (0.05, 5.0);

/// A weak Gaussian prior on x = (beta, ln c, ln theta), means and standard
/// deviations: it keeps short series (ten tweets for three shape
/// parameters) away from the box's corners and is outweighed by a few
/// hundred tweets. Centred on the simulator's ranges (c from 10 s to
/// 10 min, theta from 0.4 to 1.2) and on Mishra et al.'s sub-linear
/// influence of the magnitude.
pub const SHAPE_PRIOR: [(f64, f64); 3] = [(0.5, 0.5), (4.1, 2.5), (-0.35, 1.0)];

/// G1 per unit p: sum_j m_j^beta (c / (T - t_j + c))^theta, magnitudes
/// floored at [`super::MIN_MARK`].
pub fn g1_per_p(times: &[f64], marks: &[f64], t_obs: f64, shape: Shape) -> f64 {
    times
        .iter()
        .zip(marks)
        .map(|(&t, &m)| {
            let w = m.max(super::MIN_MARK).powf(shape.beta);
            w * (-shape.theta * ((t_obs - t).max(0.0) / shape.c).ln_1p()).exp()
        })
        .sum()
}
