//! Vault errors, each with the Azure Key Vault error code it maps to. Messages name vaults,
//! keys and versions but never key material.

use keyhold_crypto::CryptoError;
use keyhold_store::StoreError;

/// A vault failure.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No such vault.
    #[error("Vault {0} not found")]
    VaultNotFound(String),
    /// The vault name is taken (also by a soft-deleted vault).
    #[error("{0}")]
    VaultAlreadyExists(String),
    /// No such key (or version).
    #[error(
        "A key with (name/id) {0} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command."
    )]
    KeyNotFound(String),
    /// No such deleted key.
    #[error("Deleted Key not found: {0}")]
    DeletedKeyNotFound(String),
    /// The key name is held by a deleted, recoverable key.
    #[error(
        "Key {0} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged."
    )]
    DeletedButRecoverable(String),
    /// The key is disabled, expired or not yet valid.
    #[error("Operation {op} is not allowed on a disabled, expired or not yet valid key {key}.")]
    KeyNotUsable {
        /// The operation.
        op: String,
        /// The key.
        key: String,
    },
    /// The operation is not in the key's `key_ops`.
    #[error("Operation {op} is not permitted on key {key}: it is not in the key's key_ops.")]
    OperationNotPermitted {
        /// The operation.
        op: String,
        /// The key.
        key: String,
    },
    /// A parameter is missing or invalid.
    #[error("{0}")]
    BadParameter(String),
    /// Purge refused (purge protection).
    #[error("{0}")]
    PurgeProtected(String),
    /// A concurrent change or conflicting state.
    #[error("{0}")]
    Conflict(String),
    /// Decryption/unwrapping failed (opaque).
    #[error("The operation failed: the ciphertext is invalid for this key and algorithm.")]
    DecryptionFailed,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Crypto failure other than decryption.
    #[error("crypto failure: {0}")]
    Crypto(CryptoError),
}

impl From<CryptoError> for VaultError {
    fn from(err: CryptoError) -> Self {
        match err {
            CryptoError::DecryptionFailed => VaultError::DecryptionFailed,
            CryptoError::InvalidKey(m) | CryptoError::InvalidParameter(m) => {
                VaultError::BadParameter(m.to_owned())
            }
            CryptoError::UnsupportedAlgorithm(a) => {
                VaultError::BadParameter(format!("Unsupported algorithm: {a}"))
            }
            other => VaultError::Crypto(other),
        }
    }
}

impl VaultError {
    /// The Azure Key Vault error code.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::VaultNotFound(_) => "VaultNotFound",
            VaultError::VaultAlreadyExists(_) => "VaultAlreadyExists",
            VaultError::KeyNotFound(_) => "KeyNotFound",
            VaultError::DeletedKeyNotFound(_) => "KeyNotFound",
            VaultError::DeletedButRecoverable(_) => "Conflict",
            VaultError::KeyNotUsable { .. } => "Forbidden",
            VaultError::OperationNotPermitted { .. } => "Forbidden",
            VaultError::BadParameter(_) => "BadParameter",
            VaultError::PurgeProtected(_) => "Forbidden",
            VaultError::Conflict(_) => "Conflict",
            VaultError::DecryptionFailed => "BadParameter",
            VaultError::Store(_) | VaultError::Crypto(_) => "InternalError",
        }
    }

    /// The inner error code Azure adds for some errors.
    pub fn inner_code(&self) -> Option<&'static str> {
        match self {
            VaultError::DeletedButRecoverable(_) => Some("ObjectIsDeletedButRecoverable"),
            VaultError::KeyNotUsable { .. } => Some("KeyDisabled"),
            VaultError::OperationNotPermitted { .. } => Some("KeyOperationForbidden"),
            VaultError::PurgeProtected(_) => Some("PurgeProtectionEnabled"),
            _ => None,
        }
    }
}
