//! The most popular predicted cascades: a bounded pool, one entry per
//! cascade holding its latest prediction (the one made with the longest
//! observation window), largest predicted size first.

use serde::Serialize;

use crate::schema::{AlertMsg, ColdBasis, Window};

/// One cascade of the top list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopEntry {
    pub cid: String,
    /// The observation window of the prediction shown (seconds).
    pub window: Window,
    /// Tweets observed in that window, when the predictor said.
    pub n_obs: Option<u64>,
    /// Predicted final size.
    pub n_tot: f64,
    /// The correction used (1: no model yet).
    pub w: Option<f64>,
    /// The 80 % interval of the predictive distribution (10 % and 90 %
    /// quantiles), once the window has a calibrated model.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// How the prediction was made without a model, if it was.
    pub cold_start: Option<ColdBasis>,
    /// When the prediction arrived (board clock, seconds).
    pub at: f64,
}

#[derive(Debug, Clone)]
pub struct Top {
    capacity: usize,
    /// Sorted by `n_tot`, largest first; at most `capacity` entries.
    entries: Vec<TopEntry>,
}

impl Top {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: Vec::new(),
        }
    }

    /// Offers a prediction; true when it is now in the pool. A prediction
    /// for a shorter window than the one held for that cascade is older
    /// news and is ignored.
    pub fn offer(&mut self, a: &AlertMsg, at: f64) -> bool {
        if !a.n_tot.is_finite() {
            return false;
        }
        if let Some(i) = self.entries.iter().position(|e| e.cid == a.cid) {
            if self.entries[i].window > a.t_obs {
                return false;
            }
            self.entries.remove(i);
        }
        let entry = TopEntry {
            cid: a.cid.clone(),
            window: a.t_obs,
            n_obs: a.n_obs,
            n_tot: a.n_tot,
            w: a.w,
            low: a.n_tot_low,
            high: a.n_tot_high,
            cold_start: a.cold_start,
            at,
        };
        let i = self.entries.partition_point(|e| e.n_tot >= entry.n_tot);
        if i >= self.capacity {
            return false;
        }
        self.entries.insert(i, entry);
        self.entries.truncate(self.capacity);
        true
    }

    /// Drops the entries that arrived before `before`: a live view shows
    /// what is popular now, not the record of the day.
    pub fn expire(&mut self, before: f64) {
        self.entries.retain(|e| e.at >= before);
    }

    /// Largest predicted size first.
    pub fn entries(&self) -> &[TopEntry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(cid: &str, t_obs: Window, n_tot: f64) -> AlertMsg {
        AlertMsg {
            kind: "alert".into(),
            cid: cid.into(),
            msg: String::new(),
            t_obs,
            n_tot,
            w: None,
            n_obs: Some(10),
            n_tot_median: None,
            n_tot_low: None,
            n_tot_high: None,
            cold_start: None,
        }
    }

    fn cids(top: &Top) -> Vec<&str> {
        top.entries().iter().map(|e| e.cid.as_str()).collect()
    }

    #[test]
    fn the_largest_predictions_come_first_and_the_pool_keeps_its_size() {
        let mut top = Top::new(3);
        for (cid, n) in [
            ("a", 10.0),
            ("b", 50.0),
            ("c", 30.0),
            ("d", 5.0),
            ("e", 40.0),
        ] {
            top.offer(&alert(cid, 600, n), 0.0);
        }
        assert_eq!(cids(&top), ["b", "e", "c"]);
    }

    #[test]
    fn a_cascade_appears_once_with_its_longest_window() {
        let mut top = Top::new(3);
        top.offer(&alert("a", 600, 100.0), 0.0);
        top.offer(&alert("a", 1200, 80.0), 1.0);
        top.offer(&alert("a", 600, 500.0), 2.0); // late, shorter window
        assert_eq!(top.entries().len(), 1);
        assert_eq!(top.entries()[0].window, 1200);
        assert_eq!(top.entries()[0].n_tot, 80.0);
    }

    #[test]
    fn a_prediction_too_small_for_a_full_pool_is_refused() {
        let mut top = Top::new(2);
        assert!(top.offer(&alert("a", 600, 10.0), 0.0));
        assert!(top.offer(&alert("b", 600, 20.0), 0.0));
        assert!(!top.offer(&alert("c", 600, 5.0), 0.0));
        assert_eq!(cids(&top), ["b", "a"]);
    }

    #[test]
    fn old_entries_expire() {
        let mut top = Top::new(3);
        top.offer(&alert("a", 600, 10.0), 0.0);
        top.offer(&alert("b", 600, 20.0), 100.0);
        top.expire(50.0);
        assert_eq!(cids(&top), ["b"]);
    }
}
