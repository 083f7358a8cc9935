//! Every place keyhold keeps something sealed directly under the master key, for
//! `keyhold master-key rotate`.
//!
//! | where | what | owner |
//! |---|---|---|
//! | `vault.vaults`, `vault.deleted_vaults` | per-vault keys | `keyhold_vault::reseal` |
//! | `vault.key_versions` (`-HSM` types only) | software-HSM key material | `keyhold_vault::reseal` |
//! | `vault.backup_keys` | the backup keyring (key backups are sealed under it) | `keyhold_vault::reseal` |
//! | `identity.signing_keys` | every tenant's token-signing keys | `keyhold_identity::reseal` |
//! | `platform.accounts`, `platform.deleted_accounts` | API keys | `keyhold_platform::reseal` |
//! | `platform.keks` (service-protected only) | KEKs of Microsoft-managed-key accounts | `keyhold_platform::reseal` |
//! | `system/master-key-check` | the check value | `master_key_check` |
//! | `<data-dir>/tls/ca.key.sealed` | the development CA's private key | `CaKeyFile` below |
//!
//! Not master-sealed, so left alone: key material of software keys (under the vault key),
//! KEKs wrapped by customer-managed keys (under the customer's vault key), DEKs, files,
//! metadata documents and models (under KEKs), job scratch (ephemeral key), secrets stored as
//! hashes, the audit log (hash-chained). None of these keys change, so no blob is rewritten.
//!
//! Each owner knows its own seal purposes; this file only names the places, so adding a sealed
//! record type means adding its namespace to its crate's `MASTER_SEALED_NAMESPACES`.

use std::path::{Path, PathBuf};

use keyhold_crypto::{CryptoError, Resealed, Resealer, Sealer};

use crate::data_dir::{DataDirError, read_private_file, sync_dir, write_private_file};
use crate::tls::{CA_KEY_FILE, CA_SEAL_PURPOSE};

/// Why one record or file could not be re-sealed.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    /// A vault record.
    #[error(transparent)]
    Vault(#[from] keyhold_vault::VaultError),
    /// An identity record.
    #[error(transparent)]
    Identity(#[from] keyhold_identity::IdentityError),
    /// A platform record.
    #[error(transparent)]
    Platform(#[from] keyhold_platform::PlatformError),
    /// A sealed file.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A file could not be read or written.
    #[error(transparent)]
    File(#[from] DataDirError),
}

/// The record namespaces that may hold master-sealed values, in the order they are re-sealed.
pub(crate) fn sealed_namespaces() -> impl Iterator<Item = &'static str> {
    keyhold_vault::reseal::MASTER_SEALED_NAMESPACES
        .iter()
        .chain(keyhold_identity::reseal::MASTER_SEALED_NAMESPACES)
        .chain(keyhold_platform::reseal::MASTER_SEALED_NAMESPACES)
        .copied()
}

/// Re-seals one record of a [`sealed_namespaces`] namespace; `None`: nothing in it is under
/// the old key. `now` dates the fresh backup key the keyring gains.
pub(crate) fn reseal_record(
    namespace: &str,
    key: &str,
    value: &[u8],
    resealer: &Resealer,
    now: u64,
) -> Result<Option<Vec<u8>>, ResealError> {
    if keyhold_vault::reseal::MASTER_SEALED_NAMESPACES.contains(&namespace) {
        return Ok(keyhold_vault::reseal::reseal_record(
            namespace, key, value, resealer, now,
        )?);
    }
    if keyhold_identity::reseal::MASTER_SEALED_NAMESPACES.contains(&namespace) {
        return Ok(keyhold_identity::reseal::reseal_record(
            namespace, value, resealer,
        )?);
    }
    if keyhold_platform::reseal::MASTER_SEALED_NAMESPACES.contains(&namespace) {
        return Ok(keyhold_platform::reseal::reseal_record(
            namespace, key, value, resealer,
        )?);
    }
    Ok(None)
}

/// The development CA's sealed key (`tls/ca.key.sealed`) and the re-sealed copy a rotation
/// prepares beside it (`tls/ca.key.sealed.next`). Every change is one atomic, synced write or
/// rename, so after a crash the file is whole under one key or the other, and a copy is either
/// absent or whole.
pub(crate) struct CaKeyFile {
    path: PathBuf,
    next: PathBuf,
}

impl CaKeyFile {
    /// The files in `tls_dir`.
    pub(crate) fn new(tls_dir: &Path) -> Self {
        Self {
            path: tls_dir.join(CA_KEY_FILE),
            next: tls_dir.join(format!("{CA_KEY_FILE}.next")),
        }
    }

    /// The sealed key file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn read(path: &Path) -> Result<Option<Vec<u8>>, ResealError> {
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(read_private_file(path)?))
    }

    /// Writes the re-sealed copy beside the key (the key itself is untouched, so the old master
    /// key still opens it). `false` if there is nothing to re-seal.
    pub(crate) fn prepare(&self, resealer: &Resealer) -> Result<bool, ResealError> {
        let Some(sealed) = Self::read(&self.path)? else {
            return Ok(false);
        };
        if let Some(next) = Self::read(&self.next)?
            && resealer.new_key().open(CA_SEAL_PURPOSE, &next).is_ok()
        {
            return Ok(false);
        }
        match resealer.reseal(CA_SEAL_PURPOSE, &sealed)? {
            Resealed::Current => Ok(false),
            Resealed::Resealed(next) => {
                write_private_file(&self.next, &next)?;
                Ok(true)
            }
        }
    }

    /// Puts the re-sealed copy in place (a rename), or re-seals the key directly when there is
    /// no copy (another node's data directory, after the store was rotated). `true` if the file
    /// changed.
    pub(crate) fn apply(&self, resealer: &Resealer) -> Result<bool, ResealError> {
        if let Some(next) = Self::read(&self.next)? {
            if resealer.new_key().open(CA_SEAL_PURPOSE, &next).is_ok() {
                std::fs::rename(&self.next, &self.path).map_err(|source| DataDirError::Io {
                    action: "cannot rename into place",
                    path: self.path.clone(),
                    source,
                })?;
                sync_dir(self.parent())?;
                return Ok(true);
            }
            self.discard()?;
        }
        let Some(sealed) = Self::read(&self.path)? else {
            return Ok(false);
        };
        match resealer.reseal(CA_SEAL_PURPOSE, &sealed)? {
            Resealed::Current => Ok(false),
            Resealed::Resealed(new) => {
                write_private_file(&self.path, &new)?;
                Ok(true)
            }
        }
    }

    /// Whether the key file is absent or opens with `sealer`.
    pub(crate) fn opens_with(&self, sealer: &Sealer) -> Result<bool, ResealError> {
        Ok(match Self::read(&self.path)? {
            None => true,
            Some(sealed) => sealer.open(CA_SEAL_PURPOSE, &sealed).is_ok(),
        })
    }

    /// Removes a prepared copy (abandoning a rotation). `true` if there was one.
    pub(crate) fn discard(&self) -> Result<bool, ResealError> {
        match std::fs::remove_file(&self.next) {
            Ok(()) => {
                sync_dir(self.parent())?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(DataDirError::Io {
                action: "cannot remove",
                path: self.next.clone(),
                source,
            }
            .into()),
        }
    }

    fn parent(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}
