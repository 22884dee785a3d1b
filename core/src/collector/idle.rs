//! Sources that stop without `end`: the collector ends a source whose
//! clock is `source_idle` (source time) behind the newest clock of the other
//! sources on its tweets partition, as if it had sent `end`: its cascades
//! are flushed with their sizes, its state dropped, its hold on the commit
//! released.
//!
//! The decision depends only on the clocks of the sources the collector
//! holds, which a replay from the retained offset rebuilds exactly (every
//! held source pins the record that set its clock), so a restarted
//! collector ends the same sources at the same records. With the default
//! (termination + late horizon), a source that is ended and later sends
//! again in time with the others gets the outputs it would have got: its
//! cascades had all terminated and been forgotten by then anyway.

use std::collections::{BTreeMap, BTreeSet};

use super::due::Time;
use crate::schema::SourceId;

/// The clocks of the held sources, per tweets partition, ordered. Set on
/// every message: ordered maps, because for a few sources and partitions
/// they cost less than hashing the key (perf, 2026-12-04).
#[derive(Debug, Default)]
pub(super) struct Clocks {
    by_partition: BTreeMap<i32, BTreeSet<(Time, SourceId)>>,
    of: BTreeMap<SourceId, (i32, Time)>,
}

impl Clocks {
    /// Records `source`'s clock (a no-op when unchanged).
    pub(super) fn set(&mut self, source: SourceId, partition: i32, clock: f64) {
        let now = (partition, Time(clock));
        match self.of.get_mut(&source) {
            Some(was) if *was == now => return,
            // The common move: same partition, a later clock.
            Some(was) if was.0 == partition => {
                let set = self.by_partition.entry(partition).or_default();
                set.remove(&(was.1, source));
                set.insert((Time(clock), source));
                *was = now;
                return;
            }
            _ => {}
        }
        self.remove(source);
        self.of.insert(source, now);
        self.by_partition
            .entry(partition)
            .or_default()
            .insert((Time(clock), source));
    }

    pub(super) fn remove(&mut self, source: SourceId) {
        let Some((partition, clock)) = self.of.remove(&source) else {
            return;
        };
        if let Some(set) = self.by_partition.get_mut(&partition) {
            set.remove(&(clock, source));
            if set.is_empty() {
                self.by_partition.remove(&partition);
            }
        }
    }

    /// Sources of `partition` other than `except` whose clock is more
    /// than `idle` behind the partition's newest.
    pub(super) fn idle(&self, partition: i32, except: SourceId, idle: f64) -> Vec<SourceId> {
        let Some(set) = self.by_partition.get(&partition) else {
            return Vec::new();
        };
        let Some(&(Time(newest), _)) = set.last() else {
            return Vec::new();
        };
        set.iter()
            .take_while(|(Time(clock), _)| *clock < newest - idle)
            .map(|&(_, id)| id)
            .filter(|&id| id != except)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::{Run, cfg, rt, series, sizes, wm};
    use super::super::{Collector, CollectorConfig};
    use crate::schema::Topic;
    use crate::stage::Stage;

    fn idle_after(seconds: f64) -> CollectorConfig {
        CollectorConfig {
            source_idle: Some(seconds),
            ..cfg()
        }
    }

    #[test]
    fn a_source_that_stops_without_end_is_ended_once_the_others_are_far_ahead() {
        let mut run = Run::new(idle_after(5000.0));
        run.send_all([rt(1, 7, 0.0), rt(1, 7, 10.0), rt(1, 7, 20.0)]); // 0..=2
        run.send(rt(2, 9, 100.0)); // 3
        assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(0));
        // Source 2 moves on; source 1 says nothing more.
        assert!(run.send(wm(2, 5020.0)).is_empty(), "not yet 5000 s behind");
        let out = run.send(wm(2, 5021.0)); // 5
        assert_eq!(
            series(&out),
            vec![("7".into(), 600, 3), ("7".into(), 1200, 3)]
        );
        assert_eq!(
            sizes(&out),
            vec![("7".into(), 600, 3, 20.0), ("7".into(), 1200, 3, 20.0)]
        );
        assert_eq!(run.c.stats().idle_sources_ended, 1);
        // Source 1 holds nothing: only source 2 pins the commit.
        assert_eq!(run.c.retained_offset(Topic::Tweets, 0), Some(3));
    }

    #[test]
    fn sources_on_other_partitions_and_the_sender_itself_are_not_ended() {
        let mut run = Run::new(idle_after(1000.0));
        run.send_on(1, rt(1, 7, 0.0));
        run.send_on(0, rt(2, 9, 0.0));
        run.send_on(0, wm(2, 50_000.0));
        assert_eq!(
            run.c.stats().idle_sources_ended,
            0,
            "source 1 is on partition 1"
        );
        // Source 3 lags, but it is the one speaking: it is not idle.
        run.send_on(0, rt(3, 11, 10.0));
        assert_eq!(run.c.stats().idle_sources_ended, 0);
        // Once source 2 speaks again, source 3 is ended.
        run.send_on(0, wm(2, 50_001.0));
        assert_eq!(run.c.stats().idle_sources_ended, 1);
    }

    #[test]
    fn the_default_is_termination_plus_late_horizon() {
        let c = Collector::new(CollectorConfig {
            source_idle: None,
            ..cfg()
        });
        assert_eq!(c.config().idle(), 1800.0 + 10_000.0);
    }
}
