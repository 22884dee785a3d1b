//! The consumed position a commit carries in its metadata string
//! (`consumed=N`): read by `tweetoscope status` and by the exactly-once
//! replay ([`super::transaction_replay`]).

/// The metadata string of a commit: the stage's consumed position.
pub fn metadata(consumed: i64) -> String {
    format!("consumed={consumed}")
}

/// The consumed position in a commit's metadata, if it carries one.
pub fn consumed_of(metadata: &str) -> Option<i64> {
    metadata
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("consumed="))
        .and_then(|v| v.parse().ok())
}
