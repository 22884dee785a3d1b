//! The keys seen recently, to drop redelivered messages: at-least-once
//! delivery replays a batch after a restart or a rebalance, so duplicates
//! arrive close to their original. The estimator (fitted series), the
//! predictor (completed keys, see `predictor::done`) and the dashboard
//! (alerts and stats) each keep one.
//!
//! A key is remembered as a 64-bit fingerprint ([`Fingerprints`]), not as
//! the key itself: a `(cid, T_obs)` held as a `String` and a window cost
//! about 120 bytes per key in a set and its queue (the estimator's, measured
//! with `bench-kafka`: 12 to 20 MiB over 67,000 keys), a fingerprint about
//! 25. Two distinct keys share a fingerprint with probability 2^-64 per
//! pair: with 100,000 keys remembered, one lookup in 10^14 would take a new
//! key for a repeat. The hasher is seeded per process, so keys from the
//! stream cannot be chosen to collide.
//!
//! [`RecentKeys`] is a bounded first-in first-out set: the oldest key is
//! forgotten when `capacity` is reached, so memory stays flat however long
//! a stage runs.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};

use crate::hashing::FastSet;

/// How many keys a stage remembers to skip repeats, the oldest forgotten
/// first (as fingerprints: about 3 MB at capacity): the estimator's fitted
/// (cid, T_obs), by default the predictor's completed keys too.
pub const SEEN_CAPACITY: usize = 100_000;

/// The fingerprint of a key: 64 bits of a hasher seeded once per
/// instance.
#[derive(Debug, Clone, Default)]
pub struct Fingerprints(foldhash::quality::RandomState);

impl Fingerprints {
    pub fn of<K: Hash + ?Sized>(&self, key: &K) -> u64 {
        self.0.hash_one(key)
    }
}

#[derive(Debug)]
pub struct RecentKeys {
    capacity: usize,
    fingerprints: Fingerprints,
    order: VecDeque<u64>,
    set: FastSet<u64>,
}

impl RecentKeys {
    /// A set remembering at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            fingerprints: Fingerprints::default(),
            order: VecDeque::new(),
            set: FastSet::default(),
        }
    }

    /// Remembers `key`; false when it was already remembered.
    pub fn insert<K: Hash + ?Sized>(&mut self, key: &K) -> bool {
        let print = self.fingerprints.of(key);
        if !self.set.insert(print) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.order.push_back(print);
        true
    }

    pub fn len(&self) -> usize {
        self.set.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_seen_twice_is_refused_the_second_time() {
        let mut keys = RecentKeys::new(10);
        assert!(keys.insert(&("7", 600)));
        assert!(!keys.insert(&("7", 600)));
        assert!(keys.insert(&("7", 1200)));
        assert!(keys.insert(&("70", 600)));
        // A String and a &str of the same text are the same key.
        assert!(!keys.insert(&(String::from("7"), 600)));
    }

    #[test]
    fn the_set_never_holds_more_than_its_capacity() {
        let mut keys = RecentKeys::new(100);
        for i in 0..10_000 {
            assert!(keys.insert(&i));
            assert!(keys.len() <= 100);
        }
        assert_eq!(keys.len(), 100);
        assert_eq!(keys.order.len(), 100);
    }

    #[test]
    fn the_oldest_key_is_forgotten_first() {
        let mut keys = RecentKeys::new(3);
        for i in 0..4 {
            keys.insert(&i);
        }
        assert!(keys.insert(&0), "0 was evicted by 3");
        assert!(!keys.insert(&3), "3 is still remembered");
    }

    #[test]
    fn distinct_keys_get_distinct_fingerprints() {
        let prints = Fingerprints::default();
        let n = 200_000;
        let mut seen = FastSet::default();
        for i in 0..n {
            seen.insert(prints.of(&(i.to_string(), 600u32)));
            seen.insert(prints.of(&(i.to_string(), 1200u32)));
        }
        assert_eq!(seen.len(), 2 * n);
    }
}
