//! Log-normal prior on (p, beta), moment-matched as in the course code.
//!
//! The course specifies the prior by the mean, standard deviation and
//! correlation of (p, beta) themselves; [`Prior::log_normal`] turns them into
//! the Gaussian on (log p, log beta) with the same first two moments. The fit
//! works in log coordinates, where this prior is quadratic: its gradient is
//! linear and its Hessian constant.

/// Course prior moments: means (0.02, 0.0002), stds (0.01, 0.001), corr -0.1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// E[p], E[beta].
    pub mean: [f64; 2],
    /// Standard deviations of p and beta.
    pub std: [f64; 2],
    /// Correlation of p and beta.
    pub corr: f64,
}

/// Why a [`Prior`] has no log-normal counterpart.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriorError {
    #[error("prior means and standard deviations must be positive and finite, got {0:?}")]
    NotPositive(Prior),
    #[error("prior correlation must lie in (-1, 1), got {0}")]
    Correlation(f64),
    #[error(
        "prior covariance in log coordinates is not positive definite (corr {corr} is too strong for these moments)"
    )]
    NotPositiveDefinite { corr: f64 },
}

impl Prior {
    pub const COURSE: Prior = Prior {
        mean: [0.02, 0.0002],
        std: [0.01, 0.001],
        corr: -0.1,
    };

    /// The Gaussian on (log p, log beta) with the moments of `self`,
    /// reproducing the course: Q = [[sp^2, c sp sb], [c sp sb, sb^2]],
    /// cov_log = ln(Q_ij / (m_i m_j) + 1), mean_log = ln m - diag(cov_log)/2.
    pub fn log_normal(&self) -> Result<LogNormalPrior, PriorError> {
        let [m0, m1] = self.mean;
        let [s0, s1] = self.std;
        let positive = |x: f64| x > 0.0 && x.is_finite();
        if !(positive(m0) && positive(m1) && positive(s0) && positive(s1)) {
            return Err(PriorError::NotPositive(*self));
        }
        if !(self.corr > -1.0 && self.corr < 1.0) {
            return Err(PriorError::Correlation(self.corr));
        }
        let c00 = (s0 * s0 / (m0 * m0)).ln_1p();
        let c11 = (s1 * s1 / (m1 * m1)).ln_1p();
        let c01 = (self.corr * s0 * s1 / (m0 * m1)).ln_1p();
        let det = c00 * c11 - c01 * c01;
        if !(c00 > 0.0 && det > 0.0 && det.is_finite()) {
            return Err(PriorError::NotPositiveDefinite { corr: self.corr });
        }
        Ok(LogNormalPrior {
            mean: [m0.ln() - c00 / 2.0, m1.ln() - c11 / 2.0],
            precision: [[c11 / det, -c01 / det], [-c01 / det, c00 / det]],
        })
    }
}

/// Gaussian on x = (log p, log beta). The density is unnormalised and has no
/// Jacobian term, as in the course, which maximises LL + this in log
/// coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogNormalPrior {
    /// Mean of (log p, log beta).
    pub mean: [f64; 2],
    /// Inverse covariance of (log p, log beta).
    pub precision: [[f64; 2]; 2],
}

impl LogNormalPrior {
    /// -1/2 (x - mean)^T P (x - mean).
    pub fn log_density(&self, x: [f64; 2]) -> f64 {
        let g = self.gradient(x);
        let d = [x[0] - self.mean[0], x[1] - self.mean[1]];
        0.5 * (g[0] * d[0] + g[1] * d[1])
    }

    /// -P (x - mean).
    pub fn gradient(&self, x: [f64; 2]) -> [f64; 2] {
        let d = [x[0] - self.mean[0], x[1] - self.mean[1]];
        let p = &self.precision;
        [
            -(p[0][0] * d[0] + p[0][1] * d[1]),
            -(p[1][0] * d[0] + p[1][1] * d[1]),
        ]
    }

    /// -P, whatever x.
    pub fn hessian(&self) -> [[f64; 2]; 2] {
        let p = &self.precision;
        [[-p[0][0], -p[0][1]], [-p[1][0], -p[1][1]]]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn course_prior_matches_the_course_moment_matching() {
        // The course's compute_MAP formulas, written out for these moments.
        let lp = Prior::COURSE.log_normal().unwrap();
        let c00 = 1.25_f64.ln();
        let c11 = 26.0_f64.ln();
        let c01 = 0.75_f64.ln();
        assert!((lp.mean[0] - (0.02_f64.ln() - c00 / 2.0)).abs() < 1e-12);
        assert!((lp.mean[1] - (0.0002_f64.ln() - c11 / 2.0)).abs() < 1e-12);
        // P * Cov = I.
        let cov = [[c00, c01], [c01, c11]];
        let p = lp.precision;
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let prod = p[i][0] * cov[0][j] + p[i][1] * cov[1][j];
            let id = if i == j { 1.0 } else { 0.0 };
            assert!((prod - id).abs() < 1e-12, "P Cov [{i}][{j}] = {prod}");
        }
    }

    #[test]
    fn prior_gradient_and_hessian_match_finite_differences() {
        let lp = Prior::COURSE.log_normal().unwrap();
        let x = [-3.0, -7.5];
        let h = 1e-5;
        let g = lp.gradient(x);
        for (j, gj) in g.iter().enumerate() {
            let mut up = x;
            let mut dn = x;
            up[j] += h;
            dn[j] -= h;
            let fd = (lp.log_density(up) - lp.log_density(dn)) / (2.0 * h);
            assert!((fd - gj).abs() < 1e-7, "d/dx{j}: {fd} vs {gj}");
        }
        assert_eq!(lp.hessian()[0][1], lp.hessian()[1][0]);
        assert!(lp.log_density(lp.mean) == 0.0);
    }

    #[test]
    fn impossible_priors_are_errors_not_nan() {
        let mut bad = Prior::COURSE;
        bad.std[0] = 0.0;
        assert!(matches!(bad.log_normal(), Err(PriorError::NotPositive(_))));
        let mut bad = Prior::COURSE;
        bad.corr = 1.0;
        assert!(matches!(bad.log_normal(), Err(PriorError::Correlation(_))));
        // A correlation of -0.99 with these coefficients of variation puts
        // Q01 / (m0 m1) below -1: no log-normal has those moments.
        let mut bad = Prior::COURSE;
        bad.corr = -0.99;
        assert!(bad.log_normal().is_err());
    }
}
