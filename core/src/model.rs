//! STUB until merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target { LogGrowth, LogW }
#[derive(Debug, Clone)]
pub struct ForestConfig { pub n_trees: usize, pub max_depth: u16, pub min_samples_leaf: usize, pub m: Option<usize>, pub seed: u64 }
impl Default for ForestConfig { fn default() -> Self { Self { n_trees: 50, max_depth: 8, min_samples_leaf: 5, m: None, seed: 0 } } }
