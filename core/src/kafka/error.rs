//! Why a stage process (or the generator) stopped with an error: the
//! broker, the producer, telemetry, or a shutdown past its grace. Bad
//! input is never one of them: it is dead-lettered.

use std::time::Duration;

use rdkafka::error::KafkaError;

use super::output::OutputError;
use super::topics::TopicsError;
use super::transaction::TransactionError;
use crate::telemetry::TelemetryError;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Topics(#[from] TopicsError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    #[error("cannot create the consumer: {0}")]
    Consumer(#[source] KafkaError),
    #[error("cannot subscribe to {topics}: {source}")]
    Subscribe {
        topics: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot read {topic} at start: {source}")]
    Preload {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    #[error("shutdown took longer than the {0:?} grace")]
    Grace(Duration),
    /// SIGTERM/SIGINT came while the stage was starting (e.g. waiting for
    /// the broker): nothing was consumed, so there is nothing to commit.
    #[error("stopped by a signal before the stage started")]
    Stopped,
}

impl DriverError {
    /// A newer instance took this one's transactional id: not a failure of
    /// this process, which stops cleanly (exit code 0).
    pub fn is_fenced(&self) -> bool {
        matches!(
            self,
            DriverError::Transaction(TransactionError::Fenced { .. })
                | DriverError::Output(super::output::OutputError::Transaction(
                    TransactionError::Fenced { .. }
                ))
        )
    }
}
