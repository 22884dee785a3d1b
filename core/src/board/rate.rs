//! Events per second over a sliding span, in bounded memory: one counter
//! per whole second of the span.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Rate {
    span: u32,
    /// (whole second, events in it), oldest first, within the span.
    buckets: VecDeque<(i64, u64)>,
    total: u64,
}

impl Rate {
    /// A rate averaged over the last `span` seconds (at least one).
    pub fn new(span: u32) -> Self {
        Self {
            span: span.max(1),
            buckets: VecDeque::new(),
            total: 0,
        }
    }

    /// Counts one event at `now` (seconds).
    pub fn record(&mut self, now: f64) {
        let second = now.floor() as i64;
        self.total += 1;
        match self.buckets.back_mut() {
            Some((s, n)) if *s == second => *n += 1,
            // A clock going backwards (another producer's time) counts in
            // the newest bucket rather than reordering the ring.
            Some((s, n)) if *s > second => *n += 1,
            _ => self.buckets.push_back((second, 1)),
        }
        self.expire(second);
    }

    /// Events per second over the span ending at `now`.
    pub fn per_second(&self, now: f64) -> f64 {
        let from = now.floor() as i64 - i64::from(self.span);
        let n: u64 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s > from)
            .map(|(_, n)| n)
            .sum();
        n as f64 / f64::from(self.span)
    }

    /// Events counted since the start.
    pub fn total(&self) -> u64 {
        self.total
    }

    fn expire(&mut self, second: i64) {
        let from = second - i64::from(self.span);
        while self.buckets.front().is_some_and(|(s, _)| *s <= from) {
            self.buckets.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_count_over_the_span_divided_by_its_length() {
        let mut r = Rate::new(10);
        for i in 0..50 {
            r.record(100.0 + f64::from(i) * 0.1); // 5 s of 10 events/s
        }
        assert_eq!(r.per_second(104.9), 5.0);
        assert_eq!(r.total(), 50);
    }

    #[test]
    fn events_older_than_the_span_no_longer_count() {
        let mut r = Rate::new(10);
        r.record(100.0);
        r.record(105.0);
        assert_eq!(r.per_second(111.0), 0.1);
        assert_eq!(r.per_second(200.0), 0.0);
        assert_eq!(r.total(), 2);
    }

    #[test]
    fn the_buckets_never_outnumber_the_seconds_of_the_span() {
        let mut r = Rate::new(10);
        for i in 0..10_000 {
            r.record(f64::from(i));
            assert!(r.buckets.len() <= 10);
        }
    }
}
