//! The forest as the predictor walks it: every tree's nodes in one flat
//! array of 24-byte nodes, built from the checked bytes (see `raw`).
//!
//! It reads the row in place and follows the layout's rule (x <= threshold
//! goes to the true child, as in training, see `grow`), summing the leaves
//! in tree order before dividing, as smartcore's walk did: a forest gives
//! the same number in this build and in those that walked with smartcore.

use super::ModelError;

/// A node: a split on `feature`, or a leaf (`feature` = [`LEAF`]) whose
/// `value` is its output.
#[derive(Debug, Clone, Copy)]
struct Node {
    value: f64,
    feature: u32,
    /// Index of the true child (x <= value); the false child is `next`.
    true_child: u32,
    false_child: u32,
}

const LEAF: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub(super) struct Trees {
    nodes: Vec<Node>,
    /// Index of each tree's root in `nodes`.
    roots: Vec<u32>,
    n_features: usize,
}

impl Trees {
    /// Flattens a forest that `raw::check` accepted: children inside their
    /// tree and after their parent, so every walk ends.
    pub(super) fn from_bytes(bytes: &[u8], n_features: usize) -> Result<Self, ModelError> {
        let trees = super::raw::check(bytes, n_features)?;
        let mut nodes = Vec::with_capacity(trees.iter().map(|t| t.nodes.len()).sum());
        let mut roots = Vec::with_capacity(trees.len());
        for tree in &trees {
            let base = nodes.len();
            let index = |i: usize| {
                u32::try_from(base + i).map_err(|_| ModelError::Corrupt("forest too large".into()))
            };
            roots.push(index(0)?);
            for node in &tree.nodes {
                nodes.push(
                    match (node.true_child, node.false_child, node.split_value) {
                        (Some(a), Some(b), Some(v)) => Node {
                            value: v,
                            feature: node.split_feature as u32,
                            true_child: index(a)?,
                            false_child: index(b)?,
                        },
                        _ => Node {
                            value: node.output,
                            feature: LEAF,
                            true_child: 0,
                            false_child: 0,
                        },
                    },
                );
            }
        }
        Ok(Self {
            nodes,
            roots,
            n_features,
        })
    }

    /// The mean of the trees' leaves for row `x`; None for a row of the
    /// wrong length.
    pub(super) fn predict(&self, x: &[f64]) -> Option<f64> {
        if x.len() != self.n_features || self.roots.is_empty() {
            return None;
        }
        let mut sum = 0.0;
        for &root in &self.roots {
            let mut node = &self.nodes[root as usize];
            while node.feature != LEAF {
                let next = if x[node.feature as usize] <= node.value {
                    node.true_child
                } else {
                    node.false_child
                };
                node = &self.nodes[next as usize];
            }
            sum += node.value;
        }
        Some(sum / self.roots.len() as f64)
    }
}
