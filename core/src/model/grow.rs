//! Growing the random forest: our own trainer, written into smartcore
//! 0.7's byte layout (see `raw`) so that the `models` wire format is
//! unchanged.
//!
//! Each tree is grown on a bootstrap sample (n draws with replacement,
//! kept as a count per row) to `max_depth` levels (the root is level 1),
//! splitting a node of at least 2 x `min_samples_leaf` drawn rows on the
//! best of `m` features drawn afresh at each node, by variance reduction,
//! when both halves keep `min_samples_leaf` drawn rows. Counts weigh the
//! rows throughout, as smartcore does. The split search reads histograms
//! of the node's rows over the features' bins (see `bins`; a node with
//! far fewer rows than bins sorts its rows' codes instead), and a split
//! partitions the node's row indices in place. A leaf outputs the mean
//! label of its drawn rows.
//!
//! The trees are walked for the rows each left out of its bag as they are
//! grown, giving the out-of-bag predictions the calibration is fitted on.

use std::collections::VecDeque;
use std::marker::PhantomData;

use super::bins::{Binned, MAX_BINS};
use super::raw::{BaseForest, Node, Regressor, Splitter, Tree, TreeParameters};
use super::split::{Scan, Split};
use super::{ForestConfig, ModelError};

/// A grown forest: its bytes in smartcore's layout, and each training
/// row's out-of-bag prediction (None for a row in every tree's bag).
pub(super) struct Grown {
    pub bytes: Vec<u8>,
    pub oob: Vec<Option<f64>>,
}

/// Grows the forest `cfg` describes on `xs` (rows of `n_features` finite
/// values) and `ys`, checked by the caller.
pub(super) fn grow(
    xs: &[Vec<f64>],
    ys: &[f64],
    n_features: usize,
    cfg: &ForestConfig,
) -> Result<Grown, ModelError> {
    let n = xs.len();
    let binned = Binned::new(xs, n_features);
    let mut seeds = SplitMix64(cfg.seed);
    let mut grower = Grower::new(&binned, ys, n_features, cfg);
    let (mut oob_sum, mut oob_trees) = (vec![0.0; n], vec![0u32; n]);
    let mut trees = Vec::with_capacity(cfg.n_trees);
    for _ in 0..cfg.n_trees {
        let seed = seeds.next();
        let tree = grower.tree(seed);
        let flat = Flat::new(&tree.nodes);
        for (i, x) in xs.iter().enumerate() {
            if grower.counts[i] == 0 {
                oob_sum[i] += flat.walk(x);
                oob_trees[i] += 1;
            }
        }
        trees.push(tree);
    }
    let oob = oob_sum
        .iter()
        .zip(&oob_trees)
        .map(|(&s, &k)| (k > 0).then(|| s / f64::from(k)))
        .collect();
    let forest = Regressor {
        forest: Some(BaseForest {
            trees: Some(trees),
            num_features: Some(n_features),
            _samples: None,
        }),
    };
    let bytes = postcard::to_allocvec(&forest).map_err(ModelError::Encode)?;
    Ok(Grown { bytes, oob })
}

/// A tree as the out-of-bag rows walk it: 24-byte nodes, a leaf's
/// `true_child` being 0 (children come after their parent).
struct Flat(Vec<(f64, u32, u32)>);

impl Flat {
    fn new(nodes: &[Node]) -> Self {
        Self(
            nodes
                .iter()
                .map(|n| match (n.true_child, n.split_value) {
                    (Some(t), Some(v)) => (v, n.split_feature as u32, t as u32),
                    _ => (n.output, 0, 0),
                })
                .collect(),
        )
    }

    /// The false child is the true child's sibling, `t + 1`.
    fn walk(&self, x: &[f64]) -> f64 {
        let mut node = self.0[0];
        while node.2 != 0 {
            let t = node.2 as usize;
            node = self.0[if x[node.1 as usize] <= node.0 {
                t
            } else {
                t + 1
            }];
        }
        node.0
    }
}

