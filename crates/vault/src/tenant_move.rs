//! A subscription moving to another tenant takes its vaults along (Azure's "change the vault's
//! tenant ID after a subscription move"): each vault of the subscription, soft-deleted ones
//! included, now accepts only the new tenant's tokens, and its access policies, which name
//! principals of the old tenant, are removed. Keys are untouched: they are sealed under the
//! vault's own key, which does not depend on the tenant, so everything wrapped under them can
//! be unwrapped again once a principal of the new tenant is granted access.
//!
//! One atomic batch for all of them; repeating a move finds nothing left to change, so a batch
//! that lost a race with another writer is planned again from a fresh read.

use keyhold_store::{
    Batch, Precondition, RecordStoreExt, StoreError, decode, encode, retry_conflicts,
};
use uuid::Uuid;

use crate::error::VaultError;
use crate::model::{DeletedVault, Vault};
use crate::vaults::{DELETED_VAULTS, VAULTS};
use crate::{VaultEvent, Vaults};

impl Vaults {
    /// Moves the vaults of `subscription` (live and soft-deleted) to tenant `to`, clearing
    /// their access policies; returns the names of the vaults that changed.
    pub async fn move_subscription_vaults(
        &self,
        subscription: Uuid,
        to: Uuid,
    ) -> Result<Vec<String>, VaultError> {
        let (live, moved) = retry_conflicts(|| self.commit_vault_moves(subscription, to)).await?;
        for vault in live {
            self.publish(VaultEvent::VaultChanged { vault });
        }
        Ok(moved)
    }

    /// One attempt: reads the vaults of `subscription` and moves them in one batch; returns
    /// the live vaults moved and every vault moved.
    async fn commit_vault_moves(
        &self,
        subscription: Uuid,
        to: Uuid,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let mut batch = Batch::new();
        let mut live = Vec::new();
        let mut moved = Vec::new();
        for (key, record) in self.records.scan_all(VAULTS, "", 100_000).await? {
            let mut vault: Vault = decode(&record.value)?;
            if vault.subscription_id != subscription || vault.tenant_id == to {
                continue;
            }
            vault.tenant_id = to;
            vault.access_policies.clear();
            batch = batch.put_if(
                VAULTS,
                &key,
                encode(&vault)?,
                Precondition::Version(record.version),
            );
            live.push(key.clone());
            moved.push(key);
        }
        for (key, record) in self.records.scan_all(DELETED_VAULTS, "", 100_000).await? {
            let mut deleted: DeletedVault = decode(&record.value)?;
            if deleted.vault.subscription_id != subscription || deleted.vault.tenant_id == to {
                continue;
            }
            deleted.vault.tenant_id = to;
            deleted.vault.access_policies.clear();
            batch = batch.put_if(
                DELETED_VAULTS,
                &key,
                encode(&deleted)?,
                Precondition::Version(record.version),
            );
            moved.push(key);
        }
        if batch.is_empty() {
            return Ok((live, moved));
        }
        self.records.commit(batch).await?;
        Ok((live, moved))
    }
}
