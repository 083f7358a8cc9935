//! What the vault service keeps sealed directly under the master key, for master-key rotation
//! (`keyhold master-key rotate`, driven by the server crate).
//!
//! - `vault.vaults`, `vault.deleted_vaults`: each vault's per-vault key (`sealed_vault_key`).
//! - `vault.key_versions` of `-HSM` key types: the material the built-in software HSM sealed
//!   under the master key, bound to `vault/key/version`.
//! - `vault.backup_keys`: the backup keyring (see `backup_keys.rs`).
//!
//! Left alone on purpose: the material of non-HSM key versions, which is sealed under its
//! vault's key (not the master key), so re-sealing the vault key is enough; and the audit log,
//! which is hash-chained, not sealed.
//!
//! [`reseal_record`] works on one stored record at a time and is a pure function of its input
//! and the two keys (apart from the fresh backup key the keyring gains), so the driver can
//! compare-and-swap its result into place and run it again after a crash: a record already under
//! the new key gives `None`.

use keyhold_crypto::Resealer;
use keyhold_store::{decode, encode};

use crate::backup_keys::{BACKUP_KEYS, reseal_keyring};
use crate::error::VaultError;
use crate::keys::VERSIONS;
use crate::material::{HSM_PURPOSE, KeyType};
use crate::model::{DeletedVault, KeyVersion, Vault};
use crate::vaults::{DELETED_VAULTS, VAULT_KEY_PURPOSE, VAULTS};

/// The namespaces whose records may hold values sealed under the master key.
pub const MASTER_SEALED_NAMESPACES: &[&str] = &[VAULTS, DELETED_VAULTS, VERSIONS, BACKUP_KEYS];

/// Re-seals the master-sealed parts of the record `namespace/key` (its stored bytes `value`)
/// from the resealer's old key to its new one. `Ok(None)`: nothing in it is under the old key
/// (already re-sealed, or nothing master-sealed in it). `now` dates the fresh backup key.
pub fn reseal_record(
    namespace: &str,
    key: &str,
    value: &[u8],
    resealer: &Resealer,
    now: u64,
) -> Result<Option<Vec<u8>>, VaultError> {
    match namespace {
        VAULTS => {
            let mut vault: Vault = decode(value)?;
            Ok(reseal_vault(&mut vault, resealer)?
                .then(|| encode(&vault))
                .transpose()?)
        }
        DELETED_VAULTS => {
            let mut deleted: DeletedVault = decode(value)?;
            Ok(reseal_vault(&mut deleted.vault, resealer)?
                .then(|| encode(&deleted))
                .transpose()?)
        }
        VERSIONS => {
            let mut version: KeyVersion = decode(value)?;
            if !KeyType::parse(&version.kty)?.hsm {
                return Ok(None);
            }
            let vault = key.split('/').next().unwrap_or_default();
            let binding = format!(
                "{vault}/{}/{}",
                version.name.to_ascii_lowercase(),
                version.version
            );
            match resealer.reseal_hex(&format!("{HSM_PURPOSE}/{binding}"), &version.sealed)? {
                Some(sealed) => {
                    version.sealed = sealed;
                    Ok(Some(encode(&version)?))
                }
                None => Ok(None),
            }
        }
        BACKUP_KEYS => reseal_keyring(value, resealer, now),
        _ => Ok(None),
    }
}

fn reseal_vault(vault: &mut Vault, resealer: &Resealer) -> Result<bool, VaultError> {
    let purpose = format!("{VAULT_KEY_PURPOSE}/{}", vault.name);
    match resealer.reseal_hex(&purpose, &vault.sealed_vault_key)? {
        Some(sealed) => {
            vault.sealed_vault_key = sealed;
            Ok(true)
        }
        None => Ok(false),
    }
}
