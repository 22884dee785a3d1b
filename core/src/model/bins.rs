//! Features binned once per training: each column's values fall into at
//! most [`MAX_BINS`] quantile bins with a u8 code per row, so a node's
//! split search is a histogram over codes rather than a sort of values.
//!
//! A column with at most [`MAX_BINS`] distinct values gets one bin per
//! value, and the search is then exact. Each bin keeps the smallest and
//! largest value it holds, so a split between two bins has a real
//! threshold that sends every training row the way it went in training.

/// Bins per feature: a u8 code.
pub(super) const MAX_BINS: usize = 256;

/// The binned columns of a training set.
pub(super) struct Binned {
    rows: usize,
    /// Column-major: feature f of row i at `f * rows + i`.
    codes: Vec<u8>,
    /// Per feature, the smallest and largest value of each bin, in order.
    lo: Vec<Vec<f64>>,
    hi: Vec<Vec<f64>>,
}

impl Binned {
    /// Bins the `n_features` columns of `xs` (finite values, checked by
    /// the caller).
    pub(super) fn new(xs: &[Vec<f64>], n_features: usize) -> Self {
        let rows = xs.len();
        let mut codes = vec![0u8; rows * n_features];
        let mut lo = Vec::with_capacity(n_features);
        let mut hi = Vec::with_capacity(n_features);
        let mut column = Vec::with_capacity(rows);
        for f in 0..n_features {
            column.clear();
            column.extend(xs.iter().map(|x| x[f]));
            let (l, h) = edges(&mut column);
            for (code, x) in codes[f * rows..(f + 1) * rows].iter_mut().zip(xs) {
                // The first bin whose largest value reaches x; every value
                // is some bin's, so the index is below the bin count.
                *code = h.partition_point(|&v| v < x[f]) as u8;
            }
            lo.push(l);
            hi.push(h);
        }
        Self {
            rows,
            codes,
            lo,
            hi,
        }
    }

    /// The codes of feature `f`, one per row.
    pub(super) fn column(&self, f: usize) -> &[u8] {
        &self.codes[f * self.rows..(f + 1) * self.rows]
    }

    pub(super) fn bins(&self, f: usize) -> usize {
        self.hi[f].len()
    }

    /// The threshold between bin `left` and a later bin `right` of feature
    /// `f`: the midpoint of the gap between them, or the left bin's largest
    /// value when the midpoint rounds onto the right bin's smallest.
    pub(super) fn threshold(&self, f: usize, left: usize, right: usize) -> f64 {
        let (a, b) = (self.hi[f][left], self.lo[f][right]);
        let mid = a + (b - a) / 2.0;
        if mid < b { mid } else { a }
    }
}

/// The smallest and largest value of each quantile bin of `column`
/// (sorted in place): bins close as the count passes k/[`MAX_BINS`] of
/// the rows, never inside a run of equal values.
fn edges(column: &mut [f64]) -> (Vec<f64>, Vec<f64>) {
    column.sort_unstable_by(f64::total_cmp);
    let n = column.len();
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < n {
        let start = column[i];
        // The bin's target end, then to the end of the run of equal values.
        let k = lo.len() + 1;
        let mut end = if k >= MAX_BINS {
            n
        } else {
            (k * n).div_ceil(MAX_BINS).max(i + 1)
        };
        while end < n && column[end] == column[end - 1] {
            end += 1;
        }
        lo.push(start);
        hi.push(column[end - 1]);
        i = end;
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_a_bin_each_and_many_at_most_256() {
        let xs: Vec<Vec<f64>> = (0..1000)
            .map(|i| vec![f64::from(i % 7), f64::from(i) * 0.37])
            .collect();
        let b = Binned::new(&xs, 2);
        assert_eq!(b.bins(0), 7);
        assert_eq!(b.bins(1), MAX_BINS);
        for f in 0..2 {
            for (x, &c) in xs.iter().zip(b.column(f)) {
                let c = usize::from(c);
                assert!(b.lo[f][c] <= x[f] && x[f] <= b.hi[f][c], "{f} {x:?} {c}");
            }
            for w in b.hi[f].windows(2) {
                assert!(w[0] < w[1]);
            }
        }
        // A threshold sends a bin's values left and the next bin's right.
        for l in 0..b.bins(1) - 1 {
            let t = b.threshold(1, l, l + 1);
            assert!(b.hi[1][l] <= t && t < b.lo[1][l + 1]);
        }
    }

    #[test]
    fn a_threshold_between_adjacent_floats_is_the_left_value() {
        let a = 1.0f64;
        let next = f64::from_bits(a.to_bits() + 1);
        let b = Binned::new(&[vec![a], vec![next]], 1);
        assert_eq!(b.threshold(0, 0, 1), a);
    }
}
