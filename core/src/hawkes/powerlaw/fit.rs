//! MAP fit of the power-law kernel: p profiled out in closed form (see
//! [`super::likelihood`]), the shape x = (beta, ln c, ln theta) by a
//! projected BFGS on the analytic gradient, in the box of
//! [`super::BETA_BOUNDS`], [`super::C_BOUNDS`], [`super::THETA_BOUNDS`],
//! with the weak Gaussian [`super::SHAPE_PRIOR`] and a log-normal prior on
//! n* (see [`n_star_prior`]).
//!
//! The start is the best point of a small grid over (ln c, ln theta): the
//! profiled likelihood has flat ridges in c and theta (only the delays'
//! distribution over the window is seen), where a single start can stall.

use super::likelihood::{Moment, Profiled, Series, Shape, profiled};
use super::{BETA_BOUNDS, C_BOUNDS, SHAPE_PRIOR, THETA_BOUNDS};
use crate::hawkes::fit::check_series;
use crate::hawkes::{FitConfig, FitError, MarkMean};

/// A power-law fit: the kernel, the branching factor and G1 at the
/// estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerLawFit {
    /// Children per unit m^beta: kappa = p theta c^theta.
    pub p: f64,
    pub shape: Shape,
    pub n_star: f64,
    pub g1: f64,
    pub log_posterior: f64,
    pub iterations: u64,
}

impl PowerLawFit {
    /// Mishra et al.'s kappa in phi_m(tau) = kappa m^beta (tau + c)^-(1 + theta).
    pub fn kappa(&self) -> f64 {
        self.p * self.shape.theta * self.shape.c.powf(self.shape.theta)
    }
}

/// The box of x; under the magnitude law, beta also stays below
/// alpha - 1.05 so that E[m^beta] is finite.
fn bounds(moment: Moment) -> ([f64; 3], [f64; 3]) {
    let beta_max = match moment {
        Moment::Law(law) => BETA_BOUNDS.1.min(law.alpha - 1.05).max(BETA_BOUNDS.0),
        Moment::Empirical => BETA_BOUNDS.1,
    };
    (
        [BETA_BOUNDS.0, C_BOUNDS.0.ln(), THETA_BOUNDS.0.ln()],
        [beta_max, C_BOUNDS.1.ln(), THETA_BOUNDS.1.ln()],
    )
}

fn project(x: [f64; 3], lo: [f64; 3], hi: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|k| x[k].clamp(lo[k], hi[k]))
}

/// Negated log posterior and its gradient: what BFGS minimises.
fn objective(series: &Series<'_>, x: [f64; 3]) -> (f64, [f64; 3], Profiled) {
    let pr = profiled(series, x);
    let mut value = -pr.value;
    let mut grad = pr.grad.map(|g| -g);
    for k in 0..3 {
        let (mean, sd) = SHAPE_PRIOR[k];
        let z = (x[k] - mean) / sd;
        value += 0.5 * z * z;
        grad[k] += z / sd;
    }
    let value = if value.is_nan() { f64::INFINITY } else { value };
    (value, grad, pr)
}

/// Projected BFGS with an Armijo backtracking search along the projected
/// path: variables at a bound whose gradient pushes outwards are held
/// fixed, the inverse-Hessian estimate acts on the others.
fn minimise(
    series: &Series<'_>,
    x0: [f64; 3],
    max_iter: u64,
) -> Result<([f64; 3], f64, Profiled, u64), FitError> {
    let (lo, hi) = bounds(series.moment);
    let mut x = project(x0, lo, hi);
    let (mut f, mut g, mut pr) = objective(series, x);
    let mut h = [[0.0; 3]; 3];
    let identity = |h: &mut [[f64; 3]; 3]| {
        for (i, row) in h.iter_mut().enumerate() {
            *row = [0.0; 3];
            row[i] = 1.0;
        }
    };
    identity(&mut h);
    let scale = (series.times.len() as f64).max(1.0);
    for iter in 1..=max_iter {
        if !f.is_finite() {
            return Err(FitError::NotConverged { iterations: iter });
        }
        let active: [bool; 3] =
            std::array::from_fn(|k| (x[k] <= lo[k] && g[k] > 0.0) || (x[k] >= hi[k] && g[k] < 0.0));
        let pg_norm = (0..3)
            .filter(|&k| !active[k])
            .map(|k| g[k].abs())
            .fold(0.0, f64::max);
        if pg_norm < 1e-5 * scale {
            return Ok((x, f, pr, iter));
        }
        let mut d = [0.0; 3];
        for i in (0..3).filter(|&i| !active[i]) {
            d[i] = -(0..3)
                .filter(|&j| !active[j])
                .map(|j| h[i][j] * g[j])
                .sum::<f64>();
        }
        if (0..3).map(|k| d[k] * g[k]).sum::<f64>() >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            identity(&mut h);
            d = std::array::from_fn(|k| if active[k] { 0.0 } else { -g[k] });
        }
        // No coordinate moves by more than 2 per step (ln c by e^2).
        let longest = d.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        let mut step = if longest > 2.0 { 2.0 / longest } else { 1.0 };
        let mut accepted = None;
        for _ in 0..40 {
            let xn = project(std::array::from_fn(|k| x[k] + step * d[k]), lo, hi);
            let (fn_, gn, prn) = objective(series, xn);
            let moved: f64 = (0..3).map(|k| g[k] * (xn[k] - x[k])).sum();
            if fn_ <= f + 1e-4 * moved {
                accepted = Some((xn, fn_, gn, prn));
                break;
            }
            step *= 0.5;
        }
        let Some((xn, fn_, gn, prn)) = accepted else {
            // No decrease along the projected path: x is a minimum to the
            // precision of f.
            return Ok((x, f, pr, iter));
        };
        // The update sees the free variables only: the gradient of a
        // variable held at its bound still moves, and letting it into H
        // made the iterates zig-zag along the free ones.
        let free = |k: usize, v: f64| if active[k] { 0.0 } else { v };
        let s: [f64; 3] = std::array::from_fn(|k| free(k, xn[k] - x[k]));
        let y: [f64; 3] = std::array::from_fn(|k| free(k, gn[k] - g[k]));
        let sy: f64 = (0..3).map(|k| s[k] * y[k]).sum();
        let converged = (f - fn_).abs() <= 1e-10 * (1.0 + f.abs());
        (x, f, g, pr) = (xn, fn_, gn, prn);
        if converged {
            return Ok((x, f, pr, iter));
        }
        if sy > 1e-12 {
            // H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T.
            let rho = 1.0 / sy;
            let hy: [f64; 3] = std::array::from_fn(|i| (0..3).map(|j| h[i][j] * y[j]).sum());
            let yhy: f64 = (0..3).map(|k| y[k] * hy[k]).sum();
            for i in 0..3 {
                for j in 0..3 {
                    h[i][j] +=
                        rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
                }
            }
        }
    }
    Err(FitError::NotConverged {
        iterations: max_iter,
    })
}

