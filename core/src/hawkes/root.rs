//! A safeguarded 1-D Newton root finder: the exponential and power-law
//! fits profile p out with it.

/// The root of a decreasing function `slope` inside the bracket
/// [`lo`, `hi`], starting at `a`: Newton steps with `curvature` (its
/// derivative, negated), a bisection whenever a step would leave the
/// bracket; stops once a step or the bracket is under `tol`. Both fits use
/// it to profile p out (a concave posterior in log p).
pub(crate) fn decreasing_root(
    slope: impl Fn(f64) -> f64,
    curvature: impl Fn(f64) -> f64,
    (mut lo, mut hi): (f64, f64),
    mut a: f64,
    iterations: usize,
    tol: f64,
) -> f64 {
    for _ in 0..iterations {
        let g = slope(a);
        if g > 0.0 {
            lo = a;
        } else {
            hi = a;
        }
        let mut next = a + g / curvature(a);
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - a).abs() < tol || hi - lo < tol {
            return next;
        }
        a = next;
    }
    a
}
