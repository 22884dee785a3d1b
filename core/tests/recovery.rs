//! Parameter recovery of the MAP fit on simulated cascades of known (p, beta),
//! and agreement of the hand-written Newton with argmin's Nelder-Mead.
#![allow(clippy::expect_used)]

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tweetoscope_core::hawkes::simulate::simulate_cascade;
use tweetoscope_core::hawkes::{FitConfig, MarkLaw, Prior, Solver, fit_map, log_posterior_derivs};

const P_TRUE: f64 = 0.015; // n* = 0.525 with the course's E[m] = 35
const BETA_TRUE: f64 = 1e-3; // mean delay ~17 min
/// Root magnitude: E[N] = 1 + p m / (1 - n*) ~ 300 events.
const ROOT_MARK: f64 = 10_000.0;
/// Window of 100 mean delays: cascades are nearly complete (the likelihood
/// accounts for the censoring anyway).
const T_OBS: f64 = 100.0 / BETA_TRUE;
/// Guards against a runaway draw; ~300 events expected, never reached in
/// practice (a capped cascade would not follow the model).
const MAX_EVENTS: usize = 200_000;

/// Cascades per test (both tests run in about a second in debug builds).
const CASCADES: usize = 300;

fn cascades(count: usize, seed: u64) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let events = simulate_cascade(
                &mut rng,
                P_TRUE,
                BETA_TRUE,
                MarkLaw::COURSE,
                Some(ROOT_MARK),
                T_OBS,
                MAX_EVENTS,
            );
            assert!(events.len() < MAX_EVENTS, "runaway cascade");
            events.into_iter().unzip()
        })
        .collect()
}

/// A log-normal prior whose log-median is the truth, with log-variance
/// ln 2 (std = mean) and no correlation: its gradient vanishes at the truth,
/// so it adds no first-order bias and the MAP behaves like the MLE; its
/// precision (1.4) is tiny next to the ~300 units of information per
/// cascade. (The course prior would pull beta by ~0.1 standard error and
/// blur what this test checks: the likelihood and the solver.)
fn centred_config() -> FitConfig {
    // mean_log = ln m - ln(1 + (s/m)^2) / 2 = ln m - ln 2 / 2 with s = m.
    let m = [P_TRUE * 2f64.sqrt(), BETA_TRUE * 2f64.sqrt()];
    FitConfig {
        prior: Prior {
            mean: m,
            std: m,
            corr: 0.0,
        },
        ..FitConfig::default()
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Recovery check. Under the usual asymptotics each standardized error
/// z = (estimate - truth) / se, with se from the inverse observed information
/// (minus the Hessian of the log posterior at the estimate), is N(0, 1).
/// Over N independent cascades, mean(z) then has standard deviation
/// 1/sqrt(N) and the sample sd of z has about 1/sqrt(2N). The bounds are 4 of
/// those (a false alarm below 1e-4 per bound) plus 0.05 for the O(1/n) bias of
/// the MLE at ~300 events, measured at |mean z| <= 0.04 and |sd - 1| <= 0.02
/// on 3000 cascades (two other seeds). With N = 300: |mean z| <= 0.28 and
/// |sd z - 1| <= 0.21. A wrong Hessian (se off by 25 %) or an estimator
/// biased by 0.3 se fails them.
#[test]
fn map_estimates_recover_the_simulated_parameters_within_their_standard_errors() {
    let cfg = centred_config();
    let truth = [P_TRUE.ln(), BETA_TRUE.ln()];
    let (lo, hi) = cfg.beta_bounds;
    let mut z = [Vec::new(), Vec::new()];
    for (times, marks) in cascades(CASCADES, 1) {
        let fit = fit_map(&times, &marks, T_OBS, &cfg).expect("fit");
        assert_eq!(fit.solver, Solver::Newton);
        // z means nothing at a bound; the truth is far from all of them.
        assert!(
            fit.n_star < 0.99 && fit.beta > lo * 1.01 && fit.beta < hi * 0.99,
            "{fit:?}"
        );
        let x = [fit.p.ln(), fit.beta.ln()];
        let d = log_posterior_derivs(&times, &marks, T_OBS, &cfg, x[0], x[1]).expect("derivs");
        // Standard errors: sqrt of the diagonal of the inverse observed
        // information I = -H (2x2 inverse written out).
        let i = [
            [-d.hess[0][0], -d.hess[0][1]],
            [-d.hess[1][0], -d.hess[1][1]],
        ];
        let det = i[0][0] * i[1][1] - i[0][1] * i[1][0];
        assert!(
            det > 0.0 && i[0][0] > 0.0,
            "information not positive definite: {i:?}"
        );
        let se = [(i[1][1] / det).sqrt(), (i[0][0] / det).sqrt()];
        for j in 0..2 {
            z[j].push((x[j] - truth[j]) / se[j]);
        }
    }
    let n = CASCADES as f64;
    let mean_bound = 4.0 / n.sqrt() + 0.05;
    let sd_bound = 4.0 / (2.0 * n).sqrt() + 0.05;
    for (j, name) in ["log p", "log beta"].iter().enumerate() {
        let (mean, sd) = mean_sd(&z[j]);
        assert!(
            mean.abs() <= mean_bound,
            "{name}: mean z {mean} > {mean_bound}"
        );
        assert!(
            (sd - 1.0).abs() <= sd_bound,
            "{name}: sd z {sd} off 1 by > {sd_bound}"
        );
    }
}

/// Newton against argmin's Nelder-Mead (derivative-free, so blind to any
/// error in the analytic derivatives) and trust region, on the course
/// configuration, with each cascade cut at a window of 5 min to the full
/// 100 mean delays so that both early, sparse series and complete ones are
/// fitted. Nelder-Mead stops when the costs of its simplex spread by less
/// than 1e-13 n, i.e. within ~1e-6 of the optimum in (log p, log beta):
/// 1e-4 leaves a margin. Newton, converged to a zero gradient, must be at
/// least as good as Nelder-Mead, up to rounding of the log posterior.
#[test]
fn newton_agrees_with_nelder_mead_and_the_trust_region_on_the_same_posterior() {
    let windows = [300.0, 1200.0, 3600.0, T_OBS];
    let mut fallbacks = 0;
    for (k, (times, marks)) in cascades(CASCADES, 2).into_iter().enumerate() {
        let t_obs = windows[k % windows.len()];
        let n = times.partition_point(|&t| t < t_obs);
        let (times, marks) = (&times[..n], &marks[..n]);
        let fit = |solver| {
            let cfg = FitConfig {
                solver,
                ..FitConfig::default()
            };
            fit_map(times, marks, t_obs, &cfg).expect("fit")
        };
        let (newton, nm, tr) = (
            fit(Solver::Newton),
            fit(Solver::NelderMead),
            fit(Solver::TrustRegion),
        );
        fallbacks += usize::from(newton.solver != Solver::Newton);
        assert!(
            newton.log_posterior >= nm.log_posterior - 1e-9,
            "n = {n}: Newton {newton:?} worse than Nelder-Mead {nm:?}"
        );
        for other in [nm, tr] {
            let rel = |a: f64, b: f64| (a / b).ln().abs();
            assert!(
                rel(newton.p, other.p) < 1e-4 && rel(newton.beta, other.beta) < 1e-4,
                "n = {n}, T = {t_obs}: Newton {newton:?} vs {other:?}"
            );
        }
    }
    assert_eq!(fallbacks, 0, "Newton fell back to Nelder-Mead");
}
