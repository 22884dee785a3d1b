//! The O(n) likelihood against the direct O(n^2) formula, and its analytic
//! derivatives against finite differences.

use proptest::prelude::*;

use super::series;
use crate::hawkes::MIN_MARK;
use crate::hawkes::likelihood::{log_likelihood, log_likelihood_derivs};

/// LL straight from the definition: sum_i log lambda(t_i) minus the
/// integral of lambda over [t_1, T), with lambda(t_i) summed over the events
/// before i (log-sum-exp, so long gaps do not underflow to log 0).
/// Returns the value and the sum of the magnitudes of its terms (to scale
/// the rounding tolerance).
fn naive(times: &[f64], marks: &[f64], t_obs: f64, p: f64, beta: f64) -> (f64, f64) {
    let m: Vec<f64> = marks.iter().map(|m| m.max(MIN_MARK)).collect();
    let (mut ll, mut size) = (0.0, 0.0);
    for i in 1..times.len() {
        let logs: Vec<f64> = (0..i)
            .map(|j| m[j].ln() - beta * (times[i] - times[j]))
            .collect();
        let top = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = top + logs.iter().map(|l| (l - top).exp()).sum::<f64>().ln();
        let term = (p * beta).ln() + lse;
        ll += term;
        size += term.abs();
    }
    for j in 0..times.len() {
        // 1 - e^-x as -expm1(-x), as the fast form does: for small x,
        // 1.0 - exp(-x) loses digits and made this reference flaky.
        let term = p * m[j] * -(-beta * (t_obs - times[j])).exp_m1();
        ll -= term;
        size += term.abs();
    }
    (ll, size)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn log_likelihood_matches_the_direct_quadratic_formula(
        (times, marks, t_obs) in series(),
        log_p in -6.0f64..-1.0,
        log_beta in -6.0f64..-1.0,
    ) {
        let (p, beta) = (10f64.powf(log_p), 10f64.powf(log_beta));
        let fast = log_likelihood(&times, &marks, t_obs, p, beta);
        let (slow, size) = naive(&times, &marks, t_obs, p, beta);
        // Both sum the same n terms in different orders and forms: rounding
        // stays within a few ulps of the sum of |terms| per term.
        let tol = 1e-12 * (1.0 + size) * times.len() as f64;
        prop_assert!((fast - slow).abs() <= tol, "{fast} vs {slow} (tol {tol})");
    }

    #[test]
    fn gradient_and_hessian_match_central_finite_differences(
        (times, marks, t_obs) in series(),
        a in -12.0f64..-2.0,
        b in -12.0f64..-2.0,
    ) {
        let d = log_likelihood_derivs(&times, &marks, t_obs, a, b);
        let value = |x: [f64; 2]| log_likelihood_derivs(&times, &marks, t_obs, x[0], x[1]);
        // Central differences with step h in log coordinates err by
        // h^2 |f'''| / 6 (truncation) + eps |f| / h (rounding). All
        // derivatives of LL in (log p, log beta) are O(n + |LL|) here, so
        // with h = 1e-4 both are below 1e-8 (1 + |LL| + n); 1e-6 of that
        // scale leaves a margin while a wrong term (an error of order one
        // derivative) still fails.
        let h = 1e-4;
        let scale = 1.0 + d.value.abs() + times.len() as f64;
        let tol = 1e-6 * scale;
        for j in 0..2 {
            let (mut up, mut dn) = ([a, b], [a, b]);
            up[j] += h;
            dn[j] -= h;
            let (fu, fd) = (value(up), value(dn));
            let grad = (fu.value - fd.value) / (2.0 * h);
            prop_assert!((grad - d.grad[j]).abs() <= tol,
                "grad[{j}]: fd {grad} vs {} (tol {tol})", d.grad[j]);
            for k in 0..2 {
                let hess = (fu.grad[k] - fd.grad[k]) / (2.0 * h);
                prop_assert!((hess - d.hess[j][k]).abs() <= tol,
                    "hess[{j}][{k}]: fd {hess} vs {} (tol {tol})", d.hess[j][k]);
            }
        }
        prop_assert_eq!(d.hess[0][1], d.hess[1][0]);
    }
}

#[test]
fn log_likelihood_stays_finite_at_extreme_inputs() {
    let cases: [(&str, Vec<f64>, Vec<f64>, f64); 6] = [
        ("magnitudes 1e9", vec![0.0, 10.0, 20.0], vec![1e9; 3], 600.0),
        (
            "gaps of 1e6 s",
            vec![0.0, 1e6, 2e6, 3e6],
            vec![100.0; 4],
            4e6,
        ),
        ("a single event", vec![0.0], vec![50.0], 600.0),
        ("identical times", vec![0.0; 5], vec![10.0; 5], 600.0),
        ("identical times, T = 0", vec![0.0; 5], vec![10.0; 5], 0.0),
        ("zero magnitudes", vec![0.0, 1.0, 2.0], vec![0.0; 3], 600.0),
    ];
    for (name, times, marks, t_obs) in cases {
        for a in [-18.0, -4.0, 0.0] {
            for b in [-14.0, -7.0, -4.0, 0.0] {
                let d = log_likelihood_derivs(&times, &marks, t_obs, a, b);
                let all = [d.value, d.grad[0], d.grad[1]]
                    .into_iter()
                    .chain(d.hess.into_iter().flatten());
                for v in all {
                    assert!(v.is_finite(), "{name} at ({a}, {b}): {d:?}");
                }
            }
        }
    }
}

#[test]
fn log_likelihood_is_minus_infinity_outside_the_parameter_space() {
    let (t, m) = ([0.0, 1.0], [10.0, 10.0]);
    assert_eq!(log_likelihood(&t, &m, 2.0, 0.0, 0.1), f64::NEG_INFINITY);
    assert_eq!(log_likelihood(&t, &m, 2.0, 0.1, -1.0), f64::NEG_INFINITY);
    assert_eq!(log_likelihood(&[], &[], 2.0, 0.1, 0.1), 0.0);
}

#[test]
fn log_likelihood_matches_the_direct_formula_across_product_flushes_and_huge_magnitudes() {
    // 80 magnitudes of 1e9 overflow any running product of S many times
    // over; 1e40 takes the path that logs S on its own.
    let times: Vec<f64> = (0..80).map(|i| i as f64 * 3.0).collect();
    let mut marks = vec![1e9; 80];
    marks[10] = 1e40;
    marks[50] = 1e35;
    for beta in [1e-5, 1e-3, 0.1] {
        let fast = log_likelihood(&times, &marks, 300.0, 1e-9, beta);
        let (slow, size) = naive(&times, &marks, 300.0, 1e-9, beta);
        assert!(
            (fast - slow).abs() <= 1e-12 * size * times.len() as f64,
            "beta {beta}: {fast} vs {slow}"
        );
    }
}
