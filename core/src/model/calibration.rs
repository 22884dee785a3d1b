//! What the forest's point does not say: how far off it tends to be, and
//! which number to report so that the error the product is judged by,
//! ARE = |N_pred - N_true| / N_true, is smallest.
//!
//! The forest regresses y = ln(n_tot / n_obs) with squared error, so its
//! output y^ estimates the mean of ln N (N the final size): roughly the
//! median of N. The residuals r = y - y^ of samples the forest did not see
//! (out-of-bag: each tree skips about a third of the samples) describe the
//! predictive distribution around that point: ln N = ln n_obs + y^ + r.
//!
//! **The ARE-optimal point.** Reporting N_pred = n_obs exp(y^ + c) costs
//! ARE = |exp(c - r) - 1| = exp(-r) |exp(c) - exp(r)|, so the expected ARE
//! is a sum of |exp(c) - exp(r_i)| weighted by exp(-r_i): it is smallest
//! when exp(c) is the weighted median of exp(r_i) under weights exp(-r_i),
//! i.e. the median of the predictive distribution reweighted by 1 / N. For
//! a log-normal predictive (r ~ N(m, s^2)) the reweighting shifts the
//! normal by -s^2, so c = m - s^2 and N_pred = exp(mu - s^2), below the
//! median exp(mu): under ARE, overestimating by a factor k costs k - 1,
//! underestimating by the same factor only 1 - 1/k. We use the empirical
//! weighted median rather than the log-normal formula: residuals of growth
//! ratios are skewed (N >= n_obs), and the empirical one is the exact
//! minimiser of the mean ARE over the out-of-bag samples whatever their law.
//!
//! **Where it varies.** The spread is not the same everywhere: a cascade the
//! forest expects to grow tenfold is less certain than one that has nearly
//! ended. The out-of-bag predictions are cut into up to [`MAX_BINS`] bins of
//! equal counts by y^, and each bin has its own shift and quantiles; a
//! prediction uses the bin its y^ falls in.
//!
//! **Intervals.** The 10 % and 90 % quantiles of a bin's residuals give an
//! 80 % interval n_obs exp(y^ + q), floored at n_obs (a cascade never
//! shrinks); `eval` measures its coverage.

use serde::{Deserialize, Serialize};

/// Bins of the calibration, at most.
pub const MAX_BINS: usize = 4;

/// Out-of-bag residuals per bin, at least: fewer bins when there are fewer.
pub const MIN_PER_BIN: usize = 250;

/// Quantiles of the interval, as probabilities.
pub const INTERVAL: (f64, f64) = (0.1, 0.9);

/// One region of the forest's output and its residuals' summary, in log
/// space (add to y^).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// This bin holds y^ below this bound (the last bin has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// The ARE-optimal shift: weighted median of r, weights exp(-r).
    pub are_shift: f64,
    /// The median of r.
    pub median_shift: f64,
    /// The residuals' standard deviation s (for reference: the log-normal
    /// ARE-optimal shift would be mean - s^2).
    pub sd: f64,
    /// The 10 % and 90 % quantiles of r.
    pub low: f64,
    pub high: f64,
    /// Out-of-bag residuals behind this bin.
    pub n: u64,
}

/// A window's calibration: bins sorted by their bound. Travels in the model
/// envelope (format 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub bins: Vec<Bin>,
}

/// The sizes a calibrated prediction offers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    /// The median of the predictive distribution.
    pub median: f64,
    /// The point that minimises the expected ARE.
    pub are_optimal: f64,
    /// The 80 % interval.
    pub low: f64,
    pub high: f64,
}

