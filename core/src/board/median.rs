//! The median of the most recent values of a stream, in bounded memory: a
//! ring of the last `capacity` values. A running median over everything
//! would need every value (or a sketch); the recent ones are also what a
//! live view should show, since the learned correction improves with time.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct RecentMedian {
    capacity: usize,
    values: VecDeque<f64>,
}

impl RecentMedian {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            values: VecDeque::new(),
        }
    }

    /// Adds a value; non-finite values are ignored (an ARE is finite).
    pub fn push(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.values.len() >= self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
    }

    /// The median of the values held; the mean of the middle two for an
    /// even count. `None` before the first value.
    pub fn median(&self) -> Option<f64> {
        if self.values.is_empty() {
            return None;
        }
        let mut sorted: Vec<f64> = self.values.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        Some(if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        })
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value() {
        let mut m = RecentMedian::new(10);
        for v in [0.9, 0.1, 0.5] {
            m.push(v);
        }
        assert_eq!(m.median(), Some(0.5));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let mut m = RecentMedian::new(10);
        for v in [4.0, 1.0, 2.0, 8.0] {
            m.push(v);
        }
        assert_eq!(m.median(), Some(3.0));
    }

    #[test]
    fn only_the_most_recent_values_count() {
        let mut m = RecentMedian::new(3);
        for v in [9.0, 9.0, 9.0, 1.0, 2.0, 3.0] {
            m.push(v);
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.median(), Some(2.0));
    }

    #[test]
    fn no_value_no_median_and_nan_is_ignored() {
        let mut m = RecentMedian::new(3);
        assert_eq!(m.median(), None);
        m.push(f64::NAN);
        assert!(m.is_empty());
    }
}
