//! Unit tests of the Hawkes maths that span several files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod degenerate;
mod likelihood;

use proptest::prelude::*;

/// A random series: sorted times from 0 with gaps spanning 1 ms to hours,
/// magnitudes from 0 (floored to MIN_MARK) to 1e6, and a window end after
/// the last event.
pub(super) fn series() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, f64)> {
    (1usize..60, -3.0f64..4.0, 0.0f64..1.0).prop_flat_map(|(n, log_gap, tail)| {
        let gap = 10f64.powf(log_gap);
        (
            proptest::collection::vec(0.0f64..1.0, n),
            proptest::collection::vec(-1.0f64..6.0, n),
        )
            .prop_map(move |(u, lm)| {
                let mut t = 0.0;
                let times: Vec<f64> = u
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        if i > 0 {
                            t += -gap * (1.0 - x).ln();
                        }
                        t
                    })
                    .collect();
                // log10 magnitude below 0 reads as a zero-follower account.
                let marks = lm
                    .iter()
                    .map(|&l| if l < 0.0 { 0.0 } else { 10f64.powf(l) })
                    .collect();
                let t_obs = t + tail * gap * 10.0;
                (times, marks, t_obs)
            })
    })
}
