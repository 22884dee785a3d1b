//! smartcore 0.7's serialized forest, field for field: the byte layout of
//! the `models` message since format 1, which `grow` writes and which is
//! checked here before `trees` walks it (children in range and after their
//! parent, so every walk ends). A predictor of a build that walked with
//! smartcore itself reads these bytes, and this one reads theirs.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::ModelError;

#[derive(Deserialize, Serialize)]
pub(super) struct Regressor {
    pub forest: Option<BaseForest>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct BaseForest {
    pub trees: Option<Vec<Tree>>,
    pub num_features: Option<usize>,
    pub _samples: Option<Vec<Vec<bool>>>,
}

#[derive(Deserialize, Serialize)]
pub(super) struct Tree {
    pub nodes: Vec<Node>,
    pub _parameters: Option<TreeParameters>,
    pub _depth: u16,
    pub _root_mass: f64,
    pub _phantom: (
        PhantomData<()>,
        PhantomData<()>,
        PhantomData<()>,
        PhantomData<()>,
    ),
}

#[derive(Deserialize, Serialize)]
pub(super) struct TreeParameters {
    pub _max_depth: Option<u16>,
    pub _min_samples_leaf: usize,
    pub _min_samples_split: usize,
    pub _seed: Option<u64>,
    pub _splitter: Splitter,
}

#[derive(Deserialize, Serialize)]
pub(super) enum Splitter {
    Random,
    Best,
}

#[derive(Deserialize, Serialize)]
pub(super) struct Node {
    pub output: f64,
    pub split_feature: usize,
    pub split_value: Option<f64>,
    pub _split_score: Option<f64>,
    pub true_child: Option<usize>,
    pub false_child: Option<usize>,
}

fn corrupt(what: String) -> ModelError {
    ModelError::Corrupt(what)
}

/// Checks that every tree is a proper tree over `n_features` columns
/// with finite outputs: children both present or both absent, each
/// after its parent (so walks end) and inside the node list. Returns the
/// trees.
pub(super) fn check(bytes: &[u8], n_features: usize) -> Result<Vec<Tree>, ModelError> {
    let (r, rest): (Regressor, _) = postcard::take_from_bytes(bytes).map_err(ModelError::Decode)?;
    if !rest.is_empty() {
        return Err(corrupt(format!("{} trailing bytes", rest.len())));
    }
    let forest = r
        .forest
        .ok_or_else(|| corrupt("forest was never fitted".into()))?;
    let trees = forest.trees.unwrap_or_default();
    if trees.is_empty() {
        return Err(corrupt("forest has no trees".into()));
    }
    let forest_features = forest.num_features.unwrap_or(0);
    if forest_features != n_features {
        return Err(ModelError::FeatureCount {
            envelope: n_features,
            forest: forest_features,
        });
    }
    for (t, tree) in trees.iter().enumerate() {
        let len = tree.nodes.len();
        if len == 0 {
            return Err(corrupt(format!("tree {t} has no nodes")));
        }
        for (i, node) in tree.nodes.iter().enumerate() {
            let bad = |why: &str| corrupt(format!("tree {t} node {i}: {why}"));
            if !node.output.is_finite() {
                return Err(bad("non-finite output"));
            }
            match (node.true_child, node.false_child) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    if a <= i || b <= i || a >= len || b >= len {
                        return Err(bad("child link out of order or range"));
                    }
                    if node.split_feature >= n_features {
                        return Err(bad("split on a feature the model does not have"));
                    }
                    if !node.split_value.is_some_and(f64::is_finite) {
                        return Err(bad("split without a finite threshold"));
                    }
                }
                _ => return Err(bad("only one child")),
            }
        }
    }
    Ok(trees)
}
