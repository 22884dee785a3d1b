//! The estimator stage: fits the marked Hawkes process to each partial
//! cascade (SPEC §5) and publishes the parameters and the w = 1 prediction.

use crate::features;
use crate::hawkes::{self, FitConfig, FitError};
use crate::schema::{Message, ParametersMsg, PropertiesMsg, SeriesMsg, Topic};
use crate::stage::{Ctx, Stage, StageError};

/// Counters for metrics and the end-of-run report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EstimatorStats {
    pub series: u64,
    pub fitted: u64,
    /// Fits that returned no parameters (solver failure, degenerate input).
    pub failed: u64,
    /// Fits whose branching factor is at least [`NEAR_CRITICAL`]: their
    /// w = 1 prediction is unreliable (it grows as 1 / (1 - n*)).
    pub near_critical: u64,
    /// Solver iterations of the successful fits.
    pub iterations: u64,
    /// Failed fits by [`crate::observe::fit_failure_reason`].
    pub failed_by_reason: std::collections::BTreeMap<&'static str, u64>,
}

/// n* from which a cascade counts as near-critical.
pub const NEAR_CRITICAL: f64 = 0.95;

/// Fits series into parameters.
#[derive(Debug)]
pub struct Estimator {
    cfg: FitConfig,
    stats: EstimatorStats,
    times: Vec<f64>,
    marks: Vec<f64>,
}

impl Estimator {
    pub fn new(cfg: FitConfig) -> Self {
        Self {
            cfg,
            stats: EstimatorStats::default(),
            times: Vec::new(),
            marks: Vec::new(),
        }
    }

    pub fn stats(&self) -> &EstimatorStats {
        &self.stats
    }

    /// The pure part: a series in, parameters (with the series' shape
    /// features) or the reason of the failure out.
    pub fn estimate(&mut self, series: &SeriesMsg) -> Result<ParametersMsg, FitError> {
        self.times.clear();
        self.marks.clear();
        self.times.extend(series.tweets.iter().map(|&(t, _)| t));
        self.marks.extend(series.tweets.iter().map(|&(_, m)| m));
        let t_obs = f64::from(series.t_obs);
        let fit = hawkes::fit_map(&self.times, &self.marks, t_obs, &self.cfg)?;
        self.stats.iterations += fit.iterations;
        let n_obs = series.tweets.len() as u64;
        Ok(ParametersMsg {
            cid: series.cid.clone(),
            msg: series.msg.clone(),
            n_obs,
            n_supp: hawkes::final_size(0.0, fit.g1, fit.n_star, 1.0),
            params: [fit.p, fit.beta],
            n_star: fit.n_star,
            g1: fit.g1,
            t_obs: Some(series.t_obs),
            features: features::series_features(&self.times, &self.marks, t_obs),
        })
    }
}

impl Stage for Estimator {
    fn name(&self) -> &'static str {
        "estimator"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::CascadeSeries]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        let Message::Series(series) = msg else {
            return Err(StageError::UnexpectedTopic {
                stage: "estimator",
                topic: msg.topic(),
            });
        };
        self.stats.series += 1;
        match self.estimate(&series) {
            Ok(params) => {
                self.stats.fitted += 1;
                if params.n_star >= NEAR_CRITICAL {
                    self.stats.near_critical += 1;
                }
                out.push(Message::Properties(PropertiesMsg::Parameters(params)));
            }
            Err(error) => {
                self.stats.failed += 1;
                *self
                    .stats
                    .failed_by_reason
                    .entry(crate::observe::fit_failure_reason(&error))
                    .or_default() += 1;
                tracing::warn!(
                    cid = %series.cid,
                    window = series.t_obs,
                    n = series.tweets.len(),
                    partition = ctx.origin.partition,
                    offset = ctx.origin.offset,
                    %error,
                    "fit failed"
                );
            }
        }
        Ok(())
    }

    fn observe(&self, report: &mut dyn crate::stage::StageReport) {
        crate::observe::estimator(self, report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn series(tweets: Vec<(f64, f64)>) -> SeriesMsg {
        SeriesMsg::new("7".into(), "hello".into(), 600, tweets)
    }

    #[test]
    fn a_series_becomes_parameters_with_the_w1_prediction_and_features() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let tweets = hawkes::simulate::simulate_cascade(
            &mut rng,
            0.02,
            0.005,
            hawkes::MarkLaw::COURSE,
            Some(2000.0),
            600.0,
            500,
        );
        let n = tweets.len() as u64;
        let mut est = Estimator::new(FitConfig::default());
        let mut out = Vec::new();
        est.handle(Message::Series(series(tweets)), Ctx::default(), &mut out)
            .unwrap();
        let [Message::Properties(PropertiesMsg::Parameters(p))] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!((p.cid.as_str(), p.n_obs, p.t_obs), ("7", n, Some(600)));
        assert!((p.n_supp - p.g1 / (1.0 - p.n_star)).abs() <= 1e-9 * p.n_supp.max(1.0));
        assert!(p.n_star < 1.0 && p.params.iter().all(|v| v.is_finite() && *v > 0.0));
        assert!(features::vector(p, features::DEFAULT).is_some());
        assert_eq!(est.stats().fitted, 1);
    }

    #[test]
    fn other_topics_are_refused() {
        let mut est = Estimator::new(FitConfig::default());
        let msg = Message::Stat(crate::schema::StatMsg {
            kind: "stat".into(),
            cid: "1".into(),
            t_obs: 600,
            are: 0.1,
            are_hawkes: None,
        });
        assert!(est.handle(msg, Ctx::default(), &mut Vec::new()).is_err());
    }
}
