//! The rule order and the tenant rule, through `cmk::check` with a scripted vault (the other
//! rules are exercised end to end against real vaults in `interop/test_accounts.py`; a second
//! tenant's vault cannot be created through the single-tenant bootstrap there).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use async_trait::async_trait;
use keyhold_identity::{Principal, PrincipalKind};
use keyhold_platform::cmk::{self, CmkRequest, KeyFacts, KeyVaultAccess, VaultFacts};
use keyhold_platform::{Account, AccountIdentity, Encryption, PlatformError};
use uuid::Uuid;

struct Scripted {
    vault: VaultFacts,
    key: KeyFacts,
}

#[async_trait]
impl KeyVaultAccess for Scripted {
    async fn vault_facts(&self, _uri: &str) -> Result<VaultFacts, PlatformError> {
        Ok(self.vault.clone())
    }
    async fn probe(
        &self,
        _identity: &Principal,
        _uri: &str,
        _name: &str,
        _version: Option<&str>,
    ) -> Result<KeyFacts, PlatformError> {
        Ok(self.key.clone())
    }
    async fn wrap(
        &self,
        _identity: &Principal,
        _uri: &str,
        _name: &str,
        _version: &str,
        _plaintext: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        Err(PlatformError::KeyVaultUnreachable("scripted".into()))
    }
    async fn unwrap(
        &self,
        _identity: &Principal,
        _uri: &str,
        _name: &str,
        _version: &str,
        _wrapped: &[u8],
    ) -> Result<keyhold_crypto::SecretBytes, PlatformError> {
        Err(PlatformError::KeyVaultUnreachable("scripted".into()))
    }
}

fn account(tenant: Uuid) -> Account {
    Account {
        name: "acct".into(),
        subscription_id: Uuid::from_u128(1),
        tenant_id: tenant,
        resource_group: "rg".into(),
        location: "westeurope".into(),
        kind: "OpenAI".into(),
        sku: "S0".into(),
        tags: BTreeMap::new(),
        identity: AccountIdentity {
            system_assigned: true,
            user_assigned: vec![],
        },
        encryption: Encryption::Mmk,
        allow_project_management: false,
        disable_local_auth: false,
        sealed_keys: [String::new(), String::new()],
        created: 0,
        current_kek: None,
        workspace: None,
    }
}

fn principal(tenant: Uuid) -> Principal {
    Principal {
        object_id: Uuid::from_u128(7),
        tenant_id: tenant,
        client_id: Uuid::from_u128(8),
        display_name: "acct".into(),
        enabled: true,
        created: 0,
        kind: PrincipalKind::SystemAssigned {
            resource_id: "/x".into(),
        },
        secrets: vec![],
    }
}

fn scripted(tenant: Uuid) -> Scripted {
    Scripted {
        vault: VaultFacts {
            name: "kv".into(),
            tenant_id: tenant,
            subscription_id: Uuid::from_u128(2),
            resource_group: "other".into(),
            location: "westeurope".into(),
            purge_protection: true,
            rbac_authorization: false,
            firewall_denies: false,
            trusted_services_bypass: true,
            remote: false,
        },
        key: KeyFacts {
            kty: "RSA".into(),
            bits: 2048,
            version: "v1".into(),
            enabled: true,
            in_validity: true,
            wraps: true,
            purge_protected: Some(true),
        },
    }
}

fn request() -> CmkRequest {
    CmkRequest {
        key_vault_uri: "https://kv.vault.localhost:8443/".into(),
        key_name: Some("cmk".into()),
        key_version: None,
        identity_client_id: None,
    }
}

#[tokio::test]
async fn tenant_must_match_and_subscriptions_may_differ() {
    let tenant = Uuid::from_u128(10);
    let a = account(tenant);
    let p = principal(tenant);
    // Same tenant, another subscription and group: accepted.
    let ok = cmk::check(
        &scripted(tenant),
        &a,
        &Encryption::Mmk,
        &request(),
        Some(p.clone()),
        false,
    )
    .await
    .unwrap();
    assert_eq!(ok.active_version, "v1");
    assert_eq!(ok.vault, "kv");
    // A vault of another tenant: refused with its own code.
    let err = cmk::check(
        &scripted(Uuid::from_u128(11)),
        &a,
        &Encryption::Mmk,
        &request(),
        Some(p),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "CmkVaultTenantMismatch");
}
