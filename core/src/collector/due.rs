//! The collector's heap keys: an `f64` time with a total order, and the
//! deadline entry of a cascade.

use std::cmp::Ordering;
use std::sync::Arc;

/// A heap entry: look at cascade `cid` once the clock reaches `at` (passes
/// it, when `strict`: termination needs `clock > last + termination`).
/// Ordered by time, then first time and cid so that cascades due together
/// are handled in an order that does not depend on the watermarks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Due {
    pub(super) at: Time,
    pub(super) strict: bool,
    pub(super) first: Time,
    pub(super) cid: Arc<str>,
    pub(super) ticket: u64,
}

impl Due {
    pub(super) fn is_due(&self, clock: f64) -> bool {
        if self.strict {
            self.at.0 < clock
        } else {
            self.at.0 <= clock
        }
    }
}

/// An `f64` with a total order, for heap keys.
#[derive(Debug, Clone, Copy)]
pub(super) struct Time(pub(super) f64);

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
