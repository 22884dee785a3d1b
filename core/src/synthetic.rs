//! STUB until merge.
use crate::data::Dataset;
use crate::hawkes::MarkLaw;
#[derive(Debug, Clone)]
pub struct SyntheticConfig { pub cascades: usize, pub seed: u64, pub marks: MarkLaw }
impl Default for SyntheticConfig { fn default() -> Self { Self { cascades: 1000, seed: 0, marks: MarkLaw::COURSE } } }
pub fn generate(_cfg: &SyntheticConfig) -> Dataset { Dataset::default() }
