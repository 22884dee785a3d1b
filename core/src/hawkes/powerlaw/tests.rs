//! The power-law likelihood's gradient against finite differences, and the
//! fit's recovery of simulated kernels.

#![allow(clippy::unwrap_used)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::likelihood::{Moment, Series, profiled};
use super::*;
use crate::hawkes::simulate::{power_law_delay, simulate_with_delays};
use crate::hawkes::{FitConfig, FitError, MarkLaw};

/// A cascade of Mishra's model with linear influence (beta = 1), the
/// simulator's parameterisation: p m children per tweet of magnitude m.
fn cascade(seed: u64, n_star: f64, c: f64, theta: f64, root: f64) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let marks = MarkLaw::COURSE;
    simulate_with_delays(
        &mut rng,
        n_star / marks.mean(),
        |r: &mut ChaCha8Rng| power_law_delay(r, c, theta),
        marks,
        Some(root),
        f64::INFINITY,
        20_000,
    )
}

fn check_gradient(series: &Series<'_>, x: [f64; 3]) {
    let pr = profiled(series, x);
    for k in 0..3 {
        let h = 1e-6;
        let (mut up, mut dn) = (x, x);
        up[k] += h;
        dn[k] -= h;
        let fd = (profiled(series, up).value - profiled(series, dn).value) / (2.0 * h);
        let tol = 1e-5 * (1.0 + fd.abs());
        assert!(
            (fd - pr.grad[k]).abs() < tol,
            "d/dx{k} at {x:?}: finite differences {fd}, analytic {}",
            pr.grad[k]
        );
    }
}

#[test]
fn the_gradient_matches_finite_differences() {
    let events = cascade(1, 0.7, 60.0, 0.8, 1000.0);
    let cut: Vec<_> = events.iter().copied().filter(|e| e.0 < 3600.0).collect();
    let (times, marks): (Vec<f64>, Vec<f64>) = cut.into_iter().unzip();
    assert!(times.len() > 20, "{} events", times.len());
    for (moment, prior) in [
        (Moment::Empirical, None),
        (Moment::Law(MarkLaw::COURSE), None),
        (Moment::Empirical, Some((-0.47, 0.47))),
        (Moment::Law(MarkLaw::COURSE), Some((-1.0, 0.2))),
    ] {
        let mut series = Series::new(&times, &marks, 3600.0, moment);
        series.n_star_prior = prior;
        for x in [
            [0.5, 60f64.ln(), 0.8f64.ln()],
            [1.2, 2.0, -1.5],
            [0.1, 8.0, 1.0],
        ] {
            check_gradient(&series, x);
        }
    }
}

#[test]
fn the_gradient_holds_where_n_star_is_capped() {
    // A burst at the end of a short window: the free p would put n* far
    // above 1, so p sits at its bound and the gradient goes through it.
    let times: Vec<f64> = (0..40).map(|i| 500.0 + f64::from(i)).collect();
    let marks = vec![50.0; 40];
    let mut series = Series::new(&times, &marks, 540.0, Moment::Empirical);
    for prior in [None, Some((-0.3, 2.0))] {
        series.n_star_prior = prior;
        let x = [0.7, 3000f64.ln(), 1.5f64.ln()];
        let pr = profiled(&series, x);
        assert!(
            pr.p * pr.moment > 0.999,
            "the bound is not active: n* = {}",
            pr.p * pr.moment
        );
        check_gradient(&series, x);
    }
}

#[test]
fn the_fit_recovers_the_simulated_kernel() {
    // Several long cascades (the first seed giving over 300 tweets), each
    // fitted on its first day.
    for (c, theta) in [(30.0, 0.6), (120.0, 1.0), (300.0, 0.8)] {
        let t_obs = 86_400.0;
        let (times, marks): (Vec<f64>, Vec<f64>) = (0..)
            .map(|seed| cascade(seed, 0.8, c, theta, 10_000.0))
            .map(|e| e.into_iter().filter(|e| e.0 < t_obs).collect::<Vec<_>>())
            .find(|e| e.len() > 300)
            .unwrap()
            .into_iter()
            .unzip();
        let fit = fit_power_law(&times, &marks, t_obs, &FitConfig::default()).unwrap();
        let s = fit.shape;
        let msg = format!("c {c}, theta {theta} (n = {}): {fit:?}", times.len());
        eprintln!("{msg}");
        assert!((s.theta / theta).ln().abs() < 0.3, "theta: {msg}");
        assert!((s.c / c).ln().abs() < 0.7, "c: {msg}");
        assert!((s.beta - 1.0).abs() < 0.2, "beta: {msg}");
        assert!((fit.n_star - 0.8).abs() < 0.15, "n*: {msg}");
    }
}

#[test]
fn the_prior_on_n_star_pulls_the_profiled_p_towards_its_mean() {
    let events = cascade(1, 0.7, 60.0, 0.8, 1000.0);
    let cut: Vec<_> = events.iter().copied().filter(|e| e.0 < 3600.0).collect();
    let (times, marks): (Vec<f64>, Vec<f64>) = cut.into_iter().unzip();
    let x = [0.8, 60f64.ln(), 0.8f64.ln()];
    let mut series = Series::new(&times, &marks, 3600.0, Moment::Empirical);
    let n_star = |s: &Series<'_>| {
        let pr = profiled(s, x);
        pr.p * pr.moment
    };
    let ml = n_star(&series);
    assert!(ml > 0.2 && ml < 0.99, "ML n* = {ml}");
    series.n_star_prior = Some((0.1f64.ln(), 0.3));
    let low = n_star(&series);
    series.n_star_prior = Some((0.999f64.ln(), 0.3));
    let high = n_star(&series);
    assert!(low < ml && ml < high && high < 1.0, "{low} < {ml} < {high}");
}

#[test]
fn bad_series_are_errors_not_nan() {
    let cfg = FitConfig::default();
    assert_eq!(
        fit_power_law(&[], &[], 600.0, &cfg).unwrap_err(),
        FitError::Empty
    );
    assert!(matches!(
        fit_power_law(&[0.0, 10.0, 5.0], &[1.0; 3], 600.0, &cfg),
        Err(FitError::Unsorted { index: 2, .. })
    ));
    assert!(matches!(
        fit_power_law(&[0.0, 700.0], &[1.0; 2], 600.0, &cfg),
        Err(FitError::AfterWindow { .. })
    ));
    // Simultaneous tweets and zero magnitudes are fine.
    let fit = fit_power_law(&[0.0, 0.0, 0.0, 5.0], &[0.0; 4], 600.0, &cfg).unwrap();
    assert!(fit.n_star < 1.0 && fit.g1 >= 0.0);
}

#[test]
fn g1_per_p_is_the_sum_of_the_kernel_tails() {
    let shape = Shape {
        beta: 1.0,
        c: 10.0,
        theta: 1.0,
    };
    // Tails c / (T - t + c): 10/110 and 10/10, times m = 2 and 3.
    let g = g1_per_p(&[0.0, 100.0], &[2.0, 3.0], 100.0, shape);
    assert!((g - (2.0 * 10.0 / 110.0 + 3.0)).abs() < 1e-12, "{g}");
}
