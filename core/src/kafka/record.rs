//! What the run loop reads of a consumed record besides its payload: the
//! `origin-ts` and `instance` headers, and why it could not be decoded.

use rdkafka::message::{BorrowedMessage, Headers, Message as _};

use super::output::{INSTANCE, ORIGIN_TS};
use crate::run_loop::{Refusal, RefusalKind};
use crate::schema::DecodeError;

/// What the run loop reads of an input's headers, in one pass.
#[derive(Debug, Default)]
pub(super) struct ReadHeaders {
    /// `origin-ts`, when present and a number.
    pub(super) origin_ms: Option<i64>,
    /// The index of `instance`, when present.
    pub(super) instance_at: Option<usize>,
}

pub(super) fn read_headers(m: &BorrowedMessage<'_>) -> ReadHeaders {
    let mut read = ReadHeaders::default();
    let Some(headers) = m.headers() else {
        return read;
    };
    for (i, h) in headers.iter().enumerate() {
        if h.key == ORIGIN_TS && read.origin_ms.is_none() {
            read.origin_ms = h
                .value
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok());
        } else if h.key == INSTANCE && read.instance_at.is_none() {
            read.instance_at = Some(i);
        }
    }
    read
}

/// The producer instance named by header `at` of `m`.
pub(super) fn instance<'m>(m: &'m BorrowedMessage<'_>, at: usize) -> Option<&'m str> {
    let value = m.headers()?.try_get(at)?.value?;
    std::str::from_utf8(value).ok()
}

/// Why a record that could not be decoded is refused.
pub(super) fn refusal(e: DecodeError) -> Refusal {
    Refusal {
        kind: match e {
            DecodeError::Json { .. } => RefusalKind::Undecodable,
            DecodeError::Invalid { .. } => RefusalKind::Invalid,
        },
        reason: e.to_string(),
    }
}
