//! Log-normal prior on (p, beta) (STUB: helper fills).

/// Course prior moments: means (0.02, 0.0002), stds (0.01, 0.001), corr -0.1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    pub mean: [f64; 2],
    pub std: [f64; 2],
    pub corr: f64,
}

impl Prior {
    pub const COURSE: Prior = Prior {
        mean: [0.02, 0.0002],
        std: [0.01, 0.001],
        corr: -0.1,
    };
}
