//! Backup and restore. A backup is opaque: the key's records with their material re-sealed
//! under the installation's current backup key (see [`crate::backup_keys`]) for the vault's
//! *tenant* (seal purpose bound to the tenant id), so it restores into any vault of the same
//! tenant on this keyhold and nowhere else, before and after master-key rotations, and any
//! change to it is detected.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_store::{Batch, Precondition, RecordStoreExt, encode};
use serde::{Deserialize, Serialize};

use crate::error::VaultError;
use crate::model::{KeyMeta, KeyVersion, Vault};
use crate::{VaultEvent, Vaults};

/// Seal purpose prefix. DO NOT CHANGE.
const BACKUP_PURPOSE: &str = "vault.backup.v1";

#[derive(Serialize, Deserialize)]
struct Backup {
    meta: KeyMeta,
    /// Versions with `sealed` holding hex PKCS#8 sealed for the backup purpose.
    versions: Vec<KeyVersion>,
}

impl Vaults {
    /// Backs up every version of a key.
    pub async fn backup_key(&self, vault: &Vault, name: &str) -> Result<String, VaultError> {
        let latest = self.get_key(vault, name, None).await?;
        let meta = KeyMeta {
            name: latest.name.clone(),
            latest: latest.version.clone(),
            deleted: None,
            rotation_policy: self.rotation_policy(vault, name).await?,
        };
        let purpose = format!("{BACKUP_PURPOSE}/{}", vault.tenant_id);
        let sealer = self.backup_sealer().await?;
        let mut versions = Vec::new();
        let mut skip = None;
        loop {
            let (page, next) = self
                .list_versions(vault, name, skip.as_deref(), 1000)
                .await?;
            for mut v in page {
                let material = self.open_material(vault, &v)?;
                v.sealed = hex::encode(sealer.seal(&purpose, material.expose_secret())?);
                versions.push(v);
            }
            match next {
                Some(n) => skip = Some(n),
                None => break,
            }
        }
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&Backup { meta, versions })
                .map_err(|e| VaultError::BadParameter(e.to_string()))?,
        );
        Ok(URL_SAFE_NO_PAD.encode(sealer.seal(&purpose, &json)?))
    }

    /// Restores a backup into `vault` (same tenant only); the key name must be free.
    pub async fn restore_key(&self, vault: &Vault, blob: &str) -> Result<KeyVersion, VaultError> {
        let invalid =
            || VaultError::BadParameter("Backup blob contains invalid or corrupt version.".into());
        let sealed = URL_SAFE_NO_PAD
            .decode(blob.trim_end_matches('='))
            .map_err(|_| invalid())?;
        let purpose = format!("{BACKUP_PURPOSE}/{}", vault.tenant_id);
        let ring_key = self.backup_opener(&sealed).await?;
        // Backups taken before the keyring existed were sealed under the master key itself.
        let opener = ring_key.as_ref().unwrap_or(self.master.as_ref());
        let json = opener.open(&purpose, &sealed).map_err(|_| invalid())?;
        let backup: Backup = serde_json::from_slice(json.expose_secret()).map_err(|_| invalid())?;
        let name = backup.meta.name.clone();
        let id = format!("{}/{}", vault.name, name.to_ascii_lowercase());
        if let Some((meta, _)) = self
            .records
            .get_typed::<KeyMeta>(crate::keys::KEYS, &id)
            .await?
        {
            return Err(if meta.deleted.is_some() {
                VaultError::DeletedButRecoverable(name)
            } else {
                VaultError::Conflict(format!(
                    "There is already a key named {name} in this vault."
                ))
            });
        }
        let mut batch = Batch::new().put_if(
            crate::keys::KEYS,
            &id,
            encode(&backup.meta)?,
            Precondition::Absent,
        );
        let mut latest = None;
        for mut v in backup.versions {
            let raw = hex::decode(&v.sealed).map_err(|_| invalid())?;
            let encoded = opener.open(&purpose, &raw).map_err(|_| invalid())?;
            let material = crate::material::PrivateMaterial::decode(encoded.expose_secret())
                .map_err(|_| invalid())?;
            let kty = crate::material::KeyType::parse(&v.kty).map_err(|_| invalid())?;
            v.sealed = hex::encode(self.seal_material(vault, &name, &v.version, kty, &material)?);
            batch = batch.put_if(
                crate::keys::VERSIONS,
                &format!("{id}/{}", v.version),
                encode(&v)?,
                Precondition::Absent,
            );
            if v.version == backup.meta.latest {
                latest = Some(v);
            }
        }
        let latest = latest.ok_or_else(invalid)?;
        self.records.commit(batch).await?;
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        Ok(latest)
    }
}
