//! The detector's error type: policy and state files, with the file, line and column.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("policy {file}:{line}:{column}: {message}")]
    Policy {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("policy {file}: {message}")]
    PolicyValue { file: PathBuf, message: String },
    #[error("state file {path}:{line}:{column}: {message}")]
    State {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The cause is in the message (not a `source()`, which would print it twice in a chain).
    #[error("{op} {path}: {error}")]
    Io {
        op: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
}
