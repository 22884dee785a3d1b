//! Log-likelihood of a marked exponential-kernel Hawkes process (SPEC §5),
//! with its gradient and Hessian in (log p, log beta), in one O(n) pass.
//!
//! LL = (n-1) log(p beta) + sum_{i>=2} log A_i - p K, where
//! A_i = S_{i-1} e^{-beta d_i}, S_{i-1} = A_{i-1} + m_{i-1}, d_i = t_i - t_{i-1}
//! and K = sum_j m_j (1 - e^{-beta (T - t_j)}) is the compensator per unit p.
//!
//! Why each quantity is computed the way it is:
//! - `log A_i = -beta d_i + ln S_{i-1}`: S >= MIN_MARK >= 1 is always
//!   representable, so no log is ever taken of an underflowed number, and
//!   A_{i-1} may underflow to 0 harmlessly (gaps of days, beta of 1/60 s).
//!   Since every S >= 1, sum ln S is taken as the ln of a running product,
//!   flushed long before it could overflow.
//! - K is accumulated as `K -= S expm1(-beta d)` rather than `sum m - A_T`,
//!   which would cancel catastrophically when beta T is small.
//! - The beta-derivatives use ratios that never overflow: with
//!   q = A_{i-1}/S_{i-1} in [0, 1], r_i = B_i/A_i and v_i = s_i - r_i^2 where
//!   B = -dA/dbeta, C = d2A/dbeta2 and s_i = C_i/A_i,
//!   `r_i = q r_{i-1} + d_i` and `v_i = q (v_{i-1} + (1-q) r_{i-1}^2)`.
//!   v_i is a weighted variance of the ages of past events, so this form is
//!   non-negative by construction, where `s_i - r_i^2` would cancel.
//!   Then d/dbeta sum log A_i = -sum r_i, d2/dbeta2 sum log A_i = sum v_i,
//!   K' = r_T A_T and K'' = -(v_T + r_T^2) A_T.
//!
//! Every term but `(n-1) log p - p K` depends on beta only, so one pass over
//! the events ([`BetaPass`]) serves every p: the fit exploits this to
//! profile p for free.

use super::MIN_MARK;

/// Log-likelihood (or log-posterior) with its gradient and Hessian in
/// (log p, log beta).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Derivs {
    pub value: f64,
    pub grad: [f64; 2],
    pub hess: [[f64; 2]; 2],
}

/// The beta-dependent sums of one pass over a series, from which the
/// likelihood and its derivatives follow for any p in O(1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BetaPass {
    pub beta: f64,
    /// n - 1: the number of events the process generated.
    pub children: f64,
    /// sum_{i>=2} log A_i.
    pub sum_log_a: f64,
    /// Compensator per unit p: sum_j m_j (1 - e^{-beta (T - t_j)}).
    pub k: f64,
    /// A_T = sum_j m_j e^{-beta (T - t_j)}; G1 = p A_T.
    pub a_t: f64,
    /// Only filled by [`BetaPass::with_derivs`]: r_T, v_T, sum r_i, sum v_i.
    pub r_t: f64,
    pub v_t: f64,
    pub sum_r: f64,
    pub sum_v: f64,
}

impl BetaPass {
    /// Value-only pass: sums for the likelihood, no derivatives.
    pub fn value_only(times: &[f64], marks: &[f64], t_obs: f64, beta: f64) -> Self {
        pass::<false>(times, marks, t_obs, beta)
    }

    /// Pass with the sums the gradient and Hessian need as well.
    pub fn with_derivs(times: &[f64], marks: &[f64], t_obs: f64, beta: f64) -> Self {
        pass::<true>(times, marks, t_obs, beta)
    }

    /// LL at (p, self.beta). -inf when p <= 0 (outside the model).
    pub fn log_likelihood(&self, p: f64) -> f64 {
        if !(p > 0.0 && self.beta > 0.0) {
            return f64::NEG_INFINITY;
        }
        let log_rate = if self.children > 0.0 {
            self.children * (p.ln() + self.beta.ln())
        } else {
            0.0 // 0 * log: a single event says nothing about the rate
        };
        log_rate + self.sum_log_a - p * self.k
    }

