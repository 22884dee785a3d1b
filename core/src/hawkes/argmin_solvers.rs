//! The MAP fit through argmin: trust region (Steihaug) on the analytic
//! gradient and Hessian, and derivative-free Nelder-Mead, the test oracle
//! and the fallback of Newton.
//!
//! argmin solvers are unconstrained, so the box enters as a penalty on the
//! squared distance to it, `W dist(x, box)^2`, handled differently by each:
//! - Nelder-Mead minimises `-post(clamp(x)) + W dist^2`. Outside the box the
//!   first term is constant along the violated coordinates, so the minimiser
//!   is exactly the box-constrained one, kink and all (Nelder-Mead does not
//!   mind kinks).
//! - The trust region needs a smooth function, so it minimises
//!   `-post(x) + W dist^2` (the likelihood is defined for every p, beta > 0)
//!   and the result is clamped into the box. With W = 1e6 n, a bound that
//!   pushes with gradient g leaves the optimum O(g / W) ~ 1e-6 outside, and
//!   the other coordinate off by as little.

use argmin::core::{
    CostFunction, Error, Executor, Gradient, Hessian, IterState, Problem, Solver as _, State,
    TerminationReason,
};
use argmin::solver::neldermead::NelderMead;
use argmin::solver::trustregion::{Steihaug, TrustRegion};

use super::objective::Posterior;

/// Nelder-Mead's iteration budget is this times `max_iter`: it needs about
/// an order of magnitude more iterations than Newton, each far cheaper.
pub(crate) const NELDER_MEAD_ITER_FACTOR: u64 = 20;

/// Converged when the gradient of the penalised cost is below this times n
/// (as for Newton).
const GRAD_TOL: f64 = 1e-9;

/// Why an argmin solver produced no estimate.
#[derive(Debug)]
pub(crate) enum ArgminFailure {
    Error(Error),
    NotConverged { iterations: u64 },
}

impl From<Error> for ArgminFailure {
    fn from(e: Error) -> Self {
        Self::Error(e)
    }
}

/// argmin's iteration state for the trust region: parameter, gradient and
/// Hessian as `Vec`s.
type TrustState = IterState<Vec<f64>, Vec<f64>, (), Vec<Vec<f64>>, (), f64>;

/// An estimate from argmin: a point of the box and the iterations spent.
pub(crate) type ArgminResult = Result<([f64; 2], u64), ArgminFailure>;

/// The penalised negated log posterior, as argmin wants it.
struct Penalised<'a> {
    post: Posterior<'a>,
    weight: f64,
    /// Evaluate the posterior at the projection (exact, for Nelder-Mead) or
    /// at x itself (smooth, for the trust region).
    clamp: bool,
}

fn point(x: &[f64]) -> Result<[f64; 2], Error> {
    match x {
        [a, b] => Ok([*a, *b]),
        _ => Err(Error::msg(format!(
            "expected 2 parameters, got {}",
            x.len()
        ))),
    }
}

impl CostFunction for Penalised<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, x: &Vec<f64>) -> Result<f64, Error> {
        let x = point(x)?;
        let at = if self.clamp { self.post.project(x) } else { x };
        let v = -self.post.value(at) + self.weight * self.post.distance2(x);
        // Nelder-Mead and the trust region both cope with +inf, not NaN.
        Ok(if v.is_nan() { f64::INFINITY } else { v })
    }
}

impl Gradient for Penalised<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, Error> {
        let x = point(x)?;
        let c = self.post.project(x);
        let d = self.post.derivs(x);
        Ok((0..2)
            .map(|j| -d.grad[j] + 2.0 * self.weight * (x[j] - c[j]))
            .collect())
    }
}

impl Hessian for Penalised<'_> {
    type Param = Vec<f64>;
    type Hessian = Vec<Vec<f64>>;

    fn hessian(&self, x: &Vec<f64>) -> Result<Vec<Vec<f64>>, Error> {
        let x = point(x)?;
        let c = self.post.project(x);
        let d = self.post.derivs(x);
        Ok((0..2)
            .map(|i| {
                (0..2)
                    .map(|j| {
                        let outside = i == j && x[i] != c[i];
                        -d.hess[i][j] + if outside { 2.0 * self.weight } else { 0.0 }
                    })
                    .collect()
            })
            .collect())
    }
}

