//! What the predictor holds per (cid, T_obs) while a key waits for its
//! other half; `pending` says how it changes.

use crate::schema::{Lineage, ParametersMsg, Window};
use crate::stage::Origin;

/// A cascade's window: the predictor's unit of state.
pub(super) type Key = (String, Window);

/// A cascade run's identity: (tweets partition, offset of its first tweet).
pub(super) type Run = (i32, i64);

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
    /// Identifies this entry in the expiry queue (a key may be re-created
    /// after expiry; an older queue item must not expire the new entry).
    pub(super) seq: u64,
}
