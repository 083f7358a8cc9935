//! The key hierarchy manager (docs/DESIGN.md section 2): versioned account KEKs.
//!
//! - An account has one *current* KEK for new data, made for its current protection: the
//!   service key (MMK, sealed under the master key) or one CMK version (wrapped by the vault
//!   with RSA-OAEP-256, using the account identity's own token). A new key version or another
//!   key makes one new KEK (O(1)); older KEKs stay, still wrapped by what protected them, so
//!   old objects stay readable without rewriting anything.
//! - Unwrapped KEKs are cached in memory (not `Debug`, not `Clone`, zeroized on drop), so steady
//!   state makes no vault calls. The cache never outranks revocation: every use first checks
//!   the account's key status, which the revocation watcher keeps current, and the watcher drops
//!   an account's cached KEKs when its key becomes inaccessible.
//! - Going back from CMK to MMK (OpenAI) re-wraps every customer-wrapped KEK under the service
//!   key; no object is touched.
//! - Purging an account deletes its KEK records: nothing it stored can be decrypted again,
//!   whoever holds the CMK (crypto-shredding).

use std::sync::Arc;

use keyhold_crypto::Aes256Key;
use keyhold_store::{Batch, CONFLICT_ATTEMPTS, Precondition, RecordStoreExt, Versioned, encode};
use serde::{Deserialize, Serialize};

use crate::Platform;
use crate::accounts::ACCOUNTS;
use crate::error::PlatformError;
use crate::model::{Account, Encryption};

pub(crate) const KEKS: &str = "platform.keks";
/// Seal purpose of service-wrapped KEKs. DO NOT CHANGE.
pub(crate) const SERVICE_KEK_PURPOSE: &str = "platform.kek.v1";

/// What wraps a KEK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KekProtector {
    /// keyhold's service key (Microsoft-managed keys).
    Service,
    /// A customer-managed key version.
    Customer {
        /// Vault base URI.
        vault_uri: String,
        /// Key name.
        key_name: String,
        /// Key version.
        key_version: String,
    },
}

/// A stored, wrapped KEK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KekRecord {
    /// Id (unique per account).
    pub id: String,
    /// What wraps it.
    pub protector: KekProtector,
    /// The wrapped KEK (hex).
    pub wrapped: String,
    /// Created (unix s).
    pub created: u64,
}
impl Versioned for KekRecord {
    const KIND: &'static str = "platform.kek";
    const SCHEMA: u16 = 1;
}

fn record_key(account: &str, id: &str) -> String {
    format!("{}/{id}", account.to_ascii_lowercase())
}

fn desired_protector(account: &Account) -> KekProtector {
    match &account.encryption {
        Encryption::Mmk => KekProtector::Service,
        Encryption::Cmk(c) => KekProtector::Customer {
            vault_uri: c.key_vault_uri.clone(),
            key_name: c.key_name.clone(),
            key_version: c.active_version.clone(),
        },
    }
}

impl Platform {
    /// Refuses while the account's customer-managed key is inaccessible.
    pub fn check_key_access(&self, account: &Account) -> Result<(), PlatformError> {
        if let Encryption::Cmk(c) = &account.encryption
            && c.status != crate::model::KeyStatus::Active
        {
            return Err(PlatformError::CustomerManagedKeyAccessDenied {
                account: account.name.clone(),
                key: format!("{}/{}/{}", c.vault, c.key_name, c.active_version),
                cause: c
                    .status_reason
                    .clone()
                    .unwrap_or_else(|| "the key is inaccessible".into()),
            });
        }
        Ok(())
    }

    fn service_purpose(account: &str, id: &str) -> String {
        format!(
            "{SERVICE_KEK_PURPOSE}/{}/{id}",
            account.to_ascii_lowercase()
        )
    }

    async fn wrap_kek(
        &self,
        account: &Account,
        id: &str,
        protector: &KekProtector,
        kek: &Aes256Key,
    ) -> Result<Vec<u8>, PlatformError> {
        match protector {
            KekProtector::Service => Ok(self.master.seal(
                &Self::service_purpose(&account.name, id),
                kek.expose_secret(),
            )?),
            KekProtector::Customer {
                vault_uri,
                key_name,
                key_version,
            } => {
                let identity = self.account_identity(account).await?;
                self.access
                    .wrap(
                        &identity,
                        vault_uri,
                        key_name,
                        key_version,
                        kek.expose_secret(),
                    )
                    .await
                    .map_err(|e| named(e, account))
            }
        }
    }

