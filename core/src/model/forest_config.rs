//! The shape of a window's forest, and what that shape can cost in
//! message size: a forest must fit the `models` topic's 1 MB messages
//! whatever it learns, so configurations are checked against a worst case
//! before any training.

use super::{MAX_MESSAGE_BYTES, ModelError, calibration};

/// Shape of the forest. Deeper or more trees cost message size: see
/// [`ForestConfig::worst_case_bytes`].
#[derive(Debug, Clone, PartialEq)]
pub struct ForestConfig {
    pub n_trees: usize,
    /// Levels of nodes, the root being level 1 (smartcore's convention,
    /// kept by our trainer).
    pub max_depth: u16,
    pub min_samples_leaf: usize,
    /// Features tried at each split; None: floor(sqrt(features)).
    pub m: Option<usize>,
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        Self {
            n_trees: 50,
            max_depth: 8,
            min_samples_leaf: 5,
            m: None,
            seed: 0,
        }
    }
}

/// Bytes of a postcard varint holding `v`.
fn varint_len(v: u64) -> usize {
    ((64 - v.leading_zeros()).max(1) as usize).div_ceil(7)
}

impl ForestConfig {
    /// An upper bound on the encoded [`ModelMsg`] JSON for a forest of this
    /// shape over `features`, whatever the training data: a tree has at
    /// most 2^(max_depth-1) leaves, each node and tree has a bounded postcard
    /// size, base64 adds a third, and the envelope's other fields are small.
    pub fn worst_case_bytes(&self, features: &[String]) -> usize {
        // A tree of `max_depth` levels: at most 2^(d-1) leaves, one fewer
        // internal nodes.
        let leaves = 1u64 << (self.max_depth.clamp(1, 62) - 1);
        let max_nodes = 2 * leaves - 1;
        let feature = varint_len(features.len() as u64);
        let child = 1 + varint_len(max_nodes);
        // output f64, split_feature, split_value and split_score
        // Option<f64> (a leaf may keep a threshold), then the two children.
        let leaf = 8 + feature + 2 * 9 + 2;
        let internal = 8 + feature + 2 * 9 + 2 * child;
        // node count varint, tree parameters (<= 37), depth u16, root_mass.
        let tree = varint_len(max_nodes) + 37 + 3 + 8;
        let per_tree = (leaves as usize)
            .saturating_mul(leaf)
            .saturating_add(((leaves - 1) as usize).saturating_mul(internal))
            .saturating_add(tree);
        // Option tags, tree count, num_features, samples (None).
        let postcard = per_tree.saturating_mul(self.n_trees).saturating_add(32);
        let base64 = postcard.div_ceil(3).saturating_mul(4);
        let names = serde_json::to_string(features).map_or(usize::MAX, |s| s.len());
        // Fixed keys and the largest integers of the other fields, and the
        // calibration: at most MAX_BINS bins of 7 numbers, each under 25
        // characters, and their keys.
        let envelope = 256 + calibration::MAX_BINS * (7 * 25 + 80);
        base64.saturating_add(names).saturating_add(envelope)
    }

    /// Refuses shapes that cannot train or could exceed
    /// [`MAX_MESSAGE_BYTES`] over `features`.
    pub fn validate(&self, features: &[String]) -> Result<(), ModelError> {
        if self.n_trees == 0 {
            return Err(ModelError::Config("n_trees must be at least 1".into()));
        }
        if self.max_depth == 0 {
            return Err(ModelError::Config("max_depth must be at least 1".into()));
        }
        if self.min_samples_leaf == 0 {
            return Err(ModelError::Config(
                "min_samples_leaf must be at least 1".into(),
            ));
        }
        if self.m == Some(0) {
            return Err(ModelError::Config("m must be at least 1".into()));
        }
        let worst = self.worst_case_bytes(features);
        if worst > MAX_MESSAGE_BYTES {
            return Err(ModelError::TooLarge {
                n_trees: self.n_trees,
                max_depth: self.max_depth,
                n_features: features.len(),
                worst,
                limit: MAX_MESSAGE_BYTES,
            });
        }
        Ok(())
    }

    /// The most trees of this depth that fit the message budget.
    pub fn max_trees(&self, features: &[String]) -> usize {
        let with = |n_trees| ForestConfig {
            n_trees,
            ..self.clone()
        };
        let fixed = with(0).worst_case_bytes(features);
        let per_tree = with(1)
            .worst_case_bytes(features)
            .saturating_sub(fixed)
            .max(1);
        // Base64 rounds up per 3 bytes: step down until the bound holds.
        let mut n = MAX_MESSAGE_BYTES.saturating_sub(fixed) / per_tree + 1;
        while n > 0 && with(n).worst_case_bytes(features) > MAX_MESSAGE_BYTES {
            n -= 1;
        }
        n
    }
}
