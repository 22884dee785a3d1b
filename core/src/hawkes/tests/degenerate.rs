//! fit_map on degenerate and invalid series: an estimate with finite values
//! or an error saying why, never NaN.

use proptest::prelude::*;

use super::series;
use crate::hawkes::{Fit, FitConfig, FitError, MarkLaw, MarkMean, Solver, fit_map};

const SOLVERS: [Solver; 3] = [Solver::Newton, Solver::TrustRegion, Solver::NelderMead];

fn assert_finite_or_error(name: &str, result: &Result<Fit, FitError>) {
    if let Ok(f) = result {
        let values = [f.p, f.beta, f.n_star, f.g1, f.log_posterior, f.mark_mean];
        assert!(values.iter().all(|v| v.is_finite()), "{name}: {f:?}");
        assert!(f.n_star < 1.0, "{name}: {f:?}");
    }
}

fn degenerate_series() -> Vec<(&'static str, Vec<f64>, Vec<f64>, f64)> {
    vec![
        ("magnitudes 1e9", vec![0.0, 10.0, 20.0], vec![1e9; 3], 600.0),
        (
            "gaps of 1e6 s",
            vec![0.0, 1e6, 2e6, 3e6],
            vec![100.0; 4],
            4e6,
        ),
        ("a single event", vec![0.0], vec![50.0], 600.0),
        ("a single event at T", vec![0.0], vec![50.0], 0.0),
        ("identical times", vec![0.0; 5], vec![10.0; 5], 600.0),
        ("identical times at T", vec![0.0; 5], vec![10.0; 5], 0.0),
        ("zero magnitudes", vec![0.0, 1.0, 2.0], vec![0.0; 3], 600.0),
        (
            "a burst then silence",
            (0..50).map(|i| i as f64 * 0.01).collect(),
            vec![1e4; 50],
            1e6,
        ),
    ]
}

#[test]
fn fits_of_degenerate_series_are_finite_or_errors() {
    for (name, times, marks, t_obs) in degenerate_series() {
        for solver in SOLVERS {
            for mark_mean in [MarkMean::Law, MarkMean::Empirical] {
                let cfg = FitConfig {
                    solver,
                    mark_mean,
                    ..FitConfig::default()
                };
                let result = fit_map(&times, &marks, t_obs, &cfg);
                let label = format!("{name} / {solver:?} / {mark_mean:?}");
                assert_finite_or_error(&label, &result);
                // Only E[m] = 1e9 leaves no room for p: every other case
                // must produce an estimate.
                let impossible = name == "magnitudes 1e9" && mark_mean == MarkMean::Empirical;
                assert_eq!(result.is_err(), impossible, "{label}: {result:?}");
            }
        }
    }
}

#[test]
fn invalid_series_are_rejected_with_a_reason() {
    let cfg = FitConfig::default();
    let fit = |t: &[f64], m: &[f64], t_obs| fit_map(t, m, t_obs, &cfg);
    assert_eq!(fit(&[], &[], 600.0), Err(FitError::Empty));
    assert!(matches!(
        fit(&[0.0, 1.0], &[1.0], 600.0),
        Err(FitError::LengthMismatch { .. })
    ));
    assert!(matches!(
        fit(&[0.0, 5.0, 1.0], &[1.0; 3], 600.0),
        Err(FitError::Unsorted { index: 2, .. })
    ));
    assert!(matches!(
        fit(&[0.0, 700.0], &[1.0; 2], 600.0),
        Err(FitError::AfterWindow { .. })
    ));
    assert_eq!(
        fit(&[0.0, f64::NAN], &[1.0; 2], 600.0),
        Err(FitError::NonFinite)
    );
    assert_eq!(
        fit(&[0.0], &[f64::INFINITY], 600.0),
        Err(FitError::NonFinite)
    );
    let heavy = FitConfig {
        marks: MarkLaw {
            alpha: 2.0,
            mu: 1.0,
        },
        ..FitConfig::default()
    };
    assert!(matches!(
        fit_map(&[0.0], &[1.0], 600.0, &heavy),
        Err(FitError::MarkMean(_))
    ));
    let backwards = FitConfig {
        beta_bounds: (0.1, 0.01),
        ..FitConfig::default()
    };
    assert!(matches!(
        fit_map(&[0.0], &[1.0], 600.0, &backwards),
        Err(FitError::BetaBounds(..))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn newton_fits_random_series_without_falling_back_or_leaving_the_box(
        (times, marks, t_obs) in series(),
    ) {
        let cfg = FitConfig::default();
        let f = fit_map(&times, &marks, t_obs, &cfg);
        prop_assert!(f.is_ok(), "{f:?}");
        let Ok(f) = f else { unreachable!() };
        prop_assert_eq!(f.solver, Solver::Newton);
        prop_assert!(f.n_star < 1.0 && f.p >= 1e-8 * (1.0 - 1e-12));
        let (lo, hi) = cfg.beta_bounds;
        prop_assert!(f.beta >= lo * (1.0 - 1e-12) && f.beta <= hi * (1.0 + 1e-12));
    }
}
