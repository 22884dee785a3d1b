//! Simulation of marked Hawkes cascades by their branching structure.
//!
//! Each event of magnitude m has Poisson(p * m) direct children, each born
//! an Exp(beta) delay later with a fresh power-law magnitude. That is exactly
//! the cluster representation of the intensity of SPEC §5, and it costs O(n)
//! per cascade where thinning would cost O(n^2).

use rand::Rng;
use rand_distr::{Distribution, Exp, Poisson};

use super::MarkLaw;

impl MarkLaw {
    /// Draws one magnitude by inversion: m = mu * U^(-1 / (alpha - 1)).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
        self.mu * u.powf(-1.0 / (self.alpha - 1.0))
    }
}

/// A simulated cascade: `(time, magnitude)` in time order, the root at 0.
///
/// `root_mark` is the first tweet's magnitude (None: drawn from `marks`).
/// Stops growing at `max_events` events or past `t_max` seconds, so a
/// (near-)critical draw cannot run away.
pub fn simulate_cascade<R: Rng + ?Sized>(
    rng: &mut R,
    p: f64,
    beta: f64,
    marks: MarkLaw,
    root_mark: Option<f64>,
    t_max: f64,
    max_events: usize,
) -> Vec<(f64, f64)> {
    let Ok(delay) = Exp::new(beta) else {
        let root = root_mark.unwrap_or_else(|| marks.sample(rng));
        return vec![(0.0, root)];
    };
    simulate_with_delays(
        rng,
        p,
        |r: &mut R| delay.sample(r),
        marks,
        root_mark,
        t_max,
        max_events,
    )
}

/// The power-law kernel of Mishra et al. normalised to a density,
/// theta c^theta (tau + c)^-(1 + theta) (a Lomax law), drawn by inversion:
/// tau = c (U^(-1/theta) - 1). Its tail is heavy: for theta <= 1 the mean
/// delay is infinite.
pub fn power_law_delay<R: Rng + ?Sized>(rng: &mut R, c: f64, theta: f64) -> f64 {
    let u: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    c * (u.powf(-1.0 / theta) - 1.0)
}

/// [`simulate_cascade`] with any delay law between a tweet and its
/// retweets (`delay` draws one): the branching structure is the same.
pub fn simulate_with_delays<R: Rng + ?Sized>(
    rng: &mut R,
    p: f64,
    mut delay: impl FnMut(&mut R) -> f64,
    marks: MarkLaw,
    root_mark: Option<f64>,
    t_max: f64,
    max_events: usize,
) -> Vec<(f64, f64)> {
    let root = root_mark.unwrap_or_else(|| marks.sample(rng));
    let mut events = vec![(0.0, root)];
    let mut next = 0;
    while next < events.len() && events.len() < max_events {
        let (t, m) = events[next];
        next += 1;
        let Ok(children) = Poisson::new(p * m) else {
            continue; // p * m == 0: no child
        };
        let k = children.sample(rng) as usize;
        for _ in 0..k.min(max_events - events.len()) {
            let tc = t + delay(rng);
            if tc <= t_max {
                events.push((tc, marks.sample(rng)));
            }
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn power_law_delays_follow_their_distribution_function() {
        // P(tau <= x) = 1 - (c / (x + c))^theta.
        let (c, theta) = (60.0, 0.6);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let d: Vec<f64> = (0..50_000)
            .map(|_| power_law_delay(&mut rng, c, theta))
            .collect();
        for x in [10.0, 60.0, 600.0, 86_400.0] {
            let got = d.iter().filter(|t| **t <= x).count() as f64 / d.len() as f64;
            let cdf = 1.0 - (c / (x + c)).powf(theta);
            assert!((got - cdf).abs() < 0.01, "x {x}: {got} vs {cdf}");
        }
    }

    #[test]
    fn mean_cascade_size_matches_branching_theory() {
        // E[N] = 1 + p m_root / (1 - n*) for a cascade started by m_root.
        // Marks with alpha = 3.5 have a finite variance, so the sample mean
        // obeys the CLT: the bound is 4 standard errors of the sample itself.
        let marks = MarkLaw {
            alpha: 3.5,
            mu: 10.0,
        };
        let (p, root) = (0.03, 50.0);
        let n_star = p * marks.mean();
        let expected = 1.0 + p * root / (1.0 - n_star);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let sizes: Vec<f64> = (0..20_000)
            .map(|_| {
                simulate_cascade(
                    &mut rng,
                    p,
                    0.001,
                    marks,
                    Some(root),
                    f64::INFINITY,
                    1_000_000,
                )
                .len() as f64
            })
            .collect();
        let n = sizes.len() as f64;
        let mean = sizes.iter().sum::<f64>() / n;
        let sd = (sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let se = sd / n.sqrt();
        assert!(
            (mean - expected).abs() < 4.0 * se,
            "mean {mean} vs {expected} (se {se})"
        );
    }

    #[test]
    fn events_are_sorted_and_start_at_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = simulate_cascade(&mut rng, 0.025, 0.01, MarkLaw::COURSE, None, 1e6, 10_000);
        assert_eq!(c[0].0, 0.0);
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(c.iter().all(|&(_, m)| m >= MarkLaw::COURSE.mu));
    }
}
