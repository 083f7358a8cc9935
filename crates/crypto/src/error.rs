//! The crypto core's error type. Decryption-path failures are deliberately opaque: one variant,
//! one message, whatever check failed (tag, commitment, header format, truncation), so that no
//! answer tells an attacker which byte to change next.

/// A crypto failure.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Any failure while authenticating, decrypting or unwrapping.
    #[error("decryption failed")]
    DecryptionFailed,
    /// Key material of the wrong size or shape.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// An algorithm keyhold does not implement.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A parameter outside its allowed range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// A sealed blob names another master key.
    #[error("sealed with a different master key")]
    WrongSealingKey,
    /// An I/O error from a `Read`/`Write` adapter.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The system random generator failed.
    #[error("random number generator failed")]
    Rng,
}