/// A tree's output for row `x`: x <= threshold goes to the true child.
#[cfg(test)]
fn walk(nodes: &[Node], x: &[f64]) -> f64 {
    let mut node = &nodes[0];
    while let (Some(t), Some(f), Some(v)) = (node.true_child, node.false_child, node.split_value) {
        node = &nodes[if x[node.split_feature] <= v { t } else { f }];
    }
    node.output
}

/// The training set and the buffers one tree after another reuses.
struct Grower<'a> {
    binned: &'a Binned,
    ys: &'a [f64],
    cfg: &'a ForestConfig,
    m: usize,
    /// Bootstrap draws per row for the current tree.
    counts: Vec<u32>,
    /// Per row, draws and draws x label, as floats.
    weighted: Vec<(f64, f64)>,
    /// The drawn rows, each node owning a contiguous range.
    rows: Vec<u32>,
    /// A permutation of the features; a node tries its first m.
    features: Vec<usize>,
    /// One feature's histogram: drawn rows and their label sum per bin.
    hist: Vec<(f64, f64)>,
    /// A small node's (code, row) pairs, sorted instead of binned.
    pairs: Vec<u64>,
    rng: SplitMix64,
}

/// A node waiting for its statistics and maybe a split.
struct Pending {
    node: usize,
    start: usize,
    end: usize,
    level: u16,
}

impl<'a> Grower<'a> {
    fn new(binned: &'a Binned, ys: &'a [f64], n_features: usize, cfg: &'a ForestConfig) -> Self {
        let m = cfg
            .m
            .unwrap_or((n_features as f64).sqrt().floor() as usize)
            .clamp(1, n_features);
        Self {
            binned,
            ys,
            cfg,
            m,
            counts: vec![0; ys.len()],
            weighted: vec![(0.0, 0.0); ys.len()],
            rows: Vec::with_capacity(ys.len()),
            features: (0..n_features).collect(),
            hist: vec![(0.0, 0.0); MAX_BINS],
            pairs: Vec::new(),
            rng: SplitMix64(0),
        }
    }

    /// Grows a tree from `seed`; `counts` then holds its bootstrap draws.
    fn tree(&mut self, seed: u64) -> Tree {
        let n = self.counts.len();
        self.rng = SplitMix64(seed);
        self.counts.iter_mut().for_each(|c| *c = 0);
        // A tree depends on its seed and the data alone.
        for (k, f) in self.features.iter_mut().enumerate() {
            *f = k;
        }
        for _ in 0..n {
            self.counts[self.rng.below(n)] += 1;
        }
        for ((w, &c), &y) in self.weighted.iter_mut().zip(&self.counts).zip(self.ys) {
            *w = (f64::from(c), f64::from(c) * y);
        }
        self.rows.clear();
        self.rows
            .extend((0..n as u32).filter(|&i| self.counts[i as usize] > 0));
        let min_split = (2 * self.cfg.min_samples_leaf).max(2);
        let mut nodes = vec![leaf(0.0)];
        let mut queue = VecDeque::from([Pending {
            node: 0,
            start: 0,
            end: self.rows.len(),
            level: 1,
        }]);
        let (mut depth, mut root_mass) = (1, 0.0);
        while let Some(p) = queue.pop_front() {
            let (count, sum, sum_sq) = self.stats(p.start, p.end);
            if p.node == 0 {
                root_mass = count as f64;
            }
            let mean = sum / count as f64;
            nodes[p.node].output = mean;
            // Squared error left to explain, with a tolerance for labels
            // equal up to rounding.
            let sse = sum_sq - sum * mean;
            if p.level >= self.cfg.max_depth
                || (count as usize) < min_split
                || sse <= 1e-12 * sum_sq
            {
                continue;
            }
            let Some(split) = self.best_split(p.start, p.end, count, sum) else {
                continue;
            };
            let gain = split.proxy - sum * mean;
            if gain <= 1e-9 * sse {
                continue;
            }
            let mid = self.partition(p.start, p.end, split.feature, split.bin);
            let (t, f) = (nodes.len(), nodes.len() + 1);
            nodes.push(leaf(0.0));
            nodes.push(leaf(0.0));
            let node = &mut nodes[p.node];
            node.split_feature = split.feature;
            node.split_value = Some(split.threshold);
            node._split_score = Some(gain);
            node.true_child = Some(t);
            node.false_child = Some(f);
            depth = depth.max(p.level + 1);
            for (node, start, end) in [(t, p.start, mid), (f, mid, p.end)] {
                queue.push_back(Pending {
                    node,
                    start,
                    end,
                    level: p.level + 1,
                });
            }
        }
        Tree {
            nodes,
            _parameters: Some(TreeParameters {
                _max_depth: Some(self.cfg.max_depth),
                _min_samples_leaf: self.cfg.min_samples_leaf,
                _min_samples_split: min_split,
                _seed: Some(seed),
                _splitter: Splitter::Best,
            }),
            _depth: depth,
            _root_mass: root_mass,
            _phantom: (PhantomData, PhantomData, PhantomData, PhantomData),
        }
    }

