//! Extra `lineage` object on `cascade_series` and `cascade_properties`:
//! where on `tweets` a record comes from. Course consumers ignore it;
//! records without it (course producers) keep the old behaviour.

use serde::{Deserialize, Serialize};

/// Where a series, size, parameters or failed fit comes from on `tweets`.
///
/// A tweets partition is read in order by one collector, and a window's
/// records keep that order through `cascade_series`, the estimator and
/// `cascade_properties`; so for one (partition, window), `decided` orders
/// the records the predictor receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Lineage {
    /// The tweets partition of the cascade.
    pub partition: i32,
    /// Offset of the cascade's first tweet: with `partition`, the identity
    /// of this run of the cascade (a replay of the same records keeps it, a
    /// new run of the same data set does not).
    pub first: i64,
    /// The tweets offset at which the collector decided this record (for
    /// parameters and failed fits: their series').
    pub decided: i64,
}

impl Lineage {
    /// The run identity: (partition, first).
    pub fn run(&self) -> (i32, i64) {
        (self.partition, self.first)
    }
}
