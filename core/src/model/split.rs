//! A node's split search along one feature: its non-empty bins in order,
//! a split offered between each and the next, kept when it leaves the
//! halves' labels the least squared error.

use super::bins::Binned;

/// One feature's scan of a node's non-empty bins in order, offering a
/// split between each and the next.
pub(super) struct Scan {
    feature: usize,
    count: f64,
    sum: f64,
    min_leaf: f64,
    left_n: f64,
    left_y: f64,
    prev: Option<usize>,
}

impl Scan {
    pub(super) fn new(feature: usize, count: f64, sum: f64, min_leaf: f64) -> Self {
        Self {
            feature,
            count,
            sum,
            min_leaf,
            left_n: 0.0,
            left_y: 0.0,
            prev: None,
        }
    }

    /// Bin `b` holds `n` drawn rows of label sum `y`: offers the split
    /// between the previous non-empty bin and it.
    pub(super) fn bin(
        &mut self,
        b: usize,
        n: f64,
        y: f64,
        binned: &Binned,
        best: &mut Option<Split>,
    ) {
        if let Some(p) = self.prev {
            let right_n = self.count - self.left_n;
            if self.left_n >= self.min_leaf && right_n >= self.min_leaf {
                let right_y = self.sum - self.left_y;
                let proxy = self.left_y * self.left_y / self.left_n + right_y * right_y / right_n;
                if best.as_ref().is_none_or(|s| proxy > s.proxy) {
                    *best = Some(Split {
                        feature: self.feature,
                        bin: p,
                        threshold: binned.threshold(self.feature, p, b),
                        proxy,
                    });
                }
            }
        }
        self.left_n += n;
        self.left_y += y;
        self.prev = Some(b);
    }
}

/// The best split of a node found so far.
pub(super) struct Split {
    pub feature: usize,
    /// The last bin that goes to the true child.
    pub bin: usize,
    pub threshold: f64,
    /// Sum of n * mean^2 over both halves: the larger, the smaller the
    /// halves' squared error.
    pub proxy: f64,
}
