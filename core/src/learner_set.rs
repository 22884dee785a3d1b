//! One window's training set: the most recent samples, one per cascade,
//! and when it is due a (re)training.

use std::collections::VecDeque;

use crate::hashing::FastSet;
use crate::learner::LearnerConfig;
use crate::stage::Origin;

/// A sample as the forest sees it, with where it came from.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) cid: String,
    pub(super) x: Vec<f64>,
    pub(super) y: f64,
    pub(super) origin: Origin,
}

/// One window's training set and schedule.
#[derive(Debug, Default)]
pub(super) struct TrainingSet {
    pub(super) rows: VecDeque<Row>,
    pub(super) cids: FastSet<String>,
    /// Samples added since the start.
    pub(super) added: u64,
    /// `added` and the set's size at the last training attempt, if any.
    pub(super) last_attempt: Option<(u64, usize)>,
    pub(super) version: u64,
    /// It holds (or held) samples of a course predictor.
    pub(super) from_course_predictor: bool,
}

impl TrainingSet {
    /// Adds a sample of cascade `cid`, keeping the `max` most recent;
    /// false (and nothing added) when the cascade is already in the set.
    pub(super) fn add(
        &mut self,
        cid: String,
        x: Vec<f64>,
        y: f64,
        origin: Origin,
        max: usize,
    ) -> bool {
        if self.cids.contains(&cid) {
            return false;
        }
        self.cids.insert(cid.clone());
        self.rows.push_back(Row { cid, x, y, origin });
        self.added += 1;
        while self.rows.len() > max.max(1) {
            if let Some(old) = self.rows.pop_front() {
                self.cids.remove(&old.cid);
            }
        }
        true
    }

    /// Whether it is due a (re)training under `cfg`'s schedule.
    pub(super) fn due(&self, cfg: &LearnerConfig) -> bool {
        if self.rows.len() < cfg.min_samples.max(1) {
            return false;
        }
        match self.last_attempt {
            None => true,
            Some((added, len)) => {
                let new = self.added - added;
                new >= cfg.min_retrain as u64 && new as f64 >= cfg.retrain_growth * len as f64
            }
        }
    }

    /// The offset of its oldest sample from `partition`: rows are in
    /// arrival order, so offsets of one partition increase along the set.
    pub(super) fn oldest(&self, partition: i32) -> Option<i64> {
        self.rows
            .iter()
            .find(|r| r.origin.partition == partition)
            .map(|r| r.origin.offset)
    }

    /// Drops the samples read from `partitions`.
    pub(super) fn revoke(&mut self, partitions: &[i32]) {
        self.rows
            .retain(|r| !partitions.contains(&r.origin.partition));
        self.cids = self.rows.iter().map(|r| r.cid.clone()).collect();
    }
}