    /// Drawn rows, label sum and label sum of squares of a node.
    fn stats(&self, start: usize, end: usize) -> (u64, f64, f64) {
        let (n, sum, sum_sq) =
            self.rows[start..end]
                .iter()
                .fold((0.0, 0.0, 0.0), |(n, s, q), &i| {
                    let (w, wy) = self.weighted[i as usize];
                    (n + w, s + wy, q + wy * self.ys[i as usize])
                });
        (n as u64, sum, sum_sq)
    }

    /// The best split over m features drawn for this node, if any keeps
    /// `min_samples_leaf` drawn rows on both sides.
    fn best_split(&mut self, start: usize, end: usize, count: u64, sum: f64) -> Option<Split> {
        let mut best: Option<Split> = None;
        let d = self.features.len();
        for k in 0..self.m {
            let j = k + self.rng.below(d - k);
            self.features.swap(k, j);
            let f = self.features[k];
            let bins = self.binned.bins(f);
            let column = self.binned.column(f);
            let rows = &self.rows[start..end];
            let mut scan = Scan::new(f, count as f64, sum, self.cfg.min_samples_leaf as f64);
            if rows.len() * 4 < bins {
                // Fewer rows than bins: sorting them costs less than
                // scanning every bin.
                self.pairs.clear();
                self.pairs.extend(
                    rows.iter()
                        .map(|&i| (u64::from(column[i as usize]) << 32) | u64::from(i)),
                );
                self.pairs.sort_unstable();
                let mut at = 0;
                while at < self.pairs.len() {
                    let b = (self.pairs[at] >> 32) as usize;
                    let (mut n, mut y) = (0.0, 0.0);
                    while at < self.pairs.len() && (self.pairs[at] >> 32) as usize == b {
                        let w = self.weighted[(self.pairs[at] & 0xFFFF_FFFF) as usize];
                        n += w.0;
                        y += w.1;
                        at += 1;
                    }
                    scan.bin(b, n, y, self.binned, &mut best);
                }
            } else {
                // The histogram is all zeros between uses: the scan
                // clears what the node filled.
                let hist = &mut self.hist[..bins];
                for &i in rows {
                    let w = self.weighted[i as usize];
                    let h = &mut hist[usize::from(column[i as usize])];
                    h.0 += w.0;
                    h.1 += w.1;
                }
                for (b, h) in hist.iter_mut().enumerate() {
                    if h.0 > 0.0 {
                        let (n, y) = std::mem::take(h);
                        scan.bin(b, n, y, self.binned, &mut best);
                    }
                }
            }
        }
        best
    }

    /// Puts the node's rows with a code of at most `bin` on `feature`
    /// first; returns where the others start.
    fn partition(&mut self, start: usize, end: usize, feature: usize, bin: usize) -> usize {
        let column = self.binned.column(feature);
        let rows = &mut self.rows[start..end];
        let mut mid = 0;
        for i in 0..rows.len() {
            if usize::from(column[rows[i] as usize]) <= bin {
                rows.swap(mid, i);
                mid += 1;
            }
        }
        start + mid
    }
}

fn leaf(output: f64) -> Node {
    Node {
        output,
        split_feature: 0,
        split_value: None,
        _split_score: None,
        true_child: None,
        false_child: None,
    }
}

/// SplitMix64: a small, fast generator, the same numbers for a seed on
/// every platform.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in 0..n (n >= 1), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
#[path = "grow_tests.rs"]
mod tests;
