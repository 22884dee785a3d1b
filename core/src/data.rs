//! NEWS-format data/index files (STUB: helper fills).
use std::ops::Range;

/// Cascades held column-wise: cascade `i` is rows `cascades[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub times: Vec<f64>,
    pub marks: Vec<f64>,
    pub cascades: Vec<Range<usize>>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.cascades.len()
    }
    pub fn is_empty(&self) -> bool {
        self.cascades.is_empty()
    }
    /// Times and magnitudes of cascade `i`.
    pub fn cascade(&self, i: usize) -> (&[f64], &[f64]) {
        let r = self.cascades[i].clone();
        (&self.times[r.clone()], &self.marks[r])
    }
}
// STUB additions until merge.
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct DataError;
impl Dataset {
    pub fn load(_d: &std::path::Path, _i: &std::path::Path) -> Result<Self, DataError> { Err(DataError) }
    pub fn write(&self, _d: &std::path::Path, _i: &std::path::Path) -> Result<(), DataError> { Err(DataError) }
    pub fn n_tweets(&self) -> usize { self.times.len() }
    pub fn size(&self, i: usize) -> usize { self.cascades[i].len() }
}
