//! The metrics of exactly-once transactions: outcomes and durations.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, Opts};

use crate::telemetry::{Metrics, TelemetryError};

/// The transaction metrics of a stage.
#[derive(Debug, Clone)]
pub(super) struct TxnMetrics {
    pub(super) outcomes: IntCounterVec,
    pub(super) duration: Histogram,
}

impl TxnMetrics {
    pub(super) fn new(metrics: &Metrics, stage: &str) -> Result<Self, TelemetryError> {
        let r = metrics.registry();
        let outcomes = IntCounterVec::new(
            Opts::new(
                format!("tweetoscope_{stage}_transactions_total"),
                "Transactions ended, by outcome (committed, aborted)",
            ),
            &["outcome"],
        )?;
        r.register(Box::new(outcomes.clone()))?;
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                format!("tweetoscope_{stage}_transaction_duration_seconds"),
                "From a transaction's first record to its commit",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?;
        r.register(Box::new(duration.clone()))?;
        Ok(Self { outcomes, duration })
    }
}