    /// LL and its derivatives in (a, b) = (log p, log beta) at p.
    /// Needs a pass made by [`BetaPass::with_derivs`].
    pub fn derivs(&self, p: f64) -> Derivs {
        let beta = self.beta;
        let pk = p * self.k;
        // dK/dbeta = r_T A_T and d2K/dbeta2 = -s_T A_T.
        let k1 = self.r_t * self.a_t;
        let s_t = self.v_t + self.r_t * self.r_t;
        let g = -self.sum_r - p * k1;
        let h = self.sum_v + p * s_t * self.a_t;
        let cross = -p * beta * k1;
        Derivs {
            value: self.log_likelihood(p),
            grad: [self.children - pk, self.children + beta * g],
            hess: [[-pk, cross], [cross, beta * g + beta * beta * h]],
        }
    }
}

/// One pass over the series; `DERIVS` adds the recursions of r and v.
///
/// Costs one `expm1` per event (and a `ln` per ~1e256 of product of the
/// S_i) and allocates nothing: this is the hot loop of every fit.
fn pass<const DERIVS: bool>(times: &[f64], marks: &[f64], t_obs: f64, beta: f64) -> BetaPass {
    let mut out = BetaPass {
        beta,
        children: 0.0,
        sum_log_a: 0.0,
        k: 0.0,
        a_t: 0.0,
        r_t: 0.0,
        v_t: 0.0,
        sum_r: 0.0,
        sum_v: 0.0,
    };
    let n = times.len().min(marks.len());
    if n == 0 {
        return out;
    }
    out.children = (n - 1) as f64;
    let (mut a, mut r, mut v) = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut k = 0.0;
    let (mut sum_ln_s, mut product) = (0.0, 1.0_f64);
    let mut prev_t = times[0];
    let mut prev_m = marks[0].max(MIN_MARK);
    // Index n stands for the end of the window T; it is not an event.
    for i in 1..=n {
        let (t, is_event) = if i < n {
            (times[i], true)
        } else {
            (t_obs, false)
        };
        let d = t - prev_t;
        let s = a + prev_m;
        let em1 = (-beta * d).exp_m1();
        k -= s * em1;
        if DERIVS {
            let q = a / s;
            let one_minus_q = prev_m / s;
            v = q * (v + one_minus_q * r * r);
            r = q * r + d;
        }
        a = s * (1.0 + em1);
        if is_event {
            // ln of a running product of the S (all >= 1): one ln per
            // ~1e256 of product instead of one per event. Flushed before it
            // can overflow; a huge S (beyond any follower count) is logged
            // on its own.
            if s < 1e32 {
                product *= s;
                if product > 1e256 {
                    sum_ln_s += product.ln();
                    product = 1.0;
                }
            } else {
                sum_ln_s += s.ln();
            }
            if DERIVS {
                out.sum_r += r;
                out.sum_v += v;
            }
            prev_t = t;
            prev_m = marks[i].max(MIN_MARK);
        }
    }
    // sum_{i>=2} beta d_i telescopes to beta (t_n - t_1).
    out.sum_log_a = sum_ln_s + product.ln() - beta * (prev_t - times[0]);
    out.k = k;
    out.a_t = a;
    out.r_t = r;
    out.v_t = v;
    out
}

/// LL of the series (t_i, m_i) observed on [t_1, T) at (p, beta), in O(n).
///
/// Magnitudes are floored at [`MIN_MARK`]. Returns -inf when p or beta is
/// not positive, and 0 for an empty series (nothing was observed).
pub fn log_likelihood(times: &[f64], marks: &[f64], t_obs: f64, p: f64, beta: f64) -> f64 {
    // Also catches a NaN beta.
    if beta.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return f64::NEG_INFINITY;
    }
    BetaPass::value_only(times, marks, t_obs, beta).log_likelihood(p)
}

/// LL with gradient and Hessian in (log p, log beta), in O(n).
pub fn log_likelihood_derivs(
    times: &[f64],
    marks: &[f64],
    t_obs: f64,
    log_p: f64,
    log_beta: f64,
) -> Derivs {
    BetaPass::with_derivs(times, marks, t_obs, log_beta.exp()).derivs(log_p.exp())
}
