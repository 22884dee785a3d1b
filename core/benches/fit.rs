//! Fits per second of the MAP estimator on one core, per solver and series
//! length: the numbers behind the choice of a hand-written Newton (see
//! `core/src/hawkes/newton.rs`).
//!
//! Series are simulated cascades (course parameters: p = 0.02, beta = 1e-3,
//! course magnitudes) cut after their first n events, the window ending
//! between the n-th and the next event: what the estimator sees mid-cascade.
//! Each iteration fits the next of 16 such series, so one easy series does
//! not set the figure. Throughput is reported in "elements" = fits.
//!
//! The power-law kernel (`fit-power-law/n=...`) is fitted on cascades of
//! its own model (linear influence, c = 60 s, theta = 0.8, n* = 0.8), cut
//! the same way: its fit is O(n min(n, 500)) per evaluation.
//!
//! Run: `cargo bench -p tweetoscope-core --bench fit -- --warm-up-time 1 --measurement-time 3`
//! (`-- fit-power-law` for the power-law kernel only).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tweetoscope_core::hawkes::powerlaw::fit_power_law;
use tweetoscope_core::hawkes::simulate::{power_law_delay, simulate_cascade, simulate_with_delays};
use tweetoscope_core::hawkes::{FitConfig, MarkLaw, Solver, fit_map};

const SERIES: usize = 16;

/// `SERIES` cascades of more than n events, cut to their first n in time,
/// with their window. The root's magnitude, 30 n, makes the expected final
/// size 1 + p m / (1 - n*) = 2n + 1.
fn series(n: usize) -> Vec<(Vec<f64>, Vec<f64>, f64)> {
    cut_cascades(n, |rng| {
        simulate_cascade(
            rng,
            0.02,
            1e-3,
            MarkLaw::COURSE,
            Some(30.0 * n as f64),
            f64::INFINITY,
            1000 * n,
        )
    })
}

/// Power-law cascades, cut as in [`series`].
fn power_law_series(n: usize) -> Vec<(Vec<f64>, Vec<f64>, f64)> {
    cut_cascades(n, |rng| {
        simulate_with_delays(
            rng,
            0.8 / MarkLaw::COURSE.mean(),
            |r: &mut ChaCha8Rng| power_law_delay(r, 60.0, 0.8),
            MarkLaw::COURSE,
            Some(30.0 * n as f64),
            f64::INFINITY,
            1000 * n,
        )
    })
}

fn cut_cascades(
    n: usize,
    mut draw: impl FnMut(&mut ChaCha8Rng) -> Vec<(f64, f64)>,
) -> Vec<(Vec<f64>, Vec<f64>, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    let mut out = Vec::new();
    while out.len() < SERIES {
        let events = draw(&mut rng);
        if events.len() <= n {
            continue;
        }
        let t_obs = 0.5 * (events[n - 1].0 + events[n].0);
        let (times, marks) = events[..n].iter().copied().unzip();
        out.push((times, marks, t_obs));
    }
    out
}

fn fits(c: &mut Criterion) {
    for n in [25, 100, 1000] {
        let data = series(n);
        let mut group = c.benchmark_group(format!("fit/n={n}"));
        group.throughput(Throughput::Elements(1));
        for solver in [Solver::Newton, Solver::TrustRegion, Solver::NelderMead] {
            let cfg = FitConfig {
                solver,
                ..FitConfig::default()
            };
            // Fail loudly rather than time an error path.
            for (t, m, t_obs) in &data {
                if let Err(e) = fit_map(t, m, *t_obs, &cfg) {
                    panic!("{solver:?} fails on a benchmark series: {e}");
                }
            }
            let mut k = 0;
            group.bench_function(BenchmarkId::from_parameter(format!("{solver:?}")), |b| {
                b.iter(|| {
                    let (t, m, t_obs) = &data[k % SERIES];
                    k += 1;
                    black_box(fit_map(black_box(t), black_box(m), *t_obs, &cfg))
                })
            });
        }
        group.finish();
    }
}

fn power_law_fits(c: &mut Criterion) {
    let cfg = FitConfig::default();
    for n in [100, 1000] {
        let data = power_law_series(n);
        for (t, m, t_obs) in &data {
            if let Err(e) = fit_power_law(t, m, *t_obs, &cfg) {
                panic!("the power-law fit fails on a benchmark series: {e}");
            }
        }
        let mut group = c.benchmark_group(format!("fit-power-law/n={n}"));
        group.throughput(Throughput::Elements(1));
        if n >= 1000 {
            group.sample_size(10);
        }
        let mut k = 0;
        group.bench_function("BFGS", |b| {
            b.iter(|| {
                let (t, m, t_obs) = &data[k % SERIES];
                k += 1;
                black_box(fit_power_law(black_box(t), black_box(m), *t_obs, &cfg))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, fits, power_law_fits);
criterion_main!(benches);
