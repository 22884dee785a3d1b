//! Why a data set cannot be read or written, shared by every file of
//! [`crate::data`].

use std::path::PathBuf;

/// Why a data or index file cannot be read or written. The Display names
/// the file, the 1-based line number in that file when there is one, and
/// what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} line {line}: {what}", path.display())]
    Line {
        path: PathBuf,
        line: u64,
        what: String,
    },
}