    async fn account_identity(
        &self,
        account: &Account,
    ) -> Result<keyhold_identity::Principal, PlatformError> {
        let client_id = match &account.encryption {
            Encryption::Cmk(c) => c.identity_client_id.clone(),
            Encryption::Mmk => None,
        };
        let identity = self
            .cmk_identity(account, client_id.as_deref())
            .await?
            .ok_or_else(|| PlatformError::CustomerManagedKeyAccessDenied {
                account: account.name.clone(),
                key: String::new(),
                cause: "the account has no managed identity".into(),
            })?;
        // Never use an identity left behind in another tenant by a subscription move, even if
        // a vault of that tenant would still accept it.
        crate::cmk::check_identity_tenant(account, &identity).map_err(|e| {
            PlatformError::CustomerManagedKeyAccessDenied {
                account: account.name.clone(),
                key: String::new(),
                cause: format!("{}: {e}", e.code()),
            }
        })?;
        Ok(identity)
    }

    async fn unwrap_kek(
        &self,
        account: &Account,
        record: &KekRecord,
    ) -> Result<Aes256Key, PlatformError> {
        let wrapped = hex::decode(&record.wrapped)
            .map_err(|_| PlatformError::InvalidRequest("stored KEK is damaged".into()))?;
        let raw = match &record.protector {
            KekProtector::Service => self
                .master
                .open(&Self::service_purpose(&account.name, &record.id), &wrapped)?,
            KekProtector::Customer {
                vault_uri,
                key_name,
                key_version,
            } => {
                let identity = self.account_identity(account).await?;
                self.access
                    .unwrap(&identity, vault_uri, key_name, key_version, &wrapped)
                    .await
                    .map_err(|e| named(e, account))?
            }
        };
        Ok(Aes256Key::from_bytes(raw.expose_secret())?)
    }

    /// A KEK by id (cached once unwrapped).
    pub async fn kek(&self, account: &Account, id: &str) -> Result<Arc<Aes256Key>, PlatformError> {
        self.check_key_access(account)?;
        let cache_key = record_key(&account.name, id);
        if let Ok(cache) = self.kek_cache.lock()
            && let Some(kek) = cache.get(&cache_key)
        {
            return Ok(kek.clone());
        }
        let (record, _) = self
            .records
            .get_typed::<KekRecord>(KEKS, &cache_key)
            .await?
            .ok_or_else(|| PlatformError::CustomerManagedKeyAccessDenied {
                account: account.name.clone(),
                key: id.to_owned(),
                cause: "the key-encryption key no longer exists (the account was purged)".into(),
            })?;
        let kek = Arc::new(self.unwrap_kek(account, &record).await?);
        if let Ok(mut cache) = self.kek_cache.lock() {
            cache.insert(cache_key, kek.clone());
        }
        Ok(kek)
    }

