//! The one Prometheus registry of a process, shared by every stage it runs.

use prometheus::{Encoder, IntCounterVec, Opts, Registry, TextEncoder};

use super::TelemetryError;

/// The registry of the process and the metrics that belong to no stage.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Log records meant for the `logs` topic, by outcome: `sent`,
    /// `dropped` (queue full), `failed` (the topic refused them).
    pub log_records: IntCounterVec,
}

impl Metrics {
    /// The registry, with the process collector (resident memory, CPU
    /// seconds, open file descriptors: `process_*`, Linux only).
    pub fn new() -> Result<Self, TelemetryError> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let log_records = IntCounterVec::new(
            Opts::new(
                "tweetoscope_log_records_total",
                "Log records for the logs topic, by outcome (sent, dropped, failed)",
            ),
            &["outcome"],
        )?;
        registry.register(Box::new(log_records.clone()))?;
        Ok(Self {
            registry,
            log_records,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition format of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        // Encoding into a Vec fails only on invalid metric families, which
        // the registry rejected at registration.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        buf
    }
}
