//! Log-likelihood of the power-law Hawkes process with p profiled out, and
//! its analytic gradient in x = (beta, ln c, ln theta).
//!
//! With w_j = m_j^beta and f(d) = (theta / c) (1 + d / c)^-(1 + theta):
//!
//! LL(p, x) = (n-1) ln p + sum_{i>=2} ln S_i - p K, where
//! S_i = sum_{j<i} w_j f(t_i - t_j) (the last [`HISTORY`] parents only) and
//! K = sum_j w_j F(T - t_j), F(d) = 1 - (1 + d / c)^-theta, the
//! compensator per unit p.
//!
//! For fixed x, LL is concave in p with maximum at p = (n-1) / K; the fit
//! keeps n* = p E[m^beta] below 1, so p = min((n-1) / K, p_max(beta)) (or
//! the MAP under a prior on n*, [`profiled`]). The
//! profiled LL is C1 (at the kink dLL/dp = 0), and its gradient is the
//! partial gradient at that p (envelope theorem), plus, when p sits at
//! p_max(beta), the term through p_max.
//!
//! Derivatives of one term, with L = ln(1 + d / c):
//! - d ln f / d beta = 0, d ln w / d beta = ln m;
//! - d ln f / d ln c = -1 + (1 + theta) d / (d + c);
//! - d ln f / d ln theta = 1 - theta L;
//! - dF / d ln c = -theta u d / (d + c), dF / d ln theta = theta u L, with
//!   u = (1 + d / c)^-theta = 1 - F.

use super::HISTORY;
use crate::hawkes::{MIN_MARK, MarkLaw};

/// The kernel's shape: magnitude exponent, offset c (s) and tail exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub beta: f64,
    pub c: f64,
    pub theta: f64,
}

impl Shape {
    /// From x = (beta, ln c, ln theta).
    pub fn from_x(x: [f64; 3]) -> Self {
        Self {
            beta: x[0],
            c: x[1].exp(),
            theta: x[2].exp(),
        }
    }

    pub fn x(&self) -> [f64; 3] {
        [self.beta, self.c.ln(), self.theta.ln()]
    }
}

/// Where E[m^beta] in n* = p E[m^beta] comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Moment {
    /// The mean of m^beta over the observed retweeters (the root left out,
    /// as for the exponential kernel's empirical E[m]).
    Empirical,
    /// The magnitude law: E[m^beta] = mu^beta (alpha - 1) / (alpha - 1 - beta).
    Law(MarkLaw),
}

/// A series ready for the likelihood: times, log magnitudes (floored at
/// [`MIN_MARK`]) and the window.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    pub times: &'a [f64],
    pub log_marks: Vec<f64>,
    pub t_obs: f64,
    pub moment: Moment,
    /// Gaussian prior on ln n*, (mean, sd): with it p is the MAP, not the
    /// ML, given the shape. None: ML.
    pub n_star_prior: Option<(f64, f64)>,
}

impl<'a> Series<'a> {
    pub fn new(times: &'a [f64], marks: &[f64], t_obs: f64, moment: Moment) -> Self {
        Self {
            times,
            log_marks: marks.iter().map(|m| m.max(MIN_MARK).ln()).collect(),
            t_obs,
            moment,
            n_star_prior: None,
        }
    }

    /// ln E[m^beta] and its derivative in beta.
    pub fn log_moment(&self, beta: f64) -> (f64, f64) {
        match self.moment {
            Moment::Law(law) => {
                let a = law.alpha - 1.0;
                let v = beta * law.mu.ln() + a.ln() - (a - beta).ln();
                (v, law.mu.ln() + 1.0 / (a - beta))
            }
            Moment::Empirical => {
                let lm = if self.log_marks.len() > 1 {
                    &self.log_marks[1..]
                } else {
                    &self.log_marks[..]
                };
                // Shifted by the largest exponent so that m^beta never
                // overflows.
                let top = lm.iter().fold(f64::NEG_INFINITY, |a, &l| a.max(beta * l));
                let (mut s, mut s1) = (0.0, 0.0);
                for &l in lm {
                    let w = (beta * l - top).exp();
                    s += w;
                    s1 += w * l;
                }
                (top + (s / lm.len() as f64).ln(), s1 / s)
            }
        }
    }
}

/// The profiled log-likelihood at x (plus the log prior on n* when there
/// is one), with the p that attains it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profiled {
    pub value: f64,
    /// d value / d (beta, ln c, ln theta).
    pub grad: [f64; 3],
    pub p: f64,
    /// E[m^beta] at this beta: n* = p moment.
    pub moment: f64,
    /// G1 per unit p.
    pub a_t: f64,
}

/// Largest n* the fit allows, as for the exponential kernel.
pub const N_STAR_MAX: f64 = 1.0 - 1e-8;

