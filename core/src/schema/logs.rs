//! The `logs` topic: log records of every stage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A log record on `logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogMsg {
    pub t: f64,
    pub source: String,
    pub level: String,
    pub message: String,
    #[serde(flatten)]
    pub fields: BTreeMap<String, serde_json::Value>,
}
