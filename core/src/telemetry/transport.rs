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
    /// Repeats of a series already produced again to its window's
    /// partition: dropped, not produced again.
    pub reroute_repeats: IntCounterVec,
    pub produce_errors: IntCounterVec,
    pub commits: IntCounter,
    pub commit_failures: IntCounter,
    pub rebalances: IntCounterVec,
    pub assigned_partitions: IntGauge,
    /// High watermark minus the committed offset: `unread` plus `held`.
    pub consumer_lag: IntGaugeVec,
    /// Records the stage has not received yet: a backlog.
    pub consumer_unread: IntGaugeVec,
    /// Received but not committed: kept on purpose in the stage's memory
    /// (open cascades, the training set), replayed after a restart.
    pub consumer_held: IntGaugeVec,
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
                "Records behind the high watermark from the committed offset, per input partition: unread plus held (librdkafka statistics)",
            ),
            &["topic", "partition"],
        )?;
        r.register(Box::new(consumer_lag.clone()))?;
        let partition_gauge = |noun: &str, help: &str| {
            let g = IntGaugeVec::new(Opts::new(name(noun), help), &["topic", "partition"])?;
            r.register(Box::new(g.clone()))?;
            Ok::<_, TelemetryError>(g)
        };
        let consumer_unread = partition_gauge(
            "consumer_unread_records",
            "Records past what the stage has received, per input partition: a backlog (librdkafka statistics)",
        )?;
        let consumer_held = partition_gauge(
            "consumer_held_records",
            "Records received but not yet committed, per input partition: held by design in the stage's memory and replayed after a restart",
        )?;
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
                "Input records refused and dead-lettered, by reason (undecodable, invalid, refused, unusable)",
                &["topic", "reason"],
            )?,
            rerouted: counters(
                "rerouted_total",
                "Inputs found on another partition than their window's, produced again to it",
                &["topic"],
            )?,
            reroute_repeats: counters(
                "reroute_repeats_total",
                "Repeats of a series already produced again to its window's partition: dropped",
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
            consumer_unread,
            consumer_held,
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
