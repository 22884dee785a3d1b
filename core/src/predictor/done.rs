//! The completed keys, remembered to drop redelivered halves: for
//! `done_ttl` seconds and at most `capacity` keys, the oldest forgotten
//! first. Without the bound the set held every key of the last 7 days:
//! 330 bytes per key as owned `(cid, window)` pairs (bench-kafka: 17 to
//! 28 MiB over 33,000 keys), and at the 150,000 tweets/s the pipeline
//! carries, about 2,000 keys a second. Keys are held as fingerprints (see
//! [`crate::dedupe`]).

use std::collections::VecDeque;

use super::state::{Key, Run};
use crate::dedupe::Fingerprints;
use crate::hashing::FastMap;

/// What is remembered of a completed key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Done {
    /// The predictor's clock when it completed.
    pub(super) at: f64,
    /// The `cascade_properties` partition that completed it (forgotten with
    /// the partition).
    pub(super) partition: i32,
    /// The cascade run it belonged to, when the halves said.
    pub(super) run: Option<Run>,
}

#[derive(Debug)]
pub(super) struct DoneKeys {
    ttl: f64,
    capacity: usize,
    fingerprints: Fingerprints,
    keys: FastMap<u64, Done>,
    /// (completed at, fingerprint), oldest first: the clock never goes back.
    order: VecDeque<(f64, u64)>,
}

impl DoneKeys {
    pub(super) fn new(ttl: f64, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            fingerprints: Fingerprints::default(),
            keys: FastMap::default(),
            order: VecDeque::new(),
        }
    }

    fn print(&self, key: &Key) -> u64 {
        self.fingerprints.of(&(key.0.as_str(), key.1))
    }

    pub(super) fn get(&self, key: &Key) -> Option<&Done> {
        self.keys.get(&self.print(key))
    }

    pub(super) fn remove(&mut self, key: &Key) {
        self.keys.remove(&self.print(key));
    }

    pub(super) fn insert(&mut self, key: &Key, done: Done) {
        let print = self.print(key);
        self.keys.insert(print, done);
        self.order.push_back((done.at, print));
        while self.order.len() > self.capacity {
            self.forget_oldest();
        }
    }

    /// Forgets the keys completed more than `ttl` before `now`.
    pub(super) fn expire(&mut self, now: f64) {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now - at > self.ttl)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((at, print)) = self.order.pop_front()
            // A key completed again later keeps its newer entry.
            && self.keys.get(&print).is_some_and(|d| d.at == at)
        {
            self.keys.remove(&print);
        }
    }

    /// Forgets the keys completed on these partitions: their next owner
    /// replays them.
    pub(super) fn revoke(&mut self, partitions: &[i32]) {
        self.keys.retain(|_, d| !partitions.contains(&d.partition));
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cid: &str) -> Key {
        (cid.to_string(), 600)
    }

    fn done(at: f64) -> Done {
        Done {
            at,
            partition: 0,
            run: None,
        }
    }

    #[test]
    fn keys_are_forgotten_after_the_ttl() {
        let mut d = DoneKeys::new(10.0, 100);
        d.insert(&key("1"), done(0.0));
        d.insert(&key("2"), done(5.0));
        d.expire(10.0);
        assert!(d.get(&key("1")).is_some());
        d.expire(10.5);
        assert!(d.get(&key("1")).is_none());
        assert_eq!(d.get(&key("2")), Some(&done(5.0)));
        assert!(d.get(&(String::from("2"), 1200)).is_none());
    }

    #[test]
    fn at_most_capacity_keys_are_held_the_oldest_forgotten_first() {
        let mut d = DoneKeys::new(1e9, 100);
        for i in 0..1000 {
            d.insert(&key(&i.to_string()), done(i as f64));
            assert!(d.len() <= 100);
        }
        assert_eq!(d.len(), 100);
        assert!(d.get(&key("899")).is_none());
        assert!(d.get(&key("900")).is_some());
    }

    #[test]
    fn a_key_completed_again_keeps_its_newer_time() {
        let mut d = DoneKeys::new(10.0, 100);
        d.insert(&key("1"), done(0.0));
        d.insert(&key("1"), done(8.0));
        d.expire(12.0);
        assert_eq!(d.get(&key("1")), Some(&done(8.0)));
    }

    #[test]
    fn revoked_partitions_forget_their_keys() {
        let mut d = DoneKeys::new(10.0, 100);
        d.insert(&key("1"), done(0.0));
        d.insert(
            &key("2"),
            Done {
                partition: 3,
                ..done(0.0)
            },
        );
        d.revoke(&[3]);
        assert!(d.get(&key("1")).is_some() && d.get(&key("2")).is_none());
    }
}
