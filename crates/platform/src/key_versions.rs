//! Which versions of an account's customer-managed key still protect some of its data.
//!
//! A new key version protects new data; older versions keep protecting what was written
//! under them (`previousKeyVersions`), until a reprocess re-wraps or re-encrypts that data
//! under the current KEK, or the data is deleted. Then a version protects nothing and drops
//! out of `previousKeyVersions`, so a user can tell when an old version is safe to disable.

use std::collections::BTreeSet;

use keyhold_store::{Precondition, RecordStoreExt, decode, retry_conflicts};

use crate::Platform;
use crate::accounts::ACCOUNTS;
use crate::error::PlatformError;
use crate::files::{FILES, FileRecord};
use crate::keks::{KEKS, KekProtector, KekRecord};
use crate::model::{Account, Encryption};
use crate::models::{FineTunedModel, MODELS};

impl Platform {
    /// The KEK ids some stored object of `account` is protected by (file contents and their
    /// metadata documents, fine-tuned models), and the current KEK.
    async fn kek_ids_in_use(&self, account: &Account) -> Result<BTreeSet<String>, PlatformError> {
        let prefix = format!("{}/", account.name.to_ascii_lowercase());
        let mut ids = BTreeSet::new();
        ids.extend(account.current_kek.clone());
        for (_, record) in self.records.scan_all(FILES, &prefix, 1_000_000).await? {
            let file: FileRecord = decode(&record.value)?;
            ids.insert(file.dek.map_or_else(|| file.kek_id.clone(), |d| d.kek_id));
            ids.insert(file.kek_id);
        }
        for (_, record) in self.records.scan_all(MODELS, &prefix, 1_000_000).await? {
            let model: FineTunedModel = decode(&record.value)?;
            ids.insert(model.kek_id);
        }
        Ok(ids)
    }

    /// The key versions that protect some of `account`'s data now.
    pub async fn key_versions_in_use(
        &self,
        account: &Account,
    ) -> Result<BTreeSet<String>, PlatformError> {
        let prefix = account.name.to_ascii_lowercase();
        let mut versions = BTreeSet::new();
        for id in self.kek_ids_in_use(account).await? {
            let Some((kek, _)) = self
                .records
                .get_typed::<KekRecord>(KEKS, &format!("{prefix}/{id}"))
                .await?
            else {
                continue;
            };
            if let KekProtector::Customer { key_version, .. } = kek.protector {
                versions.insert(key_version);
            }
        }
        Ok(versions)
    }

    /// Drops from the account's `previousKeyVersions` every version that no longer protects
    /// any of its data (after a reprocess, or deletions); returns the versions dropped. A
    /// concurrent change of the account makes it run again from a fresh read.
    pub async fn prune_previous_versions(&self, name: &str) -> Result<Vec<String>, PlatformError> {
        retry_conflicts(|| async {
            let Some((mut account, version)) = self
                .records
                .get_typed::<Account>(ACCOUNTS, &name.to_ascii_lowercase())
                .await?
            else {
                return Ok(Vec::new());
            };
            let in_use = self.key_versions_in_use(&account).await?;
            let Encryption::Cmk(settings) = &mut account.encryption else {
                return Ok(Vec::new());
            };
            let (kept, dropped): (Vec<String>, Vec<String>) = settings
                .previous_versions
                .iter()
                .cloned()
                .partition(|v| in_use.contains(v));
            if dropped.is_empty() {
                return Ok(dropped);
            }
            settings.previous_versions = kept;
            self.records
                .put_typed(
                    ACCOUNTS,
                    &account.name.to_ascii_lowercase(),
                    &account,
                    Precondition::Version(version),
                )
                .await?;
            Ok(dropped)
        })
        .await
    }
}
