//! The backup keyring: the keys key backups are sealed under, themselves sealed under the
//! master key.
//!
//! A key backup is handed to the client, so it outlives the store state it came from. Azure
//! binds backups to a geography (they restore into any vault of the same subscription's
//! geography, whatever happened to the vault's own keys since); keyhold binds them to the
//! installation and the tenant: a backup restores into any vault of the same tenant on the same
//! keyhold. To let a backup outlive a master-key rotation, it is sealed not under the master key
//! but under a **backup key** from this keyring, one record (`vault.backup_keys/keyring`) that
//! the rotation re-seals like every other master-sealed record. The rotation also adds a fresh
//! current key (see [`reseal_keyring`]), so backups taken after a rotation cannot be opened by
//! whoever holds only the old master key and an old copy of the store; older keys stay in the
//! ring, so every backup ever taken keeps restoring.
//!
//! Backups taken before the keyring existed were sealed under the master key itself; they still
//! restore while that master key is in use, and stop restoring once it is rotated away (the
//! README says so).

use keyhold_crypto::{Aes256Key, Resealer, Sealer};
use keyhold_store::{Precondition, RecordStoreExt, StoreError, Versioned, decode, encode};
use serde::{Deserialize, Serialize};

use crate::Vaults;
use crate::error::VaultError;

/// Namespace and key of the keyring record.
pub(crate) const BACKUP_KEYS: &str = "vault.backup_keys";
const KEYRING: &str = "keyring";
/// Seal purpose of a backup key under the master key (the key id is appended). DO NOT CHANGE.
const BACKUP_KEY_PURPOSE: &str = "vault.backup-key.v1";

/// The stored keyring.
#[derive(Serialize, Deserialize)]
pub(crate) struct Keyring {
    /// Id (hex key id) of the key new backups use.
    current: String,
    /// Every backup key ever used, oldest first.
    keys: Vec<KeyringEntry>,
}

#[derive(Serialize, Deserialize)]
struct KeyringEntry {
    /// Hex of the backup key's id ([`Sealer::key_id`]), as it appears in the backups it sealed.
    id: String,
    /// The backup key sealed under the master key (hex).
    sealed: String,
    /// Created (unix s).
    created: u64,
}

impl Versioned for Keyring {
    const KIND: &'static str = "vault.backup_keyring";
    const SCHEMA: u16 = 1;
}

fn purpose(id: &str) -> String {
    format!("{BACKUP_KEY_PURPOSE}/{id}")
}

fn new_entry(master: &Sealer, now: u64) -> Result<KeyringEntry, VaultError> {
    let key = Aes256Key::generate()?;
    let id = hex::encode(Sealer::new(Aes256Key::from_bytes(key.expose_secret())?).key_id());
    let sealed = hex::encode(master.seal(&purpose(&id), key.expose_secret())?);
    Ok(KeyringEntry {
        id,
        sealed,
        created: now,
    })
}

fn open_entry(master: &Sealer, entry: &KeyringEntry) -> Result<Sealer, VaultError> {
    let damaged = || VaultError::BadParameter("the stored backup keyring is damaged".into());
    let sealed = hex::decode(&entry.sealed).map_err(|_| damaged())?;
    let raw = master.open(&purpose(&entry.id), &sealed)?;
    let sealer = Sealer::new(Aes256Key::from_bytes(raw.expose_secret())?);
    if hex::encode(sealer.key_id()) != entry.id {
        return Err(damaged());
    }
    Ok(sealer)
}

impl Vaults {
    async fn keyring(&self) -> Result<Keyring, VaultError> {
        loop {
            if let Some((ring, _)) = self
                .records
                .get_typed::<Keyring>(BACKUP_KEYS, KEYRING)
                .await?
            {
                return Ok(ring);
            }
            let entry = new_entry(&self.master, Self::now())?;
            let ring = Keyring {
                current: entry.id.clone(),
                keys: vec![entry],
            };
            match self
                .records
                .put_typed(BACKUP_KEYS, KEYRING, &ring, Precondition::Absent)
                .await
            {
                Ok(_) => return Ok(ring),
                // Another node made the first key at the same moment: use that one.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The sealer new backups use (the keyring is created on first use).
    pub(crate) async fn backup_sealer(&self) -> Result<Sealer, VaultError> {
        let ring = self.keyring().await?;
        let entry = ring
            .keys
            .iter()
            .find(|e| e.id == ring.current)
            .ok_or_else(|| {
                VaultError::BadParameter("the stored backup keyring is damaged".into())
            })?;
        open_entry(&self.master, entry)
    }

    /// The key of the ring that sealed `blob`; `None` if no key of the ring did (a backup taken
    /// before the keyring existed is then tried with the master key itself).
    pub(crate) async fn backup_opener(&self, blob: &[u8]) -> Result<Option<Sealer>, VaultError> {
        let Some(id) = Sealer::sealed_key_id(blob) else {
            return Ok(None);
        };
        let id = hex::encode(id);
        let Some((ring, _)) = self
            .records
            .get_typed::<Keyring>(BACKUP_KEYS, KEYRING)
            .await?
        else {
            return Ok(None);
        };
        match ring.keys.iter().find(|e| e.id == id) {
            Some(entry) => Ok(Some(open_entry(&self.master, entry)?)),
            None => Ok(None),
        }
    }
}

/// Re-seals the keyring record (`value`) for a master-key rotation: every backup key is
/// re-sealed under the new master key and a fresh key, sealed under the new master key only,
/// becomes current. `None` if the ring is already entirely under the new key (a rotation run
/// again after a crash adds no second fresh key).
pub(crate) fn reseal_keyring(
    value: &[u8],
    resealer: &Resealer,
    now: u64,
) -> Result<Option<Vec<u8>>, VaultError> {
    let mut ring: Keyring = decode(value)?;
    let mut changed = false;
    for entry in &mut ring.keys {
        if let Some(sealed) = resealer.reseal_hex(&purpose(&entry.id), &entry.sealed)? {
            entry.sealed = sealed;
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    let fresh = new_entry(resealer.new_key(), now)?;
    ring.current = fresh.id.clone();
    ring.keys.push(fresh);
    Ok(Some(encode(&ring)?))
}
