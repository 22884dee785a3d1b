//! The transport metrics of one stage: what a driver counts around the
//! stage, whatever the stage is.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
};

use super::{Metrics, TelemetryError};

/// Counters, gauges and histograms of a stage's transport, labelled by
/// broker topic name. Cloning shares them.
#[derive(Debug, Clone)]
pub struct Transport {
    pub consumed: IntCounterVec,
    pub produced: IntCounterVec,
    /// By topic and [`crate::run_loop::RefusalKind::label`].
    pub dead_letters: IntCounterVec,
    /// Inputs found on another partition than their window's, produced
    /// again to it (see [`crate::kafka::partition`]).
    pub rerouted: IntCounterVec,
    pub produce_errors: IntCounterVec,
    pub commits: IntCounter,
    pub commit_failures: IntCounter,
    pub rebalances: IntCounterVec,
    pub assigned_partitions: IntGauge,
    pub consumer_lag: IntGaugeVec,
    pub batch_duration: Histogram,
    pub latency: HistogramVec,
    /// The process's log record counter (see [`Metrics::log_records`]).
    pub log_records: IntCounterVec,
}

impl Transport {
    /// Registers `tweetoscope_<stage>_*` in the process registry.
    pub fn new(metrics: &Metrics, stage: &str) -> Result<Self, TelemetryError> {
        let r = metrics.registry();
        let name = |noun: &str| format!("tweetoscope_{stage}_{noun}");
        let counters = |noun: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name(noun), help), labels)?;
            r.register(Box::new(c.clone()))?;
            Ok::<_, TelemetryError>(c)
        };
        let counter = |noun: &str, help: &str| {
            let c = IntCounter::new(name(noun), help)?;
            r.register(Box::new(c.clone()))?;
            Ok::<_, TelemetryError>(c)
        };
        let assigned_partitions = IntGauge::new(
            name("assigned_partitions"),
            "Input partitions assigned to this consumer",
        )?;
        r.register(Box::new(assigned_partitions.clone()))?;
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                name("consumer_lag_records"),
                "Records behind the high watermark, per input partition (librdkafka statistics)",
            ),
            &["topic", "partition"],
        )?;
        r.register(Box::new(consumer_lag.clone()))?;
        let batch_duration = Histogram::with_opts(
            HistogramOpts::new(
                name("batch_duration_seconds"),
                "Time to handle a batch: receive, handle, deliver the outputs, commit",
            )
            .buckets(prometheus::exponential_buckets(0.000_5, 2.5, 12)?),
        )?;
        r.register(Box::new(batch_duration.clone()))?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                name("pipeline_latency_seconds"),
                "From an output's origin-ts header (its oldest ancestor entered the pipeline) to its production, per output topic",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
            ]),
            &["topic"],
        )?;
        r.register(Box::new(latency.clone()))?;
        Ok(Self {
            consumed: counters("consumed_total", "Input records received", &["topic"])?,
            produced: counters("produced_total", "Output records delivered", &["topic"])?,
            dead_letters: counters(
                "dead_letters_total",
                "Input records refused and dead-lettered, by reason (undecodable, invalid, refused)",
                &["topic", "reason"],
            )?,
            rerouted: counters(
                "rerouted_total",
                "Inputs found on another partition than their window's, produced again to it",
                &["topic"],
            )?,
            produce_errors: counters(
                "produce_errors_total",
                "Records the broker did not accept after librdkafka's retries",
                &["topic"],
            )?,
            commits: counter("commits_total", "Offset commits requested")?,
            commit_failures: counter(
                "commit_failures_total",
                "Offset commits refused (request or broker)",
            )?,
            rebalances: counters(
                "rebalances_total",
                "Group rebalances seen, by outcome (assign, revoke, error)",
                &["outcome"],
            )?,
            assigned_partitions,
            consumer_lag,
            batch_duration,
            latency,
            log_records: metrics.log_records.clone(),
        })
    }

    /// Records one output's latency, from its origin timestamp (ms).
    pub fn record_latency(&self, topic: &str, origin_ms: i64, now_ms: i64) {
        let seconds = (now_ms - origin_ms).max(0) as f64 / 1000.0;
        self.latency.with_label_values(&[topic]).observe(seconds);
    }
}
