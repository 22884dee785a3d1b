//! The per-window accuracy table printed by `run` and `eval`.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use tweetoscope_core::schema::Window;

/// Absolute relative errors of one window's predictions.
#[derive(Debug, Default, Clone)]
pub struct WindowErrors {
    /// Cascades sent for estimation (ids, deduplicated: a cascade may be
    /// sent again after a restart or a late reopening); those without a
    /// prediction failed.
    pub series: HashSet<String>,
    pub corrected: Vec<f64>,
    pub hawkes: Vec<f64>,
    /// The same, restricted to predictions made once a model existed.
    pub warm_corrected: Vec<f64>,
    pub warm_hawkes: Vec<f64>,
    /// The learned errors of predictions made before the window's first
    /// model (the cold start).
    pub cold_corrected: Vec<f64>,
    /// Predictions with an interval, and those whose interval held the
    /// true size.
    pub with_interval: u64,
    pub covered: u64,
}

/// An interval's nominal coverage (10 % to 90 %).
pub const NOMINAL_COVERAGE: f64 = 0.8;

/// A prediction this many times the true size counts as exploding.
pub const EXPLODING: f64 = 10.0;

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub windows: BTreeMap<Window, WindowErrors>,
}

/// Median, mean and 90th percentile.
pub fn summary(v: &[f64]) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |f: f64| s[((s.len() - 1) as f64 * f).round() as usize];
    Some((q(0.5), s.iter().sum::<f64>() / s.len() as f64, q(0.9)))
}

impl WindowErrors {
    /// The share of intervals that held the true size.
    pub fn coverage(&self) -> Option<f64> {
        (self.with_interval > 0).then(|| self.covered as f64 / self.with_interval as f64)
    }
}

impl Report {
    pub fn series(&mut self, cid: &str, window: Window) {
        self.windows
            .entry(window)
            .or_default()
            .series
            .insert(cid.to_owned());
    }

    /// One prediction's errors; `covered`: whether its interval, if it had
    /// one, held the true size.
    pub fn record(
        &mut self,
        window: Window,
        corrected: f64,
        hawkes: f64,
        warm: bool,
        covered: Option<bool>,
    ) {
        let w = self.windows.entry(window).or_default();
        if let Some(c) = covered {
            w.with_interval += 1;
            w.covered += u64::from(c);
        }
        w.corrected.push(corrected);
        w.hawkes.push(hawkes);
        if warm {
            w.warm_corrected.push(corrected);
            w.warm_hawkes.push(hawkes);
        } else {
            w.cold_corrected.push(corrected);
        }
    }

    /// The table: per window, predictions, failures, ARE with the learned
    /// correction and with w = 1, interval coverage, and the medians after
    /// warm-up and before it (cold). The w = 1 mean is left out: a few near-critical fits make it
    /// explode (1 / (1 - n*)); the share of predictions over
    /// [`EXPLODING`] times the true size says the same readably.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let fmt = |v: &[f64]| match summary(v) {
            Some((med, mean, p90)) => format!("{med:>7.3} {mean:>8.3} {p90:>8.3}"),
            None => format!("{:>7} {:>8} {:>8}", "-", "-", "-"),
        };
        let fmt_w1 = |v: &[f64]| match summary(v) {
            Some((med, _, p90)) => {
                let over = v.iter().filter(|a| **a > EXPLODING - 1.0).count();
                let share = 100.0 * over as f64 / v.len() as f64;
                format!("{med:>7.3} {p90:>8.3} {share:>7.1}%")
            }
            None => format!("{:>7} {:>8} {:>8}", "-", "-", "-"),
        };
        let _ = writeln!(
            t,
            "{:>7} {:>9} {:>6} | {:^25} | {:^25} | {:^14} | {:>6} {:>9} {:>9} | {:>9}",
            "window",
            "predicted",
            "failed",
            "ARE learned: med mean p90",
            "ARE w=1: med p90 >10x",
            format!("cover ({:.0}%)", 100.0 * NOMINAL_COVERAGE),
            "warm",
            "med learn",
            "med w=1",
            "med cold"
        );
        for (window, w) in &self.windows {
            let n = w.corrected.len() as u64;
            let warm_med = |v: &[f64]| summary(v).map_or("-".to_owned(), |s| format!("{:.3}", s.0));
            let _ = writeln!(
                t,
                "{:>7} {:>9} {:>6} | {} | {} | {:>14} | {:>6} {:>9} {:>9} | {:>9}",
                window,
                n,
                (w.series.len() as u64).saturating_sub(n),
                fmt(&w.corrected),
                fmt_w1(&w.hawkes),
                w.coverage().map_or("-".to_owned(), |c| format!(
                    "{:.3} of {}",
                    c, w.with_interval
                )),
                w.warm_corrected.len(),
                warm_med(&w.warm_corrected),
                warm_med(&w.warm_hawkes),
                warm_med(&w.cold_corrected),
            );
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_gives_median_mean_and_p90() {
        let v: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(summary(&v), Some((6.0, 6.0, 10.0)));
        assert_eq!(summary(&[]), None);
    }

    #[test]
    fn failed_counts_series_without_prediction() {
        let mut r = Report::default();
        r.series("1", 600);
        r.series("2", 600);
        r.series("2", 600);
        r.record(600, 0.1, 0.5, true, None);
        let table = r.table();
        let row = table.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[..3], ["600", "1", "1"], "{table}");
    }

    #[test]
    fn the_w1_column_shows_the_share_of_exploding_predictions_not_their_mean() {
        let mut r = Report::default();
        for i in 0..20 {
            let hawkes = if i == 7 { 5e5 } else { 0.1 };
            r.series(&i.to_string(), 600);
            r.record(600, 0.1, hawkes, false, None);
        }
        let table = r.table();
        assert!(table.contains("5.0%"), "{table}");
        assert!(!table.contains("500000"), "{table}");
    }

    #[test]
    fn the_cold_median_is_that_of_the_predictions_made_before_a_model() {
        let mut r = Report::default();
        for (are, warm) in [(0.9, false), (0.7, false), (0.8, false), (0.1, true)] {
            r.record(600, are, are, warm, None);
        }
        let table = r.table();
        let row = table.lines().nth(1).unwrap();
        assert!(row.ends_with("|     0.800"), "{table}");
        assert!(row.contains("0.100     0.100"), "{table}");
    }

    #[test]
    fn coverage_counts_only_predictions_with_an_interval() {
        let mut r = Report::default();
        r.record(600, 0.1, 0.1, true, Some(true));
        r.record(600, 0.1, 0.1, true, Some(false));
        r.record(600, 0.1, 0.1, true, Some(true));
        r.record(600, 0.1, 0.1, false, None);
        let w = &r.windows[&600];
        assert_eq!((w.with_interval, w.covered), (3, 2));
        assert!(r.table().contains("0.667 of 3"), "{}", r.table());
    }
}
