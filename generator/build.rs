//! Sets `TWEETOSCOPE_COMMIT` for `--version` (shared by every binary crate).
include!("../build/commit.rs");