/// argmin's trust region with the Steihaug subproblem from `x0`.
///
/// Driven step by step rather than through `Executor::run`: argmin's
/// `TrustRegion` has no stopping rule of its own (it would always run
/// `max_iter` iterations), so we stop on the gradient norm.
pub(crate) fn trust_region(post: &Posterior<'_>, x0: [f64; 2], max_iter: u64) -> ArgminResult {
    let gtol = GRAD_TOL * post.scale();
    let mut problem = Problem::new(Penalised {
        post: *post,
        weight: 1e6 * post.scale(),
        clamp: false,
    });
    let mut solver = TrustRegion::new(Steihaug::new().with_max_iters(10))
        .with_radius(0.5)?
        .with_max_radius(2.0)?;
    let state: TrustState = IterState::new().param(x0.to_vec());
    let (mut state, _) = solver.init(&mut problem, state)?;
    let (mut radius, mut stalled) = (f64::INFINITY, 0);
    for iterations in 0..max_iter {
        let x = point(
            state
                .get_param()
                .ok_or_else(|| Error::msg("no parameter"))?,
        )?;
        let grad = state.get_gradient().map_or(f64::INFINITY, |g| {
            g.iter().fold(0.0, |m: f64, v| m.max(v.abs()))
        });
        if grad <= gtol {
            return Ok((post.project(x), iterations));
        }
        // A radius collapsed below the rounding of x, or steps rejected
        // over and over (the model's predicted decrease is below the
        // rounding of the cost): nothing can improve the cost any more,
        // which at the rounding floor of the gradient is convergence.
        if radius <= 1e-14 * (1.0 + x[0].abs() + x[1].abs()) || stalled >= 30 {
            return if grad <= 1e3 * gtol {
                Ok((post.project(x), iterations))
            } else {
                Err(ArgminFailure::NotConverged { iterations })
            };
        }
        let kv;
        (state, kv) = solver.next_iter(&mut problem, state)?;
        radius = kv
            .and_then(|kv| kv.get("radius").and_then(|r| r.get_float()))
            .unwrap_or(f64::INFINITY);
        let moved = state.get_param().is_none_or(|p| p.as_slice() != x);
        stalled = if moved { 0 } else { stalled + 1 };
    }
    Err(ArgminFailure::NotConverged {
        iterations: max_iter,
    })
}

/// argmin's Nelder-Mead from a simplex of `x0` and two points 0.3 away
/// along each axis (towards the inside of the box).
pub(crate) fn nelder_mead(post: &Posterior<'_>, x0: [f64; 2], max_iter: u64) -> ArgminResult {
    const SIDE: f64 = 0.3;
    let x0 = post.project(x0);
    let mut simplex = vec![x0.to_vec()];
    for j in 0..2 {
        let mut v = x0;
        v[j] += if x0[j] + SIDE <= post.hi[j] {
            SIDE
        } else {
            -SIDE
        };
        simplex.push(v.to_vec());
    }
    let problem = Penalised {
        post: *post,
        weight: post.scale(),
        clamp: true,
    };
    // Standard deviation of the simplex's costs: at the optimum the cost
    // varies like H dx^2 / 2 with H ~ n, so this pins x to ~1e-6, while
    // staying well above the rounding noise of the cost (~1e-15 n).
    let sd_tol = 1e-13 * post.scale();
    let solver = NelderMead::new(simplex).with_sd_tolerance(sd_tol)?;
    let res = Executor::new(problem, solver)
        .configure(|s| s.max_iters(max_iter))
        .run()?;
    let iterations = res.state.get_iter();
    if res.state.get_termination_reason() != Some(&TerminationReason::SolverConverged) {
        return Err(ArgminFailure::NotConverged { iterations });
    }
    let best = res
        .state
        .get_best_param()
        .ok_or_else(|| Error::msg("Nelder-Mead returned no parameter"))?;
    Ok((post.project(point(best)?), iterations))
}
