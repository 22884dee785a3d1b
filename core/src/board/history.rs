//! The running medians sampled over time: the chart's points, a ring of at
//! most `capacity` points at least `every` seconds apart.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::schema::Window;

/// The median ARE of each window with stats, at time `t`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub t: f64,
    pub medians: BTreeMap<Window, f64>,
}

#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    every: f64,
    points: VecDeque<Point>,
}

impl History {
    pub fn new(capacity: usize, every: f64) -> Self {
        Self {
            capacity: capacity.max(1),
            every: every.max(0.0),
            points: VecDeque::new(),
        }
    }

    /// Whether a point taken at `now` would be `every` past the last one.
    pub fn due(&self, now: f64) -> bool {
        self.points.back().is_none_or(|p| now - p.t >= self.every)
    }

    /// Appends a point, forgetting the oldest past the capacity.
    pub fn push(&mut self, point: Point) {
        if self.points.len() >= self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(point);
    }

    /// Oldest first.
    pub fn points(&self) -> Vec<Point> {
        self.points.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64) -> Point {
        Point {
            t,
            medians: BTreeMap::from([(600, 0.5)]),
        }
    }

    #[test]
    fn a_point_is_due_only_once_the_period_has_passed() {
        let mut h = History::new(10, 2.0);
        assert!(h.due(0.0));
        h.push(point(0.0));
        assert!(!h.due(1.9));
        assert!(h.due(2.0));
    }

    #[test]
    fn the_history_keeps_the_newest_points_up_to_its_capacity() {
        let mut h = History::new(5, 1.0);
        for t in 0..100 {
            h.push(point(f64::from(t)));
        }
        let ts: Vec<f64> = h.points().iter().map(|p| p.t).collect();
        assert_eq!(ts, [95.0, 96.0, 97.0, 98.0, 99.0]);
    }
}
