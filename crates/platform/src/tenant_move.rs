//! A subscription moving to another tenant takes its AI resources along: accounts, hubs and
//! projects (live and soft-deleted) record the new tenant. Their data stays exactly as it is
//! (every KEK keeps its wrapping), but their managed identities stayed behind in the old tenant
//! (see `keyhold_identity::Identity::move_subscription`), so a customer-managed key is out of
//! reach until the resource is configured again in its new tenant: the revocation watcher then
//! reports `KeyInaccessible` with `CmkTenantMoved`, and cached KEKs are dropped at once here.
//!
//! One atomic batch for all of them; repeating a move finds nothing left to change, so a batch
//! that lost a race (the revocation watcher records a key status on an account meanwhile) is
//! planned again from a fresh read.

use keyhold_store::{
    Batch, Precondition, RecordStoreExt, StoreError, decode, encode, retry_conflicts,
};
use uuid::Uuid;

use crate::Platform;
use crate::accounts::{ACCOUNTS, DELETED};
use crate::error::PlatformError;
use crate::model::{Account, DeletedAccount};

impl Platform {
    /// Moves the AI resources of `subscription` to tenant `to`; returns the names of those that
    /// changed.
    pub async fn move_subscription_accounts(
        &self,
        subscription: Uuid,
        to: Uuid,
    ) -> Result<Vec<String>, PlatformError> {
        let moved = retry_conflicts(|| self.commit_account_moves(subscription, to)).await?;
        for name in &moved {
            self.forget_keks(name);
        }
        Ok(moved)
    }

    /// One attempt: reads the resources of `subscription` and moves them in one batch.
    async fn commit_account_moves(
        &self,
        subscription: Uuid,
        to: Uuid,
    ) -> Result<Vec<String>, StoreError> {
        let mut batch = Batch::new();
        let mut moved = Vec::new();
        for (key, record) in self.records.scan_all(ACCOUNTS, "", 100_000).await? {
            let mut account: Account = decode(&record.value)?;
            if account.subscription_id != subscription || account.tenant_id == to {
                continue;
            }
            account.tenant_id = to;
            batch = batch.put_if(
                ACCOUNTS,
                &key,
                encode(&account)?,
                Precondition::Version(record.version),
            );
            moved.push(account.name);
        }
        for (key, record) in self.records.scan_all(DELETED, "", 100_000).await? {
            let mut deleted: DeletedAccount = decode(&record.value)?;
            if deleted.account.subscription_id != subscription || deleted.account.tenant_id == to {
                continue;
            }
            deleted.account.tenant_id = to;
            batch = batch.put_if(
                DELETED,
                &key,
                encode(&deleted)?,
                Precondition::Version(record.version),
            );
            moved.push(deleted.account.name);
        }
        if batch.is_empty() {
            return Ok(moved);
        }
        self.records.commit(batch).await?;
        Ok(moved)
    }
}
