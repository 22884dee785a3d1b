//! What the predictor holds per (cid, T_obs, run) while a key waits for
//! its other half; `pending` says how it changes.

use crate::schema::{Lineage, ParametersMsg, Window};
use crate::stage::Origin;

/// A cascade run's identity: (tweets partition, offset of its first tweet).
pub(super) type Run = (i32, i64);

/// (cid, T_obs, run): one run of a cascade's window, the predictor's unit
/// of state.
pub(super) type Key = (String, Window, Option<Run>);

/// Which half a record is, to find the entry it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Half {
    Size,
    /// Parameters or a failed fit.
    Fit,
}

impl Half {
    pub(super) fn held_by(self, e: &Pending) -> bool {
        match self {
            Half::Size => e.size.is_some(),
            Half::Fit => e.predicted.is_some() || e.failed.is_some(),
        }
    }
}

/// What the parameters half leaves behind: the prediction, for the stat.
#[derive(Debug)]
pub(super) struct Predicted {
    pub(super) params: ParametersMsg,
    /// The alert's size.
    pub(super) n_pred: f64,
    pub(super) n_hawkes: f64,
}

/// One (cid, T_obs) waiting for its other half.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub(super) predicted: Option<(Predicted, Origin)>,
    pub(super) size: Option<(u64, Origin)>,
    /// The size's lineage, indexing it in `Predictor::waiting`.
    pub(super) size_lineage: Option<Lineage>,
    /// The estimator reported the fit failed: the size completes the key
    /// without a stat or sample.
    pub(super) failed: Option<Origin>,
    /// The run of the cascade, from whichever half carried a lineage.
    pub(super) run: Option<Run>,
    /// A half came without lineage: the key is also remembered without
    /// its run, where such halves look for it.
    pub(super) unrun: bool,
    /// Identifies this entry in the expiry queue (a key may be re-created
    /// after expiry; an older queue item must not expire the new entry).
    pub(super) seq: u64,
}

/// Where a window's sizes wait for their parameters: (tweets partition,
/// window).
pub(super) type Stream = (i32, Window);

/// How far a stream's fits have gone, as far as their order proves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Evidence {
    /// The `cascade_properties` partition the stream's fits come on.
    pub(super) partition: i32,
    /// The newest fit's `decided`: a claim, not yet evidence.
    pub(super) claimed: i64,
    /// A `decided` a later fit of the stream confirmed by coming decided
    /// further: sizes decided before it are orphans.
    pub(super) proven: Option<i64>,
}

impl Evidence {
    pub(super) fn new(partition: i32, decided: i64) -> Self {
        Self {
            partition,
            claimed: decided,
            proven: None,
        }
    }

    /// A fit decided at `decided` came; false when it goes back (the
    /// previous claim is dropped). Only a fit decided strictly later
    /// proves the claim: a record sent twice (a producer's retry, a
    /// replay) does not confirm itself.
    pub(super) fn push(&mut self, decided: i64) -> bool {
        if decided > self.claimed {
            self.proven = Some(self.claimed);
            self.claimed = decided;
            true
        } else if decided == self.claimed {
            true
        } else {
            self.claimed = decided;
            self.proven = self.proven.map(|p| p.min(decided));
            false
        }
    }
}
