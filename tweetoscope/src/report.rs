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
}

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

impl Report {
    pub fn series(&mut self, cid: &str, window: Window) {
        self.windows
            .entry(window)
            .or_default()
            .series
            .insert(cid.to_owned());
    }

    pub fn record(&mut self, window: Window, corrected: f64, hawkes: f64, warm: bool) {
        let w = self.windows.entry(window).or_default();
        w.corrected.push(corrected);
        w.hawkes.push(hawkes);
        if warm {
            w.warm_corrected.push(corrected);
            w.warm_hawkes.push(hawkes);
        }
    }

    /// The table: per window, predictions, failures, ARE with the learned
    /// correction and with w = 1, over all predictions and after warm-up.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let fmt = |v: &[f64]| match summary(v) {
            Some((med, mean, p90)) => format!("{med:>7.3} {mean:>8.3} {p90:>8.3}"),
            None => format!("{:>7} {:>8} {:>8}", "-", "-", "-"),
        };
        let _ = writeln!(
            t,
            "{:>7} {:>9} {:>6} | {:^25} | {:^25} | {:>6} {:>9} {:>9}",
            "window",
            "predicted",
            "failed",
            "ARE learned: med mean p90",
            "ARE w=1: med mean p90",
            "warm",
            "med learn",
            "med w=1"
        );
        for (window, w) in &self.windows {
            let n = w.corrected.len() as u64;
            let warm_med = |v: &[f64]| summary(v).map_or("-".to_owned(), |s| format!("{:.3}", s.0));
            let _ = writeln!(
                t,
                "{:>7} {:>9} {:>6} | {} | {} | {:>6} {:>9} {:>9}",
                window,
                n,
                (w.series.len() as u64).saturating_sub(n),
                fmt(&w.corrected),
                fmt(&w.hawkes),
                w.warm_corrected.len(),
                warm_med(&w.warm_corrected),
                warm_med(&w.warm_hawkes),
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
        r.record(600, 0.1, 0.5, true);
        let table = r.table();
        let row = table.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[..3], ["600", "1", "1"], "{table}");
    }
}
