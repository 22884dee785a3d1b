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