    /// The KEK for new data: the current one if it matches the account's protection, else a
    /// new one (one vault call), recorded as current.
    ///
    /// Concurrent first writers (on one node or several) race to record their new KEK as
    /// current; the account's version decides. A loser re-reads the account and uses the
    /// winner's KEK when it matches, so racing uploads all succeed and agree on one KEK; its
    /// own unrecorded KEK is dropped (zeroized) without ever protecting anything. After
    /// [`CONFLICT_ATTEMPTS`] lost races the conflict is returned. (Not `retry_conflicts`: a KEK
    /// already wrapped by the vault is kept across attempts, so a retry costs no vault call.)
    pub async fn current_kek(
        &self,
        account: &Account,
    ) -> Result<(String, Arc<Aes256Key>), PlatformError> {
        self.check_key_access(account)?;
        let wanted = desired_protector(account);
        let key = account.name.to_ascii_lowercase();
        let mut made: Option<(KekRecord, Aes256Key)> = None;
        let mut attempt = 1;
        loop {
            // The stored account names the current KEK (the caller's copy may predate it).
            let (mut stored, version) = self
                .records
                .get_typed::<Account>(ACCOUNTS, &key)
                .await?
                .ok_or_else(|| PlatformError::AccountNotFound(account.name.clone()))?;
            if let Some(id) = &stored.current_kek
                && let Some((record, _)) = self
                    .records
                    .get_typed::<KekRecord>(KEKS, &record_key(&account.name, id))
                    .await?
                && record.protector == wanted
            {
                return Ok((id.clone(), self.kek(account, id).await?));
            }
            let (record, kek) = match made.take() {
                Some(made) => made,
                None => {
                    let id = hex::encode(keyhold_crypto::random_bytes(8)?);
                    let kek = Aes256Key::generate()?;
                    let wrapped = self.wrap_kek(account, &id, &wanted, &kek).await?;
                    let record = KekRecord {
                        id,
                        protector: wanted.clone(),
                        wrapped: hex::encode(wrapped),
                        created: Self::now(),
                    };
                    (record, kek)
                }
            };
            // Record the KEK and make it current in one batch, guarded by the account's version.
            stored.current_kek = Some(record.id.clone());
            let batch = Batch::new()
                .put_if(
                    KEKS,
                    &record_key(&account.name, &record.id),
                    encode(&record)?,
                    Precondition::Absent,
                )
                .put_if(
                    ACCOUNTS,
                    &key,
                    encode(&stored)?,
                    Precondition::Version(version),
                );
            match self.records.commit(batch).await {
                Ok(_) => {
                    let kek = Arc::new(kek);
                    if let Ok(mut cache) = self.kek_cache.lock() {
                        cache.insert(record_key(&account.name, &record.id), kek.clone());
                    }
                    return Ok((record.id, kek));
                }
                Err(keyhold_store::StoreError::Conflict { .. }) if attempt < CONFLICT_ATTEMPTS => {
                    attempt += 1;
                    made = Some((record, kek));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Drops an account's cached KEKs (revocation).
    pub fn forget_keks(&self, account: &str) {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        if let Ok(mut cache) = self.kek_cache.lock() {
            cache.retain(|k, _| !k.starts_with(&prefix));
        }
    }

    /// The account's KEK records (for the API and tests).
    pub async fn kek_records(&self, account: &str) -> Result<Vec<KekRecord>, PlatformError> {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        Ok(self
            .records
            .scan_typed::<KekRecord>(KEKS, &prefix, 100_000)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Re-wraps every customer-wrapped KEK under the service key (CMK → MMK); objects are not
    /// touched. Fails, changing nothing, if the vault refuses an unwrap.
    pub(crate) async fn rewrap_to_service(&self, account: &Account) -> Result<(), PlatformError> {
        let mut batch = Batch::new();
        for record in self.kek_records(&account.name).await? {
            if record.protector == KekProtector::Service {
                continue;
            }
            let kek = self.unwrap_kek(account, &record).await?;
            let wrapped = self.master.seal(
                &Self::service_purpose(&account.name, &record.id),
                kek.expose_secret(),
            )?;
            let updated = KekRecord {
                protector: KekProtector::Service,
                wrapped: hex::encode(wrapped),
                ..record
            };
            batch = batch.put(
                KEKS,
                &record_key(&account.name, &updated.id),
                encode(&updated)?,
            );
        }
        if !batch.is_empty() {
            self.records.commit(batch).await?;
        }
        Ok(())
    }

    /// Deletes every KEK of an account (purge): its objects become undecryptable.
    pub(crate) async fn destroy_keks(&self, account: &str) -> Result<usize, PlatformError> {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        let keys = self.records.scan_all(KEKS, &prefix, 100_000).await?;
        let count = keys.len();
        for chunk in keys.chunks(500) {
            let mut batch = Batch::new();
            for (k, _) in chunk {
                batch = batch.delete(KEKS, k);
            }
            self.records.commit(batch).await?;
        }
        self.forget_keks(account);
        Ok(count)
    }
}

fn named(err: PlatformError, account: &Account) -> PlatformError {
    match err {
        PlatformError::CustomerManagedKeyAccessDenied { key, cause, .. } => {
            PlatformError::CustomerManagedKeyAccessDenied {
                account: account.name.clone(),
                key,
                cause,
            }
        }
        other => other,
    }
}
