//! Why a transaction could not commit, and what a transactional error
//! means for the stage (fenced, aborted or fatal).

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Why a transaction could not commit.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransactionError {
    #[error(
        "fenced: a newer producer took transactional id `{id}` (a replica with the same --instance-id, or this one's partitions went to another member while it was stalled); this instance stops"
    )]
    Fenced { id: String },
    #[error(
        "transaction aborted ({0}): the stage stops so that, restarted, it rebuilds its memory by replay from the committed offsets"
    )]
    Aborted(String),
    #[error("transactional producer failed: {0}")]
    Fatal(String),
}

/// An error code that means a newer instance took the transactional id.
pub(super) fn is_fenced(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::Fenced
            | RDKafkaErrorCode::InvalidProducerEpoch
            | RDKafkaErrorCode::TransactionCoordinatorFenced
            | RDKafkaErrorCode::FencedInstanceId
    )
}

/// What a transactional error means for the stage.
pub(super) fn classify(id: &str, error: &KafkaError) -> TransactionError {
    let fenced = error.rdkafka_error_code().is_some_and(is_fenced);
    match error {
        _ if fenced => TransactionError::Fenced { id: id.to_owned() },
        KafkaError::Transaction(e) if e.txn_requires_abort() => {
            TransactionError::Aborted(e.to_string())
        }
        other => TransactionError::Fatal(other.to_string()),
    }
}
