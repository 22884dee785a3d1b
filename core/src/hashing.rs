//! The hash maps of the stages' per-message state: keyed by cascade ids
//! and windows, looked up for every tweet and every message. std's SipHash
//! was 3 % of `eval`'s CPU (perf, 2026-12-05); foldhash is faster on short
//! keys and still seeded per process, so input keys cannot be chosen to
//! collide (the keys come from the stream).

use std::collections::{HashMap, HashSet};

pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;
