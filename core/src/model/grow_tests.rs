// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::model::{raw, trees::Trees};

/// `n` rows of `d` features, half of them coarse (ties, few bins) and half
/// fine (more distinct values than bins); labels with noise.
fn data(n: usize, d: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let xs: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            (0..d)
                .map(|j| {
                    let v: f64 = rng.random();
                    if j % 2 == 0 { (v * 20.0).floor() } else { v }
                })
                .collect()
        })
        .collect();
    let ys = xs
        .iter()
        .map(|x| x[0] * 0.1 + x[1] + rng.random::<f64>())
        .collect();
    (xs, ys)
}

fn cfg(n_trees: usize, max_depth: u16, min_samples_leaf: usize) -> ForestConfig {
    ForestConfig {
        n_trees,
        max_depth,
        min_samples_leaf,
        m: None,
        seed: 5,
    }
}

/// The leaf a row reaches by the thresholds, as the predictor walks.
fn leaf_of(nodes: &[Node], x: &[f64]) -> usize {
    let mut i = 0;
    while let (Some(t), Some(f), Some(v)) = (
        nodes[i].true_child,
        nodes[i].false_child,
        nodes[i].split_value,
    ) {
        i = if x[nodes[i].split_feature] <= v { t } else { f };
    }
    i
}

#[test]
fn a_tree_fits_a_step_function_exactly() {
    let xs: Vec<Vec<f64>> = (0..400).map(|i| vec![f64::from(i) / 400.0]).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| if x[0] <= 0.3 { 1.0 } else { 3.0 })
        .collect();
    let grown = grow(&xs, &ys, 1, &cfg(3, 2, 1)).unwrap();
    let trees = raw::check(&grown.bytes, 1).unwrap();
    for tree in &trees {
        assert_eq!(tree.nodes.len(), 3, "one split, two leaves");
        let t = tree.nodes[0].split_value.unwrap();
        // Between the last row of the first step and the first of the next.
        assert!((0.3..0.3 + 1.0 / 400.0).contains(&t), "{t}");
        for (x, y) in xs.iter().zip(&ys) {
            assert_eq!(walk(&tree.nodes, x), *y);
        }
    }
}

#[test]
fn every_leaf_holds_min_samples_leaf_drawn_rows_within_the_depth_and_their_mean() {
    let (xs, ys) = data(2_000, 5, 3);
    let binned = Binned::new(&xs, 5);
    for (depth, min_leaf) in [(4, 1), (8, 5), (12, 20)] {
        let c = cfg(1, depth, min_leaf);
        let mut grower = Grower::new(&binned, &ys, 5, &c);
        for seed in 0..5 {
            let tree = grower.tree(seed);
            // Levels: the root is 1, children follow their parent.
            let mut level = vec![0u16; tree.nodes.len()];
            level[0] = 1;
            for (i, node) in tree.nodes.iter().enumerate() {
                for child in [node.true_child, node.false_child].into_iter().flatten() {
                    assert!(child > i);
                    level[child] = level[i] + 1;
                }
            }
            let deepest = *level.iter().max().unwrap();
            assert!(deepest <= depth && tree._depth == deepest);
            assert!(deepest > 2, "a tree that barely grew");
            // Drawn rows reach, by the thresholds, leaves whose output is
            // their mean: training and walking split rows the same way.
            let mut n = vec![0u32; tree.nodes.len()];
            let mut sum = vec![0.0; tree.nodes.len()];
            for (i, x) in xs.iter().enumerate() {
                let c = grower.counts[i];
                let leaf = leaf_of(&tree.nodes, x);
                n[leaf] += c;
                sum[leaf] += f64::from(c) * ys[i];
            }
            for (i, node) in tree.nodes.iter().enumerate() {
                if node.true_child.is_none() {
                    assert!(n[i] as usize >= min_leaf, "leaf {i}: {} rows", n[i]);
                    let mean = sum[i] / f64::from(n[i]);
                    assert!((node.output - mean).abs() < 1e-9, "leaf {i}");
                }
            }
        }
    }
}

#[test]
fn an_out_of_bag_prediction_ignores_its_own_label() {
    // A row's out-of-bag trees never saw it: changing its label leaves
    // its prediction as it was, to the bit, while in-bag trees change.
    let (xs, ys) = data(300, 3, 8);
    let c = cfg(7, 6, 2);
    let before = grow(&xs, &ys, 3, &c).unwrap();
    let mut changed = 0;
    for i in 0..xs.len() {
        let mut ys2 = ys.clone();
        ys2[i] += 1_000.0;
        let after = grow(&xs, &ys2, 3, &c).unwrap();
        assert_eq!(
            before.oob[i].map(f64::to_bits),
            after.oob[i].map(f64::to_bits)
        );
        changed += usize::from(before.bytes != after.bytes);
        if i == 20 {
            break;
        }
    }
    assert!(changed > 0, "the label never reached a tree");
    assert!(before.oob.iter().filter(|p| p.is_some()).count() > 270);
}

#[test]
fn the_flat_walk_averages_the_encoded_trees() {
    let (xs, ys) = data(500, 4, 11);
    let grown = grow(&xs, &ys, 4, &cfg(9, 7, 3)).unwrap();
    let trees = raw::check(&grown.bytes, 4).unwrap();
    let flat = Trees::from_bytes(&grown.bytes, 4).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut rows: Vec<Vec<f64>> = (0..200)
        .map(|_| (0..4).map(|_| rng.random::<f64>() * 20.0).collect())
        .collect();
    // Rows on the thresholds themselves, where `<=` decides.
    for tree in &trees {
        for node in tree.nodes.iter().filter(|n| n.true_child.is_some()) {
            let mut x = vec![0.5; 4];
            x[node.split_feature] = node.split_value.unwrap();
            rows.push(x);
        }
    }
    for x in &rows {
        let sum: f64 = trees.iter().map(|t| walk(&t.nodes, x)).sum();
        let ours = flat.predict(x).unwrap();
        assert_eq!(
            ours.to_bits(),
            (sum / trees.len() as f64).to_bits(),
            "{x:?}"
        );
    }
}
