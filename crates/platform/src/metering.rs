//! Metering: what each account (and hub) stores, measured as ciphertext in the blob store, so
//! it needs no key — soft-deleted accounts keep accruing storage until they are purged, and an
//! account whose key is revoked is still metered.

use keyhold_store::RecordStoreExt;

use crate::Platform;
use crate::accounts::{ACCOUNTS, DELETED};
use crate::error::PlatformError;
use crate::model::{Account, DeletedAccount};

/// One account's usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Account name.
    pub account: String,
    /// Kind.
    pub kind: String,
    /// Soft-deleted (still stored until purge).
    pub deleted: bool,
    /// Objects stored.
    pub objects: u64,
    /// Ciphertext bytes stored.
    pub stored_encrypted_bytes: u64,
    /// `Active`, `KeyInaccessible` or `Mmk`.
    pub key_status: String,
}

impl Platform {
    async fn stored_bytes(&self, account: &str) -> Result<(u64, u64), PlatformError> {
        let prefix = format!("files/{}/", account.to_ascii_lowercase());
        let (mut objects, mut bytes) = (0u64, 0u64);
        let mut after: Option<String> = None;
        loop {
            let page = self.blobs.list(&prefix, after.as_deref(), 1000).await?;
            let Some(last) = page.last() else {
                return Ok((objects, bytes));
            };
            after = Some(last.key.clone());
            objects += page.len() as u64;
            bytes += page.iter().map(|b| b.size).sum::<u64>();
            if page.len() < 1000 {
                return Ok((objects, bytes));
            }
        }
    }

    /// Usage of every account, deleted ones included.
    pub async fn usage(&self) -> Result<Vec<Usage>, PlatformError> {
        let mut out = Vec::new();
        let mut push = |a: &Account, deleted: bool, (objects, bytes): (u64, u64)| {
            out.push(Usage {
                account: a.name.clone(),
                kind: a.kind.clone(),
                deleted,
                objects,
                stored_encrypted_bytes: bytes,
                key_status: match &a.encryption {
                    crate::model::Encryption::Mmk => "Mmk".into(),
                    crate::model::Encryption::Cmk(c) => c.status.clone(),
                },
            });
        };
        for (_, a) in self
            .records
            .scan_typed::<Account>(ACCOUNTS, "", 100_000)
            .await?
        {
            let stored = self.stored_bytes(&a.name).await?;
            push(&a, false, stored);
        }
        for (_, d) in self
            .records
            .scan_typed::<DeletedAccount>(DELETED, "", 100_000)
            .await?
        {
            let stored = self.stored_bytes(&d.account.name).await?;
            push(&d.account, true, stored);
        }
        Ok(out)
    }
}
