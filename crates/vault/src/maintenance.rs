//! Background upkeep: scheduled rotations and purging soft-deleted keys and vaults whose
//! retention has passed (as Key Vault does; purge protection only forbids purging *earlier*).

use keyhold_store::RecordStoreExt;

use crate::Vaults;
use crate::error::VaultError;
use crate::keys::KEYS;
use crate::model::{DeletedVault, KeyMeta};
use crate::vaults::DELETED_VAULTS;

/// What one maintenance pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// `(vault, key, new version)` per rotation.
    pub rotated: Vec<(String, String, String)>,
    /// `vault/key` per purged key.
    pub purged_keys: Vec<String>,
    /// Purged vaults.
    pub purged_vaults: Vec<String>,
}

impl Vaults {
    /// One pass at time `now` (unix s): rotations due, expired soft-deleted keys and vaults.
    pub async fn maintain(&self, now: u64) -> Result<MaintenanceReport, VaultError> {
        let mut report = MaintenanceReport {
            rotated: self.rotate_due(now).await?,
            ..MaintenanceReport::default()
        };
        for (id, meta) in self
            .records
            .scan_typed::<KeyMeta>(KEYS, "", 1_000_000)
            .await?
        {
            let expired = meta
                .deleted
                .as_ref()
                .is_some_and(|d| d.scheduled_purge <= now);
            if !expired {
                continue;
            }
            let Some((vault_name, _)) = id.split_once('/') else {
                continue;
            };
            if let Ok(vault) = self.vault(vault_name).await {
                match self.purge_key_unchecked(&vault, &meta.name).await {
                    Ok(()) => report
                        .purged_keys
                        .push(format!("{vault_name}/{}", meta.name)),
                    Err(err) if purged_elsewhere(&err) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        for (name, deleted) in self
            .records
            .scan_typed::<DeletedVault>(DELETED_VAULTS, "", 100_000)
            .await?
        {
            if deleted.scheduled_purge <= now {
                match self.purge_vault_at(&name, now).await {
                    Ok(_) => report.purged_vaults.push(name),
                    Err(err) if purged_elsewhere(&err) => {}
                    Err(err) => return Err(err),
                }
            }
        }
        Ok(report)
    }
}

/// Whether a purge failed only because another node (sharing the store) purged the same item
/// first, which is the outcome this pass wanted.
fn purged_elsewhere(err: &VaultError) -> bool {
    matches!(
        err,
        VaultError::KeyNotFound(_)
            | VaultError::DeletedKeyNotFound(_)
            | VaultError::VaultNotFound(_)
            | VaultError::Store(keyhold_store::StoreError::Conflict { .. })
    )
}
