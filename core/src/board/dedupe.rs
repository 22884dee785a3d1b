//! The keys seen recently, to drop redelivered messages: at-least-once
//! delivery replays a batch after a restart or a rebalance, so duplicates
//! arrive close to their original. A bounded first-in first-out set: the
//! oldest key is forgotten when `capacity` is reached, so memory stays flat
//! however long the dashboard runs (the old `HashSet` grew forever).

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

#[derive(Debug)]
pub struct RecentKeys<K> {
    capacity: usize,
    order: VecDeque<K>,
    set: HashSet<K>,
}

impl<K: Hash + Eq + Clone> RecentKeys<K> {
    /// A set remembering at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// Remembers `key`; false when it was already remembered.
    pub fn insert(&mut self, key: K) -> bool {
        if self.set.contains(&key) {
            return false;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.set.insert(key);
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
        assert!(keys.insert(("7", 600)));
        assert!(!keys.insert(("7", 600)));
        assert!(keys.insert(("7", 1200)));
    }

    #[test]
    fn the_set_never_holds_more_than_its_capacity() {
        let mut keys = RecentKeys::new(100);
        for i in 0..10_000 {
            keys.insert(i);
            assert!(keys.len() <= 100);
        }
        assert_eq!(keys.len(), 100);
        assert_eq!(keys.order.len(), 100);
    }

    #[test]
    fn the_oldest_key_is_forgotten_first() {
        let mut keys = RecentKeys::new(3);
        for i in 0..4 {
            keys.insert(i);
        }
        assert!(keys.insert(0), "0 was evicted by 3");
        assert!(!keys.insert(3), "3 is still remembered");
    }
}
