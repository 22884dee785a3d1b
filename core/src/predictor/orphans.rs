//! Sizes whose parameters can no longer come (orphans), told from the
//! order of a window's fits from one tweets partition, and the evidence
//! rule that keeps a forged or corrupt lineage from expiring real sizes.
//!
//! A tweets partition is read in order by one collector, and a window's
//! records keep that order through `cascade_series`, the estimator and
//! `cascade_properties`: so once a fit of the same (tweets partition,
//! window) decided after a waiting size has come, that size's parameters
//! would have come before it, or never will (its series was dead-lettered
//! or lost). Dropping such sizes frees the commit they hold.
//!
//! One record's `decided` is a claim, not evidence: a single series with
//! `"decided": 1000000000000000` (well-formed, so accepted by the
//! decoder) once made every real size of its partition an orphan, and
//! every later one too (issue 26). So a fit's `decided` orphans nothing by
//! itself: it becomes evidence when a later fit of the stream comes
//! decided further. A fit decided before the newest claim (a forged claim
//! followed by the real stream, or a restarted collector replaying) drops
//! the claim and lowers the evidence to it. A forged record not followed by
//! a second forged one on the same stream therefore never expires a size
//! that the real records alone would not; the price is that an orphan is
//! dropped one fit later.

use super::Predictor;
use super::state::{Evidence, Key, Stream};
use crate::schema::{Lineage, Window};

impl Predictor {
    /// A size whose parameters can no longer come: a proven fit of its
    /// stream, on the same `cascade_properties` partition, decided after it.
    pub(super) fn is_orphan(&self, l: Lineage, t_obs: Window, partition: i32) -> bool {
        self.decided
            .get(&(l.partition, t_obs))
            .is_some_and(|e| e.partition == partition && e.proven.is_some_and(|d| d > l.decided))
    }

    pub(super) fn count_orphan(&mut self, key: &Key, t_obs: Window) {
        self.stats.orphan_sizes += 1;
        tracing::debug!(cid = %key.0, window = t_obs, "size whose parameters can no longer come: dropped");
    }

    pub(super) fn wait(&mut self, l: Lineage, t_obs: Window, key: &Key) {
        self.waiting
            .entry((l.partition, t_obs))
            .or_default()
            .insert((l.decided, key.clone()));
    }

    pub(super) fn unwait(&mut self, l: Lineage, key: &Key) {
        let stream: Stream = (l.partition, key.1);
        if let Some(sizes) = self.waiting.get_mut(&stream) {
            sizes.remove(&(l.decided, key.clone()));
            if sizes.is_empty() {
                self.waiting.remove(&stream);
            }
        }
    }

    /// A parameters or failed record decided at `l.decided` came on
    /// `partition` of `cascade_properties`: the stream's evidence moves,
    /// and the sizes still waiting that it proves orphans are dropped.
    pub(super) fn passed(&mut self, l: Option<Lineage>, t_obs: Window, partition: i32) {
        let Some(l) = l else {
            return;
        };
        let stream: Stream = (l.partition, t_obs);
        let evidence = self
            .decided
            .entry(stream)
            .or_insert(Evidence::new(partition, l.decided));
        if evidence.partition != partition {
            *evidence = Evidence::new(partition, l.decided);
        } else if !evidence.push(l.decided) {
            self.stats.lineage_regressions += 1;
            tracing::debug!(
                tweets_partition = l.partition,
                window = t_obs,
                decided = l.decided,
                "a fit decided before the previous one of its stream: that claim is dropped"
            );
        }
        let Some(proven) = evidence.proven else {
            return;
        };
        let Some(sizes) = self.waiting.get_mut(&stream) else {
            return;
        };
        let mut orphans = Vec::new();
        while let Some((d, _)) = sizes.first()
            && *d < proven
        {
            if let Some((_, key)) = sizes.pop_first() {
                orphans.push(key);
            }
        }
        if sizes.is_empty() {
            self.waiting.remove(&stream);
        }
        for key in orphans {
            let orphan = self
                .pending
                .get(&key)
                .is_some_and(|e| e.predicted.is_none() && e.failed.is_none());
            if orphan && self.remove(&key).is_some() {
                self.count_orphan(&key, t_obs);
            }
        }
    }

    /// Forgets the order seen on these `cascade_properties` partitions:
    /// their next owner replays them.
    pub(super) fn forget_order(&mut self, partitions: &[i32]) {
        self.decided
            .retain(|_, e| !partitions.contains(&e.partition));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_becomes_evidence_only_when_a_fit_decided_further_comes() {
        let mut e = Evidence::new(0, 10);
        assert!(e.push(10), "the same claim again proves nothing");
        assert_eq!(e.proven, None);
        assert!(e.push(20));
        assert_eq!(e.proven, Some(10));
        assert!(e.push(20));
        assert_eq!(e.proven, Some(10));
        assert!(e.push(21));
        assert_eq!(e.proven, Some(20));
    }

    #[test]
    fn a_fit_decided_before_the_claim_drops_the_claim_and_lowers_the_evidence() {
        let mut e = Evidence::new(0, 10);
        e.push(1_000_000_000_000_000);
        assert_eq!(e.proven, Some(10));
        assert!(!e.push(30), "the forged claim is dropped");
        assert_eq!((e.claimed, e.proven), (30, Some(10)));
        assert!(e.push(40));
        assert_eq!(e.proven, Some(30));
        // A collector replaying from an older offset lowers the evidence.
        assert!(!e.push(5));
        assert_eq!(e.proven, Some(5));
    }
}
