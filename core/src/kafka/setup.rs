//! What a stage process needs besides its stage: its options, windows and
//! telemetry handles, shared by the driver, its transport and the
//! generator.

use super::args::KafkaArgs;
use crate::schema::Window;
use crate::telemetry::logs::LogReceiver;
use crate::telemetry::{Health, Metrics, Transport};

/// The telemetry handles of a stage process; cloning shares them.
#[derive(Debug, Clone)]
pub struct StageTelemetry {
    /// The process's one registry.
    pub metrics: Metrics,
    pub transport: Transport,
    pub health: Health,
}

/// What a stage process needs besides its stage.
#[derive(Debug)]
pub struct Setup<'a> {
    pub args: &'a KafkaArgs,
    pub windows: &'a [Window],
    pub telemetry: StageTelemetry,
    /// Log records to forward to the logs topic (`None`: forwarding off).
    pub logs: Option<LogReceiver>,
}
