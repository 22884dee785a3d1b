//! The function every solver maximises: the log posterior
//! LL + log prior in x = (log p, log beta), on a box.
//!
//! Shared by the hand-written Newton and the argmin solvers so that they
//! optimise exactly the same thing (the tests compare them).

use super::likelihood::{BetaPass, Derivs};
use super::prior::LogNormalPrior;

/// Points of the log-spaced beta grid the start is picked from. Eight puts
/// every beta of the default range within a factor 1.8 of a grid point,
/// which is where Newton on the (non-concave in beta) posterior is reliable.
const START_GRID: usize = 8;

/// A validated series with the prior and box it is fitted under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posterior<'a> {
    pub times: &'a [f64],
    pub marks: &'a [f64],
    pub t_obs: f64,
    pub prior: LogNormalPrior,
    /// Box on x = (log p, log beta).
    pub lo: [f64; 2],
    pub hi: [f64; 2],
}

impl Posterior<'_> {
    /// Number of events, as the scale of the log posterior and its gradient.
    pub fn scale(&self) -> f64 {
        (self.times.len() as f64).max(1.0)
    }

    pub fn project(&self, x: [f64; 2]) -> [f64; 2] {
        [
            x[0].clamp(self.lo[0], self.hi[0]),
            x[1].clamp(self.lo[1], self.hi[1]),
        ]
    }

    /// Squared distance from x to the box.
    pub fn distance2(&self, x: [f64; 2]) -> f64 {
        let c = self.project(x);
        (x[0] - c[0]).powi(2) + (x[1] - c[1]).powi(2)
    }

    pub fn pass_value(&self, log_beta: f64) -> BetaPass {
        BetaPass::value_only(self.times, self.marks, self.t_obs, log_beta.exp())
    }

    pub fn pass_derivs(&self, log_beta: f64) -> BetaPass {
        BetaPass::with_derivs(self.times, self.marks, self.t_obs, log_beta.exp())
    }

    /// Log posterior at x, given the pass made at beta = e^{x[1]}.
    pub fn value_from(&self, pass: &BetaPass, x: [f64; 2]) -> f64 {
        pass.log_likelihood(x[0].exp()) + self.prior.log_density(x)
    }

    /// Log posterior with derivatives at x, given a derivative pass at
    /// beta = e^{x[1]}.
    pub fn derivs_from(&self, pass: &BetaPass, x: [f64; 2]) -> Derivs {
        let mut d = pass.derivs(x[0].exp());
        let g = self.prior.gradient(x);
        let h = self.prior.hessian();
        d.value += self.prior.log_density(x);
        for (i, row) in h.iter().enumerate() {
            d.grad[i] += g[i];
            for (j, hij) in row.iter().enumerate() {
                d.hess[i][j] += hij;
            }
        }
        d
    }

    pub fn value(&self, x: [f64; 2]) -> f64 {
        self.value_from(&self.pass_value(x[1]), x)
    }

    pub fn derivs(&self, x: [f64; 2]) -> Derivs {
        self.derivs_from(&self.pass_derivs(x[1]), x)
    }

    /// Best log p for a fixed log beta: the posterior is strictly concave in
    /// log p (-p K is concave, the prior quadratic), so a safeguarded 1-D
    /// Newton with a bisection bracket finds it in a few O(1) steps, reusing
    /// the O(n) pass.
    pub fn profile_log_p(&self, pass: &BetaPass, log_beta: f64) -> f64 {
        let prec = &self.prior.precision;
        let (ma, mb) = (self.prior.mean[0], self.prior.mean[1]);
        let (c, k) = (pass.children, pass.k);
        let slope = |a: f64| c - a.exp() * k - prec[0][0] * (a - ma) - prec[0][1] * (log_beta - mb);
        let (lo, hi) = (self.lo[0], self.hi[0]);
        let a = if c > 0.0 && k > 0.0 { (c / k).ln() } else { ma }.clamp(lo, hi);
        let curvature = |a: f64| a.exp() * k + prec[0][0];
        super::root::decreasing_root(slope, curvature, (lo, hi), a, 40, 1e-10)
    }

    /// Starting point: over a log-spaced grid of beta inside the box, the
    /// point with the best posterior once p is profiled out.
    pub fn start(&self) -> [f64; 2] {
        let mut best = ([self.prior.mean[0], self.lo[1]], f64::NEG_INFINITY);
        let width = self.hi[1] - self.lo[1];
        for k in 0..START_GRID {
            let b = self.lo[1] + width * (k as f64 + 0.5) / START_GRID as f64;
            let pass = self.pass_value(b);
            let x = [self.profile_log_p(&pass, b), b];
            let v = self.value_from(&pass, x);
            if v > best.1 {
                best = (x, v);
            }
        }
        self.project(best.0)
    }
}
