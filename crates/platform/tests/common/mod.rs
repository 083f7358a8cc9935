//! What the platform tests share: a platform over a given store for Microsoft-managed keys
//! only, an account on it, and a record store with network latency.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use keyhold_crypto::{Aes256Key, Sealer};
use keyhold_identity::{Identity, IdentitySettings, Principal};
use keyhold_platform::{
    Account, AccountSpec, KeyFacts, KeyVaultAccess, Platform, PlatformError, VaultFacts,
};
use keyhold_store::{Batch, BlobStore, Committed, Page, Record, RecordStore, StoreError};
use uuid::Uuid;

/// A record store answering after a network round trip (as a database on another machine
/// does), which widens the windows in which concurrent writers race.
pub struct DistantRecords<S> {
    /// The store behind the latency.
    pub inner: S,
    /// Added to every call.
    pub latency: std::time::Duration,
}

#[async_trait]
impl<S: RecordStore> RecordStore for DistantRecords<S> {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Record>, StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.get(namespace, key).await
    }
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.commit(batch).await
    }
    async fn scan(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        tokio::time::sleep(self.latency).await;
        self.inner.scan(namespace, prefix, start_after, limit).await
    }
}

/// Microsoft-managed keys only: the vault is never called.
struct NoVault;

#[async_trait]
impl KeyVaultAccess for NoVault {
    async fn vault_facts(&self, _uri: &str) -> Result<VaultFacts, PlatformError> {
        Err(PlatformError::KeyVaultUnreachable(
            "no vault in this test".into(),
        ))
    }
    async fn probe(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<KeyFacts, PlatformError> {
        Err(PlatformError::KeyVaultUnreachable(
            "no vault in this test".into(),
        ))
    }
    async fn wrap(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: &str,
        _: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        Err(PlatformError::KeyVaultUnreachable(
            "no vault in this test".into(),
        ))
    }
    async fn unwrap(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: &str,
        _: &[u8],
    ) -> Result<keyhold_crypto::SecretBytes, PlatformError> {
        Err(PlatformError::KeyVaultUnreachable(
            "no vault in this test".into(),
        ))
    }
}

/// A platform (one node) over `records` and `blobs` reaching vaults through `access`; nodes
/// made over the same stores with this share the master key, as a cluster's nodes do.
pub fn platform_with(
    records: Arc<dyn RecordStore>,
    blobs: Arc<dyn BlobStore>,
    access: Arc<dyn KeyVaultAccess>,
) -> Arc<Platform> {
    let identity = identity(records.clone());
    Arc::new(Platform::new(records, blobs, sealer(), identity, access))
}

/// The master key every test node shares.
fn sealer() -> Arc<Sealer> {
    Arc::new(Sealer::new(Aes256Key::from_bytes(&[7u8; 32]).unwrap()))
}

/// The identity service over `records` (as a platform made with [`platform_with`] sees it).
pub fn identity(records: Arc<dyn RecordStore>) -> Arc<Identity> {
    Arc::new(Identity::new(
        records,
        sealer(),
        IdentitySettings::new(
            "https://localhost:8443",
            vec!["https://management.localhost".into()],
        ),
    ))
}

/// A platform for Microsoft-managed keys only (the vault is never called).
pub fn mmk_platform(records: Arc<dyn RecordStore>, blobs: Arc<dyn BlobStore>) -> Arc<Platform> {
    platform_with(records, blobs, Arc::new(NoVault))
}

/// An OpenAI account on Microsoft-managed keys.
pub async fn mmk_account(platform: &Platform, name: &str) -> Account {
    platform
        .put_account(
            name,
            AccountSpec {
                subscription_id: Uuid::from_u128(1),
                tenant_id: Uuid::from_u128(2),
                resource_group: "rg".into(),
                location: Some("westeurope".into()),
                kind: Some("OpenAI".into()),
                ..AccountSpec::default()
            },
        )
        .await
        .unwrap()
        .0
}
