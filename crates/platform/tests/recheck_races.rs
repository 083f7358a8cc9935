//! The revocation watcher's re-check losing a race: another writer changes the account between
//! the re-check's read and its write. The re-check must run again from a fresh read at once —
//! not wait a key-check interval — or a restored key stays refused (and a revoked one recorded
//! as active) for that long.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use keyhold_identity::Principal;
use keyhold_platform::{
    Account, AccountIdentity, AccountSpec, CmkSettings, Encryption, KeyFacts, KeyVaultAccess,
    PlatformError, VaultFacts,
};
use keyhold_store::{
    Batch, BlobStore, Committed, LocalBlobStore, Page, Precondition, Record, RecordStore,
    RecordStoreExt, RedbRecordStore, StoreError,
};
use uuid::Uuid;

const ACCOUNTS: &str = "platform.accounts";

/// A vault in `tenant` (the account's) whose key is usable.
struct UsableKey {
    tenant: Uuid,
}

#[async_trait]
impl KeyVaultAccess for UsableKey {
    async fn vault_facts(&self, _uri: &str) -> Result<VaultFacts, PlatformError> {
        Ok(VaultFacts {
            name: "kv".into(),
            tenant_id: self.tenant,
            subscription_id: Uuid::from_u128(1),
            resource_group: "rg".into(),
            location: "westeurope".into(),
            purge_protection: true,
            rbac_authorization: false,
            firewall_denies: false,
            trusted_services_bypass: true,
            remote: false,
        })
    }
    async fn probe(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<KeyFacts, PlatformError> {
        Ok(KeyFacts {
            kty: "RSA".into(),
            bits: 2048,
            version: "v1".into(),
            enabled: true,
            in_validity: true,
            wraps: true,
            purge_protected: Some(true),
        })
    }
    async fn wrap(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: &str,
        _: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        unreachable!("a re-check only probes")
    }
    async fn unwrap(
        &self,
        _: &Principal,
        _: &str,
        _: &str,
        _: &str,
        _: &[u8],
    ) -> Result<keyhold_crypto::SecretBytes, PlatformError> {
        unreachable!("a re-check only probes")
    }
}

/// A store in which, for the next `races` commits, another writer changes the account's tags
/// just before the commit arrives.
struct Interfering {
    inner: RedbRecordStore,
    races: AtomicUsize,
}

#[async_trait]
impl RecordStore for Interfering {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(namespace, key).await
    }
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        if self
            .races
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            let (mut account, version) = self
                .inner
                .get_typed::<Account>(ACCOUNTS, "acct")
                .await?
                .unwrap();
            account.tags.insert("touched".into(), version.to_string());
            self.inner
                .put_typed(ACCOUNTS, "acct", &account, Precondition::Version(version))
                .await?;
        }
        self.inner.commit(batch).await
    }
    async fn scan(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        self.inner.scan(namespace, prefix, start_after, limit).await
    }
}

/// An account whose key was recorded inaccessible (access since restored), and the store.
async fn restored_account(
    dir: &std::path::Path,
) -> (Arc<keyhold_platform::Platform>, Arc<Interfering>) {
    let records = Arc::new(Interfering {
        inner: RedbRecordStore::open(&dir.join("store.redb")).unwrap(),
        races: AtomicUsize::new(0),
    });
    let blobs: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::open(&dir.join("blobs")).unwrap());
    let tenant = common::identity(records.clone())
        .create_tenant("contoso")
        .await
        .unwrap()
        .id;
    let platform = common::platform_with(records.clone(), blobs, Arc::new(UsableKey { tenant }));
    platform
        .put_account(
            "acct",
            AccountSpec {
                subscription_id: Uuid::from_u128(1),
                tenant_id: tenant,
                resource_group: "rg".into(),
                location: Some("westeurope".into()),
                kind: Some("OpenAI".into()),
                identity: Some(AccountIdentity {
                    system_assigned: true,
                    user_assigned: vec![],
                }),
                ..AccountSpec::default()
            },
        )
        .await
        .unwrap();
    let (mut account, version) = records
        .get_typed::<Account>(ACCOUNTS, "acct")
        .await
        .unwrap()
        .unwrap();
    account.encryption = Encryption::Cmk(Box::new(CmkSettings {
        key_vault_uri: "https://kv.vault.localhost:8443/".into(),
        vault: "kv".into(),
        key_name: "cmk".into(),
        key_version: None,
        identity_client_id: None,
        active_version: "v1".into(),
        previous_versions: vec![],
        status: keyhold_platform::KeyStatus::KeyInaccessible,
        status_reason: Some("CmkIdentityAccessDenied: access policy removed".into()),
        checked: 0,
    }));
    records
        .put_typed(ACCOUNTS, "acct", &account, Precondition::Version(version))
        .await
        .unwrap();
    (platform, records)
}

fn status(account: &Account) -> &str {
    match &account.encryption {
        Encryption::Cmk(c) => c.status.as_str(),
        Encryption::Mmk => "Mmk",
    }
}

#[tokio::test]
async fn a_recheck_that_loses_a_race_runs_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (platform, records) = restored_account(dir.path()).await;
    records.races.store(3, Ordering::SeqCst);
    let transition = platform.recheck("acct").await.unwrap();
    assert_eq!(records.races.load(Ordering::SeqCst), 0, "three races lost");
    let transition = transition.expect("the restored key is recorded, not left to the next round");
    assert_eq!(
        (transition.from.as_str(), transition.to.as_str()),
        ("KeyInaccessible", "Active")
    );
    let account = platform.account("acct").await.unwrap();
    assert_eq!(status(&account), "Active");
    assert!(
        account.tags.contains_key("touched"),
        "the other writer's change is kept"
    );
}

#[tokio::test]
async fn a_recheck_that_keeps_losing_gives_up_with_the_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let (platform, records) = restored_account(dir.path()).await;
    records.races.store(usize::MAX, Ordering::SeqCst);
    let err = platform.recheck("acct").await.unwrap_err();
    assert!(
        matches!(err, PlatformError::Store(StoreError::Conflict { .. })),
        "{err:?}"
    );
    let lost = usize::MAX - records.races.load(Ordering::SeqCst);
    assert_eq!(
        lost,
        keyhold_store::CONFLICT_ATTEMPTS,
        "bounded, no endless loop"
    );
    records.races.store(0, Ordering::SeqCst);
    let account = platform.account("acct").await.unwrap();
    assert_eq!(status(&account), "KeyInaccessible", "nothing half-written");
}
