//! The producers the board has heard from (the `instance` header of the
//! Kafka records, `stage-pid`; the stage name in process), with when they
//! were last heard. Bounded: a restarted stage has a new pid, so the
//! least recently heard producer is forgotten past `capacity`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::schema::Topic;

#[derive(Debug, Clone)]
struct Heard {
    topics: BTreeSet<&'static str>,
    last: f64,
    messages: u64,
}

/// A producer as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProducerHealth {
    pub instance: String,
    pub topics: Vec<&'static str>,
    pub messages: u64,
    /// Seconds since its last message.
    pub age: f64,
    /// `ok`, or `stale` when silent for longer than the board's bound.
    pub status: &'static str,
}

#[derive(Debug, Clone)]
pub struct Producers {
    capacity: usize,
    heard: BTreeMap<String, Heard>,
}

impl Producers {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            heard: BTreeMap::new(),
        }
    }

    /// `instance` produced a message on `topic` at `now`.
    pub fn heard(&mut self, instance: &str, topic: Topic, now: f64) {
        if !self.heard.contains_key(instance) && self.heard.len() >= self.capacity {
            let oldest = self
                .heard
                .iter()
                .min_by(|a, b| a.1.last.total_cmp(&b.1.last))
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.heard.remove(&k);
            }
        }
        let h = self.heard.entry(instance.to_owned()).or_insert(Heard {
            topics: BTreeSet::new(),
            last: now,
            messages: 0,
        });
        h.topics.insert(topic.default_name());
        h.last = h.last.max(now);
        h.messages += 1;
    }

    /// Every producer heard, by name; `stale` when silent over `stale_after`.
    pub fn health(&self, now: f64, stale_after: f64) -> Vec<ProducerHealth> {
        self.heard
            .iter()
            .map(|(instance, h)| {
                let age = (now - h.last).max(0.0);
                ProducerHealth {
                    instance: instance.clone(),
                    topics: h.topics.iter().copied().collect(),
                    messages: h.messages,
                    age,
                    status: if age > stale_after { "stale" } else { "ok" },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_producer_silent_too_long_is_stale() {
        let mut p = Producers::new(8);
        p.heard("predictor-1", Topic::Alerts, 100.0);
        p.heard("predictor-1", Topic::Stats, 110.0);
        p.heard("predictor-2", Topic::Stats, 50.0);
        let h = p.health(120.0, 30.0);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].instance, "predictor-1");
        assert_eq!(h[0].topics, ["alerts", "stats"]);
        assert_eq!(h[0].messages, 2);
        assert_eq!(h[0].age, 10.0);
        assert_eq!(h[0].status, "ok");
        assert_eq!(h[1].status, "stale");
    }

    #[test]
    fn the_least_recently_heard_producer_is_forgotten_past_the_bound() {
        let mut p = Producers::new(2);
        p.heard("a", Topic::Stats, 1.0);
        p.heard("b", Topic::Stats, 2.0);
        p.heard("a", Topic::Stats, 3.0);
        p.heard("c", Topic::Stats, 4.0);
        let names: Vec<String> = p
            .health(5.0, 30.0)
            .into_iter()
            .map(|h| h.instance)
            .collect();
        assert_eq!(names, ["a", "c"]);
    }
}
