//! Metering: what each account (and hub) stores, measured as ciphertext in the blob store, so
//! it needs no key — soft-deleted accounts keep accruing storage until they are purged, and an
//! account whose key is revoked is still metered. Training runs and trained tokens come from
//! the job records; tokens served are counted in memory and added to a stored counter per
//! account every few seconds ([`Platform::flush_meters`]), so a crash loses at most that
//! interval's counts and serving never waits for a disk write.

use keyhold_store::{Precondition, RecordStoreExt, StoreError, Versioned};
use serde::{Deserialize, Serialize};

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
    /// Fine-tuning jobs created.
    pub training_runs: u64,
    /// Tokens trained on (succeeded jobs).
    pub trained_tokens: u64,
    /// Tokens served.
    pub tokens: TokenCounts,
}

/// Tokens served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
    /// Chat requests.
    pub requests: u64,
}
impl Versioned for TokenCounts {
    const KIND: &'static str = "platform.meter";
    const SCHEMA: u16 = 1;
}

impl TokenCounts {
    fn add(&mut self, other: TokenCounts) {
        self.prompt += other.prompt;
        self.completion += other.completion;
        self.requests += other.requests;
    }
}

const METERS: &str = "platform.meters";

impl Platform {
    pub(crate) fn record_tokens(&self, account: &str, prompt: u64, completion: u64) {
        if let Ok(mut meters) = self.meters.lock() {
            meters
                .entry(account.to_ascii_lowercase())
                .or_default()
                .add(TokenCounts {
                    prompt,
                    completion,
                    requests: 1,
                });
        }
    }

    /// Adds the counts served since the last flush to the stored counters.
    pub async fn flush_meters(&self) -> Result<(), PlatformError> {
        // Counts drained here are in neither place until stored: readers wait for the flush.
        let _flushing = self.meter_flush.lock().await;
        let pending: Vec<(String, TokenCounts)> = match self.meters.lock() {
            Ok(mut m) => m.drain().collect(),
            Err(_) => return Ok(()),
        };
        for (account, delta) in pending {
            loop {
                let stored = self
                    .records
                    .get_typed::<TokenCounts>(METERS, &account)
                    .await?;
                let (mut total, expect) = match stored {
                    Some((t, v)) => (t, Precondition::Version(v)),
                    None => (TokenCounts::default(), Precondition::Absent),
                };
                total.add(delta);
                match self
                    .records
                    .put_typed(METERS, &account, &total, expect)
                    .await
                {
                    Err(StoreError::Conflict { .. }) => continue,
                    other => {
                        other?;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    async fn token_counts(&self, account: &str) -> Result<TokenCounts, PlatformError> {
        let _flushing = self.meter_flush.lock().await;
        let key = account.to_ascii_lowercase();
        let mut total = self
            .records
            .get_typed::<TokenCounts>(METERS, &key)
            .await?
            .map(|(t, _)| t)
            .unwrap_or_default();
        if let Ok(m) = self.meters.lock()
            && let Some(pending) = m.get(&key)
        {
            total.add(*pending);
        }
        Ok(total)
    }

    async fn training_counts(&self, account: &str) -> Result<(u64, u64), PlatformError> {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        let jobs = self
            .records
            .scan_typed::<crate::finetune::FineTuneJob>(crate::finetune::JOBS, &prefix, 1_000_000)
            .await?;
        let trained = jobs.iter().filter_map(|(_, j)| j.trained_tokens).sum();
        Ok((jobs.len() as u64, trained))
    }

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

    /// One account's usage.
    pub async fn usage_of(&self, a: &Account, deleted: bool) -> Result<Usage, PlatformError> {
        let (objects, bytes) = self.stored_bytes(&a.name).await?;
        let (training_runs, trained_tokens) = self.training_counts(&a.name).await?;
        let tokens = self.token_counts(&a.name).await?;
        Ok(Usage {
            account: a.name.clone(),
            kind: a.kind.clone(),
            deleted,
            objects,
            stored_encrypted_bytes: bytes,
            key_status: match &a.encryption {
                crate::model::Encryption::Mmk => "Mmk".into(),
                crate::model::Encryption::Cmk(c) => c.status.as_str().into(),
            },
            training_runs,
            trained_tokens,
            tokens,
        })
    }

    /// Usage of every account, deleted ones included.
    pub async fn usage(&self) -> Result<Vec<Usage>, PlatformError> {
        let mut out = Vec::new();
        let mut accounts: Vec<(Account, bool)> = Vec::new();
        for (_, a) in self
            .records
            .scan_typed::<Account>(ACCOUNTS, "", 100_000)
            .await?
        {
            accounts.push((a, false));
        }
        for (_, d) in self
            .records
            .scan_typed::<DeletedAccount>(DELETED, "", 100_000)
            .await?
        {
            accounts.push((d.account, true));
        }
        for (a, deleted) in accounts {
            out.push(self.usage_of(&a, deleted).await?);
        }
        Ok(out)
    }
}
