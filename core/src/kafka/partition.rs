//! The explicit window partitioner of SPEC §1.
//!
//! Window i of the configured list goes to partition i mod N. Hashing the
//! key is not enough: with 2 partitions, the Java client's murmur2 puts "600"
//! and "1200" on the same partition (one replica would get both windows, the
//! other none), and librdkafka's default hash differs from Java's and
//! Python's, so a mixed deployment would not even agree on where a window
//! lives. Explicit partitions make every replica of a consumer group own
//! whole windows, and make a window's `parameters` and `size` meet.

use std::collections::HashSet;

use crate::dedupe::RecentKeys;
use crate::schema::{Message, Topic, Window};

/// Maps a window to its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPartitioner {
    windows: Vec<Window>,
}

impl WindowPartitioner {
    /// `windows`: the configured list, in the same order for every stage
    /// (the option parser sorts it).
    pub fn new(windows: &[Window]) -> Self {
        Self {
            windows: windows.to_vec(),
        }
    }

    /// The partition of `window` on a topic with `partitions` partitions.
    /// A window missing from the list (a foreign producer's) falls back to
    /// `window mod N`: still deterministic, and the same in every stage.
    pub fn partition(&self, window: Window, partitions: i32) -> i32 {
        let n = u64::from(partitions.max(1).unsigned_abs());
        let slot = match self.windows.iter().position(|&w| w == window) {
            Some(i) => i as u64,
            None => u64::from(window),
        };
        // slot % n < n <= i32::MAX, so the conversion is lossless.
        i32::try_from(slot % n).unwrap_or(0)
    }
}

/// What to do with a window-keyed input found on another partition than
/// its window's (a course producer's key-hash partitioner put it there).
///
/// It is produced again to its window's partition and not handled here:
/// the replica that owns that partition handles it, so a window's
/// `parameters` and `size` still meet in one replica, and no two replicas
/// handle the same window. Refusing it instead would lose every such
/// message for good; handling it here would split a window's pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reroute {
    /// The window's partition.
    pub to: i32,
    /// Whether this is the first time (topic, arrival partition, window)
    /// was misplaced: the driver warns once per such triple and counts all.
    pub first: bool,
}

/// Finds misplaced inputs. See [`Reroute`].
#[derive(Debug)]
pub struct Rerouter {
    partitioner: WindowPartitioner,
    warned: HashSet<(Topic, i32, Window)>,
    /// Fit keys of the series produced again, so that a repeat is not:
    /// a 2021 course collector resends a series on every later tweet of
    /// its cascade (75,971 copies for 280 fits behind one, 2026-12), and
    /// the estimator that owns the window fits only the first anyway.
    series: RecentKeys,
}

impl Rerouter {
    pub fn new(partitioner: WindowPartitioner) -> Self {
        Self {
            partitioner,
            warned: HashSet::new(),
            series: RecentKeys::new(crate::dedupe::SEEN_CAPACITY),
        }
    }

    /// Whether `msg`, to be produced again, repeats a series already
    /// produced again (the same [`crate::schema::SeriesMsg::fit_key`]):
    /// then it is dropped, as the window's estimator would drop it. The
    /// first of each is remembered (the last
    /// [`crate::dedupe::SEEN_CAPACITY`]). Other messages are never
    /// repeats: a window's size and parameters of one cascade share a key.
    pub fn repeat(&mut self, msg: &Message) -> bool {
        match msg {
            Message::Series(s) => !self.series.insert(&s.fit_key()),
            _ => false,
        }
    }

