//! The storage layer's one error type. Messages name files and keys but never values, so they
//! are safe to log.

use crate::record::Precondition;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A precondition failed; no operation of the batch was applied.
    #[error("conflict on {namespace}/{key}: expected {expected:?}, found version {actual:?}")]
    Conflict {
        /// Namespace of the record whose precondition failed.
        namespace: String,
        /// Its key.
        key: String,
        /// What the batch expected.
        expected: Precondition,
        /// The version found (`None`: absent).
        actual: Option<u64>,
    },
    /// A namespace, key or blob key breaks the naming rules; the message says which rule.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A value, batch or blob exceeds a limit.
    #[error("{what} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A blob does not exist.
    #[error("blob {0} not found")]
    NotFound(String),
    /// A store file is unreadable or corrupted.
    #[error("{0}")]
    Corrupt(String),
    /// The store is held by another process.
    #[error("{0}")]
    Locked(String),
    /// A transient failure; the operation may be retried.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A record could not be decoded (unknown kind or schema).
    #[error("cannot decode record: {0}")]
    Decode(String),
    /// An I/O error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other engine error.
    #[error("store engine error: {0}")]
    Engine(String),
}

impl StoreError {
    /// True when retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Locked(_))
    }
}