/// The `q`-quantile of sorted `v` (nearest rank); `v` is not empty.
fn quantile(v: &[f64], q: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The weighted median of `r` under weights exp(-r): see the module
/// documentation. `r` is sorted and not empty.
pub fn are_optimal_shift(r: &[f64]) -> f64 {
    // Weights relative to the smallest residual's, so none overflows.
    let r0 = r[0];
    let weights: Vec<f64> = r.iter().map(|x| (r0 - x).exp()).collect();
    let half = weights.iter().sum::<f64>() / 2.0;
    let mut acc = 0.0;
    for (x, w) in r.iter().zip(&weights) {
        acc += w;
        if acc >= half {
            return *x;
        }
    }
    r[r.len() - 1]
}

fn summarise(mut r: Vec<f64>, below: Option<f64>) -> Bin {
    r.sort_by(f64::total_cmp);
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    Bin {
        below,
        are_shift: are_optimal_shift(&r),
        median_shift: quantile(&r, 0.5),
        sd,
        low: quantile(&r, INTERVAL.0),
        high: quantile(&r, INTERVAL.1),
        n: r.len() as u64,
    }
}

impl Calibration {
    /// From pairs (y^ out-of-bag, y): None when no pair is finite.
    pub fn fit(pairs: &[(f64, f64)]) -> Option<Calibration> {
        let mut pairs: Vec<(f64, f64)> = pairs
            .iter()
            .copied()
            .filter(|(p, y)| p.is_finite() && y.is_finite())
            .collect();
        if pairs.is_empty() {
            return None;
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let bins = (pairs.len() / MIN_PER_BIN).clamp(1, MAX_BINS);
        let per = pairs.len().div_ceil(bins);
        let chunks: Vec<&[(f64, f64)]> = pairs.chunks(per).collect();
        let last = chunks.len() - 1;
        let bins = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                // The bound halfway between this bin's largest y^ and the
                // next bin's smallest.
                let below = (i < last).then(|| {
                    let next = chunks[i + 1][0].0;
                    (chunk[chunk.len() - 1].0 + next) / 2.0
                });
                summarise(chunk.iter().map(|(p, y)| y - p).collect(), below)
            })
            .collect();
        Some(Calibration { bins })
    }

    /// The bin for a forest output `y_hat`.
    pub fn bin(&self, y_hat: f64) -> Option<&Bin> {
        self.bins
            .iter()
            .find(|b| b.below.is_none_or(|below| y_hat < below))
            .or(self.bins.last())
    }

    /// The sizes for a cascade with `n_obs` tweets whose forest output (log
    /// growth) is `y_hat`. None without a bin or when a size is not finite.
    pub fn sizes(&self, n_obs: f64, y_hat: f64) -> Option<Sizes> {
        let b = self.bin(y_hat)?;
        let size = |shift: f64| (n_obs * (y_hat + shift).exp()).max(n_obs);
        let s = Sizes {
            median: size(b.median_shift),
            are_optimal: size(b.are_shift),
            low: size(b.low),
            high: size(b.high),
        };
        [s.median, s.are_optimal, s.low, s.high]
            .iter()
            .all(|v| v.is_finite())
            .then_some(s)
    }

    /// Whether every number is finite and the bins are in order: a
    /// received calibration is checked before use.
    pub fn is_valid(&self) -> bool {
        let finite = self.bins.iter().all(|b| {
            [b.are_shift, b.median_shift, b.sd, b.low, b.high]
                .iter()
                .chain(b.below.as_ref())
                .all(|v| v.is_finite())
                && b.low <= b.high
        });
        let bounds: Vec<f64> = self.bins.iter().filter_map(|b| b.below).collect();
        finite
            && !self.bins.is_empty()
            && bounds.len() == self.bins.len() - 1
            && self.bins.last().is_some_and(|b| b.below.is_none())
            && bounds.windows(2).all(|w| w[0] <= w[1])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    use super::*;

    #[test]
    fn the_are_optimal_shift_of_normal_residuals_is_minus_their_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for s in [0.3, 0.6, 1.0] {
            let normal = Normal::new(0.0, s).unwrap();
            let mut r: Vec<f64> = (0..40_000).map(|_| normal.sample(&mut rng)).collect();
            r.sort_by(f64::total_cmp);
            let c = are_optimal_shift(&r);
            assert!((c + s * s).abs() < 0.05, "s {s}: shift {c}");
        }
    }

    #[test]
    fn the_are_optimal_shift_minimises_the_mean_are_of_the_residuals() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let normal = Normal::new(0.2, 0.7).unwrap();
        // Skewed: the positive side stretched.
        let mut r: Vec<f64> = (0..5_000)
            .map(|_| {
                let x: f64 = normal.sample(&mut rng);
                if x > 0.0 { 2.0 * x } else { x }
            })
            .collect();
        r.sort_by(f64::total_cmp);
        let mean_are =
            |c: f64| r.iter().map(|x| ((c - x).exp() - 1.0).abs()).sum::<f64>() / r.len() as f64;
        let best = are_optimal_shift(&r);
        for c in (-40..=40).map(|i| f64::from(i) / 20.0) {
            assert!(mean_are(best) <= mean_are(c) + 1e-12, "{c} beats {best}");
        }
    }

    #[test]
    fn bins_follow_the_spread_where_it_changes() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let unit = Normal::new(0.0, 1.0).unwrap();
        // y^ in [0, 2): spread 0.2 below 1, 1.0 above.
        let pairs: Vec<(f64, f64)> = (0..4_000)
            .map(|i| {
                let p = f64::from(i) / 2_000.0;
                let s = if p < 1.0 { 0.2 } else { 1.0 };
                let r: f64 = unit.sample(&mut rng);
                (p, p + s * r)
            })
            .collect();
        let cal = Calibration::fit(&pairs).unwrap();
        assert_eq!(cal.bins.len(), MAX_BINS);
        assert!(cal.is_valid());
        let (narrow, wide) = (cal.bin(0.2).unwrap(), cal.bin(1.8).unwrap());
        assert!((narrow.sd - 0.2).abs() < 0.03, "{narrow:?}");
        assert!((wide.sd - 1.0).abs() < 0.1, "{wide:?}");
        assert!(wide.are_shift < narrow.are_shift - 0.5);
        let s = cal.sizes(10.0, 1.8).unwrap();
        assert!(s.low <= s.are_optimal && s.are_optimal < s.median && s.median <= s.high);
        assert!(s.low >= 10.0);
    }

    #[test]
    fn the_interval_covers_its_nominal_share_of_new_residuals() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let normal = Normal::new(0.0, 0.5).unwrap();
        let mut draw = |n: usize| -> Vec<(f64, f64)> {
            (0..n)
                .map(|_| (0.0, 1.0 + normal.sample(&mut rng)))
                .collect()
        };
        let cal = Calibration::fit(&draw(2_000)).unwrap();
        let fresh = draw(10_000);
        let inside = fresh
            .iter()
            .filter(|(_, y)| {
                let s = cal.sizes(1.0, 0.0).unwrap();
                let n = y.exp();
                s.low <= n && n <= s.high
            })
            .count() as f64
            / fresh.len() as f64;
        assert!((inside - 0.8).abs() < 0.03, "coverage {inside}");
    }

    #[test]
    fn few_or_no_residuals_give_one_bin_or_none() {
        assert_eq!(Calibration::fit(&[]), None);
        assert_eq!(Calibration::fit(&[(f64::NAN, 1.0)]), None);
        let cal = Calibration::fit(&[(0.0, 0.5), (0.1, 0.2), (0.2, 0.1)]).unwrap();
        assert_eq!(cal.bins.len(), 1);
        assert!(cal.is_valid());
    }

    #[test]
    fn a_calibration_with_non_finite_numbers_or_unordered_bins_is_invalid() {
        let cal =
            Calibration::fit(&(0..600).map(|i| (f64::from(i), 1.0)).collect::<Vec<_>>()).unwrap();
        assert!(cal.is_valid());
        let mut bad = cal.clone();
        bad.bins[0].are_shift = f64::NAN;
        assert!(!bad.is_valid());
        let mut bad = cal.clone();
        bad.bins.reverse();
        assert!(!bad.is_valid());
        assert!(!Calibration { bins: vec![] }.is_valid());
    }
}