/// The prior on n*: the exponential fit's prior on p read as one on
/// n* = p E[m] under the magnitude law (course: mean 0.7, sd 0.35), made
/// log-normal by moment matching as in [`crate::hawkes::Prior`]. It keeps
/// the fit off n* = 1, where the ML estimate sits for many short windows:
/// a heavy tail seen for minutes cannot tell 0.9 from 0.999.
fn n_star_prior(cfg: &FitConfig) -> Result<(f64, f64), FitError> {
    let scale = cfg.marks.mean();
    let (mean, sd) = (cfg.prior.mean[0] * scale, cfg.prior.std[0] * scale);
    if !(mean > 0.0 && sd > 0.0 && mean.is_finite() && sd.is_finite()) {
        return Err(FitError::Prior(crate::hawkes::PriorError::NotPositive(
            cfg.prior,
        )));
    }
    let var = (sd * sd / (mean * mean)).ln_1p();
    Ok((mean.ln() - var / 2.0, var.sqrt()))
}

/// MAP estimate of the power-law kernel for the series (t_i, m_i) observed
/// until `t_obs` (same input rules as [`crate::hawkes::fit_map`]), with n*
/// and G1 at the estimate. Uses `cfg.mark_mean` (E[m^beta] from the data or
/// from `cfg.marks`) and `cfg.max_iter`.
pub fn fit_power_law(
    times: &[f64],
    marks: &[f64],
    t_obs: f64,
    cfg: &FitConfig,
) -> Result<PowerLawFit, FitError> {
    check_series(times, marks, t_obs)?;
    let moment = match cfg.mark_mean {
        MarkMean::Empirical => Moment::Empirical,
        MarkMean::Law => Moment::Law(cfg.marks),
    };
    let mut series = Series::new(times, marks, t_obs, moment);
    series.n_star_prior = Some(n_star_prior(cfg)?);
    let (lo, hi) = bounds(series.moment);
    let mut start = (
        f64::INFINITY,
        [SHAPE_PRIOR[0].0, SHAPE_PRIOR[1].0, SHAPE_PRIOR[2].0],
    );
    for ln_c in [10f64.ln(), 60f64.ln(), 600f64.ln(), 3600f64.ln()] {
        for ln_theta in [0.3f64.ln(), 1.0f64.ln()] {
            let x = project([SHAPE_PRIOR[0].0, ln_c, ln_theta], lo, hi);
            let (f, _, _) = objective(&series, x);
            if f < start.0 {
                start = (f, x);
            }
        }
    }
    let (x, f, pr, iterations) = minimise(&series, start.1, cfg.max_iter)?;
    let fit = PowerLawFit {
        p: pr.p,
        shape: Shape::from_x(x),
        n_star: pr.p * pr.moment,
        g1: pr.p * pr.a_t,
        log_posterior: -f,
        iterations,
    };
    let values = [fit.p, fit.n_star, fit.g1, fit.log_posterior];
    if values.iter().all(|v| v.is_finite()) {
        Ok(fit)
    } else {
        Err(FitError::NonFiniteEstimate {
            p: fit.p,
            beta: fit.shape.beta,
        })
    }
}
