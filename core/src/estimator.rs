//! The estimator stage: fits the marked Hawkes process to each partial
//! cascade (SPEC §5) and publishes the parameters and the w = 1 prediction.
//!
//! Series are read as course collectors send them, too: times are shifted
//! to the first tweet (some send absolute times), tweets at or past the
//! window are dropped and counted, and a (cid, T_obs) already fitted is not
//! fitted again (a 2021 collector resends the series on every tweet); the
//! keys remembered for that are bounded by [`SEEN_CAPACITY`].

use crate::dedupe::{RecentKeys, SEEN_CAPACITY};
use crate::features;
use crate::hawkes::{self, FitConfig, FitError, Kernel, NEAR_CRITICAL};
use crate::schema::{
    FailedMsg, Message, ParametersMsg, PowerLawParams, PropertiesMsg, SeriesMsg, Topic,
};
use crate::stage::{Ctx, Stage, StageError, StageReport};

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
    /// Series whose first time was not 0 (absolute times): shifted.
    pub shifted: u64,
    /// Tweets at or past the window's end, dropped before the fit.
    pub past_window: u64,
    /// Series of a (cid, T_obs) already fitted: skipped.
    pub repeated: u64,
    /// Solver iterations of the successful fits.
    pub iterations: u64,
    /// `--kernel power-law`: series whose power-law fit failed and that
    /// were published with the exponential fit instead.
    pub power_law_failed: u64,
    /// Failed fits by [`crate::hawkes::FitError::reason`].
    pub failed_by_reason: std::collections::BTreeMap<&'static str, u64>,
}

/// (cid, T_obs, run identity from the lineage): a new run of the same data
/// set is fitted again, a replay of the same records is not.
/// Fits series into parameters.
#[derive(Debug)]
pub struct Estimator {
    cfg: FitConfig,
    stats: EstimatorStats,
    times: Vec<f64>,
    marks: Vec<f64>,
    seen: RecentKeys,
}

impl Estimator {
    pub fn new(cfg: FitConfig) -> Self {
        Self {
            cfg,
            stats: EstimatorStats::default(),
            times: Vec::new(),
            marks: Vec::new(),
            seen: RecentKeys::new(SEEN_CAPACITY),
        }
    }

    pub fn stats(&self) -> &EstimatorStats {
        &self.stats
    }

    /// The pure part: a series in, parameters (with the series' shape
    /// features) or the reason of the failure out. Times are taken relative
    /// to the first tweet and only those before `T_obs` are fitted.
    pub fn estimate(&mut self, series: &SeriesMsg) -> Result<ParametersMsg, FitError> {
        self.times.clear();
        self.marks.clear();
        let t_obs = f64::from(series.t_obs);
        let t0 = series.tweets.first().map_or(0.0, |&(t, _)| t);
        if t0 != 0.0 {
            self.stats.shifted += 1;
        }
        for &(t, m) in &series.tweets {
            if t - t0 < t_obs {
                self.times.push(t - t0);
                self.marks.push(m);
            } else {
                self.stats.past_window += 1;
            }
        }
        let fit = hawkes::fit_map(&self.times, &self.marks, t_obs, &self.cfg)?;
        self.stats.iterations += fit.iterations;
        let n_obs = self.times.len() as u64;
        let mut params = ParametersMsg {
            cid: series.cid.clone(),
            msg: series.msg.clone(),
            n_obs,
            n_supp: hawkes::final_size(0.0, fit.g1, fit.n_star, 1.0),
            params: [fit.p, fit.beta],
            n_star: fit.n_star,
            g1: fit.g1,
            t_obs: Some(series.t_obs),
            features: features::series_features(&self.times, &self.marks, t_obs),
            power_law: None,
            lineage: series.lineage,
        };
        if self.cfg.kernel == Kernel::PowerLaw {
            self.power_law(series, &mut params);
        }
        Ok(params)
    }