    /// Where a message of `window`, read from partition `arrived` of
    /// `topic` (`partitions` partitions), must go instead, if anywhere.
    /// Models are not rerouted: every replica reads the whole topic.
    pub fn check(
        &mut self,
        topic: Topic,
        window: Window,
        arrived: i32,
        partitions: i32,
    ) -> Option<Reroute> {
        if !topic.is_window_keyed() || topic == Topic::Models {
            return None;
        }
        let to = self.partitioner.partition(window, partitions);
        (to != arrived).then(|| Reroute {
            to,
            first: self.warned.insert((topic, arrived, window)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's Java client hash (`Utils.murmur2`), to show what the
    /// explicit partitioner avoids.
    fn murmur2(data: &[u8]) -> i32 {
        let (seed, m, r) = (0x9747_b28c_u32, 0x5bd1_e995_u32, 24);
        let len = data.len();
        let mut h = seed ^ len as u32;
        let chunks = data.chunks_exact(4);
        let tail = chunks.remainder();
        for c in chunks {
            let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            k = k.wrapping_mul(m);
            k ^= k >> r;
            k = k.wrapping_mul(m);
            h = h.wrapping_mul(m);
            h ^= k;
        }
        match tail.len() {
            3 => {
                h ^= u32::from(tail[2]) << 16;
                h ^= u32::from(tail[1]) << 8;
                h ^= u32::from(tail[0]);
                h = h.wrapping_mul(m);
            }
            2 => {
                h ^= u32::from(tail[1]) << 8;
                h ^= u32::from(tail[0]);
                h = h.wrapping_mul(m);
            }
            1 => {
                h ^= u32::from(tail[0]);
                h = h.wrapping_mul(m);
            }
            _ => {}
        }
        h ^= h >> 13;
        h = h.wrapping_mul(m);
        h ^= h >> 15;
        h as i32
    }

    fn java_partition(key: &str, n: i32) -> i32 {
        (murmur2(key.as_bytes()) & 0x7fff_ffff) % n
    }

    #[test]
    fn murmur2_puts_600_and_1200_on_the_same_of_two_partitions() {
        assert_eq!(java_partition("600", 2), java_partition("1200", 2));
    }

    #[test]
    fn each_window_gets_its_own_partition_when_there_are_enough() {
        let p = WindowPartitioner::new(&[600, 1200]);
        assert_eq!((p.partition(600, 2), p.partition(1200, 2)), (0, 1));
        let p = WindowPartitioner::new(&[300, 600, 1200]);
        assert_eq!([300, 600, 1200].map(|w| p.partition(w, 3)), [0, 1, 2]);
    }

    #[test]
    fn windows_wrap_around_fewer_partitions() {
        let p = WindowPartitioner::new(&[300, 600, 1200]);
        assert_eq!([300, 600, 1200].map(|w| p.partition(w, 2)), [0, 1, 0]);
        assert_eq!(p.partition(1200, 1), 0);
    }

    #[test]
    fn unknown_windows_fall_back_to_window_mod_partitions() {
        let p = WindowPartitioner::new(&[600, 1200]);
        assert_eq!(p.partition(301, 2), 1);
        assert_eq!(p.partition(600, 0), 0, "no partition count is read as one");
    }

    #[test]
    fn a_window_on_another_partition_is_sent_to_its_own() {
        let mut r = Rerouter::new(WindowPartitioner::new(&[600, 1200]));
        let t = Topic::CascadeProperties;
        assert_eq!(r.check(t, 600, 0, 2), None);
        assert_eq!(r.check(t, 1200, 1, 2), None);
        assert_eq!(r.check(t, 1200, 0, 2), Some(Reroute { to: 1, first: true }));
        assert_eq!(
            r.check(t, 1200, 0, 2),
            Some(Reroute {
                to: 1,
                first: false
            })
        );
        assert_eq!(r.check(t, 600, 1, 2), Some(Reroute { to: 0, first: true }));
        assert_eq!(
            r.check(t, 1200, 0, 1),
            None,
            "one partition holds every window"
        );
    }

    #[test]
    fn a_repeated_series_is_produced_again_once() {
        use crate::schema::{Lineage, SeriesMsg};
        let mut r = Rerouter::new(WindowPartitioner::new(&[600, 1200]));
        let s = SeriesMsg::new("7".into(), String::new(), 600, vec![(0.0, 10.0)]);
        assert!(!r.repeat(&Message::Series(s.clone())));
        assert!(r.repeat(&Message::Series(s.clone())));
        // Another window, another cascade, another run: not repeats.
        let mut other = s.clone();
        other.t_obs = 1200;
        assert!(!r.repeat(&Message::Series(other)));
        let mut other = s.clone();
        other.cid = "8".into();
        assert!(!r.repeat(&Message::Series(other)));
        let mut run = s;
        run.lineage = Some(Lineage {
            partition: 0,
            first: 5,
            decided: 9,
        });
        assert!(!r.repeat(&Message::Series(run.clone())));
        assert!(r.repeat(&Message::Series(run)));
    }

    #[test]
    fn only_consumed_window_keyed_topics_are_rerouted() {
        let mut r = Rerouter::new(WindowPartitioner::new(&[600, 1200]));
        assert_eq!(r.check(Topic::Models, 1200, 0, 2), None);
        assert_eq!(r.check(Topic::Alerts, 1200, 0, 2), None);
        assert!(r.check(Topic::CascadeSeries, 1200, 0, 2).is_some());
        assert!(r.check(Topic::Samples, 1200, 0, 2).is_some());
    }
}
