//! Where a restarted collector may resume: the committed offset that makes
//! replay rebuild every cascade whole.
//!
//! The collector keeps no changelog. Instead it commits, per partition of
//! `tweets`, an offset X such that every cascade with any record at or
//! after X has its first record at or after X (a fixpoint over the cascades'
//! offset spans). Replaying from X then sees every such cascade from its
//! first tweet, and no record of any other cascade, so the replay makes
//! exactly the messages the first run made from X on (duplicates of the
//! delivered ones, never fragments). Which cascades count:
//! - open cascades: their span is unbounded (more tweets may come);
//! - terminated cascades still remembered (within the late horizon):
//!   unbounded too, because a late tweet, dropped by the first run, would
//!   open a fragment in a replay that does not know the cascade;
//! - forgotten cascades, and those of ended sources: their span is
//!   `[first, last]`, kept here until X passes `last`;
//! - each source's clock and watermark records, so that the replay rebuilds
//!   the same clock and refuses the same times.
//!
//! Why not a compacted changelog: every tweet would be written twice, and a
//! restore must read the changelog before the first message; the fixpoint
//! costs nothing per tweet. Its price is the replay length: from the oldest
//! first tweet of a cascade remembered within the late horizon, i.e. about
//! (longest cascade + termination + late horizon) of source time.
//!
//! The exactness assumes each source's tweets come in time order on one
//! partition (SPEC §1). Unbounded spans are the sources' `pin`s; this
//! module holds the bounded ones and solves the fixpoint.

use std::collections::BTreeMap;

use crate::hashing::FastMap;

/// The offsets of a cascade's first and newest records on its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) partition: i32,
    pub(super) first: i64,
    pub(super) last: i64,
}

/// Bounded spans of cascades the collector no longer holds, per partition.
#[derive(Debug, Default)]
pub(super) struct ReplayPoints {
    /// `(last, first) -> count`: swept from the newest `last` down.
    spans: FastMap<i32, BTreeMap<(i64, i64), u32>>,
    len: usize,
    /// `len` after the last prune: the next prune waits until it doubles.
    pruned_len: usize,
}

impl ReplayPoints {
    pub(super) fn add(&mut self, span: Span) {
        let n = self
            .spans
            .entry(span.partition)
            .or_default()
            .entry((span.last, span.first))
            .or_default();
        if *n == 0 {
            self.len += 1;
        }
        *n += 1;
    }

    /// Distinct spans held, over all partitions.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether enough spans came since the last prune to make one worth it
    /// (amortised O(log n) per span).
    pub(super) fn wants_prune(&self) -> bool {
        self.len > 2 * self.pruned_len + 64
    }

    pub(super) fn partitions(&self) -> Vec<i32> {
        self.spans.keys().copied().collect()
    }

    /// The fixpoint on `partition`, starting from `start` (the sources'
    /// pins): lowers X to the first offset of any span reaching X, until
    /// none does. Sweeping spans by decreasing `last` finds it in one pass:
    /// once a span ends before X, every later one does too.
    pub(super) fn resume_at(&self, partition: i32, start: i64) -> i64 {
        let mut x = start;
        if let Some(spans) = self.spans.get(&partition) {
            for &(last, first) in spans.keys().rev() {
                if last < x {
                    break;
                }
                x = x.min(first);
            }
        }
        x
    }

    /// Drops the spans of `partition` that end before `x`: X never moves
    /// back (new records come after it), so they can never reach it again.
    /// `None`: nothing on the partition is remembered, drop them all.
    pub(super) fn prune(&mut self, partition: i32, x: Option<i64>) {
        let Some(spans) = self.spans.get_mut(&partition) else {
            return;
        };
        let before = spans.len();
        match x {
            Some(x) => *spans = spans.split_off(&(x, i64::MIN)),
            None => spans.clear(),
        }
        let dropped: usize = before - spans.len();
        if spans.is_empty() {
            self.spans.remove(&partition);
        }
        self.len = self.len.saturating_sub(dropped);
    }

    pub(super) fn mark_pruned(&mut self) {
        self.pruned_len = self.len;
    }

    pub(super) fn revoke(&mut self, partitions: &[i32]) {
        for p in partitions {
            if let Some(spans) = self.spans.remove(p) {
                self.len = self.len.saturating_sub(spans.len());
            }
        }
    }
}