    /// `--kernel power-law`: replaces the prediction (n*, G1, n_supp) by the
    /// power-law fit's, keeping the exponential one as features
    /// (`exp_n_star`, `exp_log_supp_ratio`). A failed power-law fit leaves
    /// the exponential prediction, counted and logged.
    fn power_law(&mut self, series: &SeriesMsg, params: &mut ParametersMsg) {
        let t_obs = f64::from(series.t_obs);
        match hawkes::powerlaw::fit_power_law(&self.times, &self.marks, t_obs, &self.cfg) {
            Ok(pl) => {
                self.stats.iterations += pl.iterations;
                let n_obs = params.n_obs as f64;
                params.features.insert("exp_n_star".into(), params.n_star);
                params.features.insert(
                    "exp_log_supp_ratio".into(),
                    (params.n_supp / n_obs.max(1.0)).ln_1p(),
                );
                params.n_star = pl.n_star;
                params.g1 = pl.g1;
                params.n_supp = hawkes::final_size(0.0, pl.g1, pl.n_star, 1.0);
                params.power_law = Some(PowerLawParams {
                    p: pl.p,
                    beta: pl.shape.beta,
                    c: pl.shape.c,
                    theta: pl.shape.theta,
                });
            }
            Err(error) => {
                self.stats.power_law_failed += 1;
                tracing::warn!(
                    cid = %series.cid,
                    window = series.t_obs,
                    n = self.times.len(),
                    %error,
                    "power-law fit failed: the exponential fit is published"
                );
            }
        }
    }
}

impl Estimator {
    /// Whether (cid, T_obs, run) is seen for the first time; remembers it.
    fn first_time(&mut self, series: &SeriesMsg) -> bool {
        let run = series.lineage.map(|l| l.run());
        self.seen.insert(&(series.cid.as_str(), series.t_obs, run))
    }
}

impl Stage for Estimator {
    fn name(&self) -> &'static str {
        "estimator"
    }

    fn inputs(&self) -> &'static [Topic] {
        &[Topic::CascadeSeries]
    }

    fn outputs(&self) -> &'static [Topic] {
        &[Topic::CascadeProperties]
    }

    fn handle(&mut self, msg: Message, ctx: Ctx, out: &mut Vec<Message>) -> Result<(), StageError> {
        let Message::Series(series) = msg else {
            return Err(StageError::UnexpectedTopic {
                stage: "estimator",
                topic: msg.topic(),
            });
        };
        self.stats.series += 1;
        if !self.first_time(&series) {
            self.stats.repeated += 1;
            tracing::debug!(cid = %series.cid, window = series.t_obs, "series already fitted: skipped");
            return Ok(());
        }
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
                    .entry(error.reason())
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
                // Tells the predictor, so that the size does not wait for
                // parameters that will never come.
                out.push(Message::Properties(PropertiesMsg::Failed(FailedMsg {
                    cid: series.cid.clone(),
                    t_obs: Some(series.t_obs),
                    reason: error.to_string(),
                    lineage: series.lineage,
                })));
            }
        }
        Ok(())
    }

    fn observe(&self, r: &mut dyn StageReport) {
        let s = self.stats();
        r.counter(
            "fit_iterations",
            "Solver iterations over every successful fit",
            &[],
            s.iterations,
        );
        r.counter(
            "power_law_fallbacks",
            "--kernel power-law: series whose power-law fit failed, published with the exponential fit",
            &[],
            s.power_law_failed,
        );
        for (outcome, n) in [
            ("shifted", s.shifted),
            ("past_window", s.past_window),
            ("repeated", s.repeated),
        ] {
            r.counter(
                "course_series",
                "Course-shaped series normalised before the fit: times shifted to the first tweet, tweets past the window dropped, repeated (cid, T_obs) skipped",
                &[("outcome", outcome)],
                n,
            );
        }
        for (reason, n) in &s.failed_by_reason {
            r.counter(
                "fit_failures",
                "Fits that returned no parameters, by reason",
                &[("reason", reason)],
                *n,
            );
        }
    }
}

#[cfg(test)]
#[path = "estimator_tests.rs"]
mod tests;