/// LL (+ log prior on n*) maximised over p (n* below [`N_STAR_MAX`]) at
/// shape x, with its gradient: O(n min(n, HISTORY)).
///
/// With the prior N(m, s^2) on ln n* = a + ln E[m^beta] (a = ln p), the
/// objective in a, (n-1) a - e^a K - (a + ln E - m)^2 / (2 s^2), is
/// strictly concave: a safeguarded 1-D Newton finds its maximum.
pub fn profiled(series: &Series<'_>, x: [f64; 3]) -> Profiled {
    let Shape { beta, c, theta } = Shape::from_x(x);
    let times = series.times;
    let lm = &series.log_marks;
    let n = times.len().min(lm.len());
    let w: Vec<f64> = lm.iter().map(|&l| (beta * l).exp()).collect();
    // sum_{i>=2} ln S_i and its derivatives.
    let (mut sum_ln_s, mut g) = (0.0, [0.0; 3]);
    let (log_scale, one_theta) = ((theta / c).ln(), 1.0 + theta);
    for i in 1..n {
        let ti = times[i];
        let (mut s, mut sb, mut sc, mut st) = (0.0, 0.0, 0.0, 0.0);
        for j in i.saturating_sub(HISTORY)..i {
            let d = ti - times[j];
            let l = (d / c).ln_1p();
            let f = w[j] * (-one_theta * l).exp();
            s += f;
            sb += f * lm[j];
            sc += f * (one_theta * d / (d + c) - 1.0);
            st += f * (1.0 - theta * l);
        }
        let s = s.max(f64::MIN_POSITIVE);
        sum_ln_s += s.ln();
        g[0] += sb / s;
        g[1] += sc / s;
        g[2] += st / s;
    }
    let children = n.saturating_sub(1) as f64;
    sum_ln_s += children * log_scale;
    // The compensator K, its derivatives, and A_T = sum w u.
    let (mut k, mut kb, mut kc, mut kt, mut a_t) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for j in 0..n {
        let d = (series.t_obs - times[j]).max(0.0);
        let l = (d / c).ln_1p();
        let u = (-theta * l).exp();
        let big_f = -(-theta * l).exp_m1();
        k += w[j] * big_f;
        kb += w[j] * big_f * lm[j];
        kc -= w[j] * theta * u * d / (d + c);
        kt += w[j] * theta * u * l;
        a_t += w[j] * u;
    }
    let (log_moment, dlog_moment) = series.log_moment(beta);
    let moment = log_moment.exp();
    let a_max = (N_STAR_MAX / moment).ln();
    let a = match series.n_star_prior {
        None if k > 0.0 && children > 0.0 => (children / k).ln().min(a_max),
        None if children > 0.0 => a_max,
        None => f64::NEG_INFINITY,
        Some((m, s)) => map_log_p(children, k, log_moment - m, s, a_max),
    };
    let p = a.exp();
    let mut value = if children > 0.0 {
        children * a + sum_ln_s - p * k
    } else {
        -p * k
    };
    let mut grad = [g[0] - p * kb, g[1] - p * kc, g[2] - p * kt];
    // dvalue/da: zero at an interior optimum; at a = a_max(beta) the value
    // moves with the bound, d a_max / d beta = -d ln E / d beta.
    let mut dvalue_da = children - p * k;
    if let Some((m, s)) = series.n_star_prior {
        let z = (a + log_moment - m) / s;
        value -= 0.5 * z * z;
        grad[0] -= z / s * dlog_moment;
        dvalue_da -= z / s;
    }
    if a >= a_max && dvalue_da > 0.0 {
        grad[0] -= dvalue_da * dlog_moment;
    }
    Profiled {
        value,
        grad,
        p,
        moment,
        a_t,
    }
}

/// argmax over a <= a_max of (n-1) a - e^a K - (a + shift)^2 / (2 s^2),
/// shift = ln E[m^beta] - prior mean: Newton safeguarded by bisection.
fn map_log_p(children: f64, k: f64, shift: f64, s: f64, a_max: f64) -> f64 {
    let prec = 1.0 / (s * s);
    let slope = |a: f64| children - a.exp() * k - (a + shift) * prec;
    if slope(a_max) >= 0.0 {
        return a_max;
    }
    // slope(-shift - (K + 1) s^2 - ...) > 0 far enough left: walk down.
    let mut lo = (-shift).min(a_max) - 1.0;
    while slope(lo) < 0.0 {
        lo -= 2.0 * (a_max - lo).max(1.0);
    }
    let curvature = |a: f64| a.exp() * k + prec;
    let start = 0.5 * (lo + a_max);
    crate::hawkes::root::decreasing_root(slope, curvature, (lo, a_max), start, 100, 1e-12)
}
