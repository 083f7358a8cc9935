//! The CMK rules (docs/DESIGN.md section 4), checked before an account's encryption setting changes.
//! Nothing is written until every rule passed, so a refused change leaves the previous setting
//! in force.
//!
//! The identity's access is checked by *calling the vault with the identity's own token*
//! ([`KeyVaultAccess::probe`]): get the key, wrap a random value and unwrap it again. Reading
//! the vault's policy table would miss RBAC assignments, disabled principals, firewalls and
//! remote vaults; a real call cannot.

use async_trait::async_trait;
use keyhold_identity::Principal;
use uuid::Uuid;

use crate::error::PlatformError;
use crate::model::{Account, CmkSettings, Encryption};

/// What the management plane knows about a vault (as Azure's RP reads it through ARM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultFacts {
    /// Vault name.
    pub name: String,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Subscription.
    pub subscription_id: Uuid,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    pub location: String,
    /// Purge protection on.
    pub purge_protection: bool,
    /// RBAC authorization (instead of access policies).
    pub rbac_authorization: bool,
    /// Firewall denies by default.
    pub firewall_denies: bool,
    /// Firewall lets trusted services through.
    pub trusted_services_bypass: bool,
    /// A vault of another keyhold (or Azure): only what its data plane shows is known, so the
    /// management-plane rules (tenant, region, group, RBAC mode, firewall) cannot be checked
    /// and purge protection is read from the key's `recoveryLevel`.
    pub remote: bool,
}

/// What a probe learned about the key (through the identity's own calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// `RSA`, `RSA-HSM`, `EC`, …
    pub kty: String,
    /// Modulus bits (RSA).
    pub bits: usize,
    /// Version id.
    pub version: String,
    /// Enabled.
    pub enabled: bool,
    /// Within nbf/exp now.
    pub in_validity: bool,
    /// Has wrapKey and unwrapKey.
    pub wraps: bool,
    /// Purge protection as the key's `recoveryLevel` shows it (no `Purgeable`).
    pub purge_protected: Option<bool>,
}

/// Access to vaults, implemented by the server over HTTPS.
#[async_trait]
pub trait KeyVaultAccess: Send + Sync {
    /// The vault behind `vault_uri`, or `InvalidKeyVaultUri` when keyhold cannot reach one.
    async fn vault_facts(&self, vault_uri: &str) -> Result<VaultFacts, PlatformError>;
    /// With `identity`'s own token: reads the key (version, or newest), then wraps and unwraps
    /// a random value. Key facts are returned when the read succeeds, even if the key cannot
    /// be used (so the caller can name the exact rule); a refused call is
    /// `CmkIdentityAccessDenied`.
    async fn probe(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: Option<&str>,
    ) -> Result<KeyFacts, PlatformError>;
    /// With `identity`'s token: wraps `plaintext` (RSA-OAEP-256) under one key version.
    async fn wrap(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, PlatformError>;
    /// With `identity`'s token: unwraps what [`KeyVaultAccess::wrap`] produced.
    async fn unwrap(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: &str,
        wrapped: &[u8],
    ) -> Result<keyhold_crypto::SecretBytes, PlatformError>;
}

/// A requested CMK setting, before checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmkRequest {
    /// Vault URI (`https://kv.vault.localhost:8443/`), or a full key URI.
    pub key_vault_uri: String,
    /// Key name (may come from a full key URI).
    pub key_name: Option<String>,
    /// Key version.
    pub key_version: Option<String>,
    /// identityClientId.
    pub identity_client_id: Option<String>,
}

/// Splits a vault or key URI into (vault base URI with trailing `/`, vault name, key name,
/// version).
pub fn parse_key_uri(
    uri: &str,
) -> Result<(String, String, Option<String>, Option<String>), PlatformError> {
    let bad = || {
        PlatformError::InvalidKeyVaultUri(format!(
            "keyVaultUri {uri:?} is not a vault URI (https://{{vault}}.{{vault-domain}}[:port]/) or key URI (…/keys/{{name}}[/{{version}}])"
        ))
    };
    let rest = uri.strip_prefix("https://").ok_or_else(bad)?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.split(':').next().unwrap_or_default();
    let vault = host
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if vault.is_empty() || !host.contains('.') || authority.contains('@') {
        return Err(bad());
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (name, version) = match segments.as_slice() {
        [] => (None, None),
        [k, name] if k.eq_ignore_ascii_case("keys") => (Some((*name).to_owned()), None),
        [k, name, version] if k.eq_ignore_ascii_case("keys") => {
            (Some((*name).to_owned()), Some((*version).to_owned()))
        }
        _ => return Err(bad()),
    };
    Ok((format!("https://{authority}/"), vault, name, version))
}

/// Checks every rule for `account` moving to `request`; returns the settings to store.
/// `identity` resolves the identity the account would use.
pub async fn check(
    access: &dyn KeyVaultAccess,
    account: &Account,
    current: &Encryption,
    request: &CmkRequest,
    identity: Option<Principal>,
    approved: bool,
) -> Result<CmkSettings, PlatformError> {
    let (base, vault, name_from_uri, version_from_uri) = parse_key_uri(&request.key_vault_uri)?;
    let key_name = request
        .key_name
        .clone()
        .filter(|n| !n.is_empty())
        .or(name_from_uri)
        .ok_or_else(|| {
            PlatformError::InvalidRequest("keyVaultProperties.keyName is required".into())
        })?;
    let key_version = request
        .key_version
        .clone()
        .filter(|v| !v.is_empty())
        .or(version_from_uri);
    if crate::model::APPROVAL_KINDS.contains(&account.kind.as_str()) && !approved {
        return Err(PlatformError::CmkApprovalRequired {
            kind: account.kind.clone(),
            subscription: account.subscription_id.to_string(),
        });
    }
    if let Encryption::Cmk(existing) = current
        && existing.vault != vault
    {
        return Err(PlatformError::CmkKeyVaultChangeNotAllowed {
            from: existing.vault.clone(),
            to: vault,
        });
    }
    let facts = access.vault_facts(&base).await?;
    if !facts.remote {
        check_vault(account, &vault, &facts)?;
    }
    let identity =
        identity.ok_or_else(|| PlatformError::CmkIdentityMissing(account.name.clone()))?;
    check_identity_tenant(account, &identity)?;
    let key = access
        .probe(&identity, &base, &key_name, key_version.as_deref())
        .await?;
    if facts.remote && key.purge_protected != Some(true) {
        return Err(PlatformError::CmkVaultPurgeProtectionRequired(vault));
    }
    check_key(&key_name, &key)?;
    let previous_versions = match current {
        Encryption::Cmk(c) if c.active_version != key.version => {
            let mut v = c.previous_versions.clone();
            v.retain(|p| p != &key.version);
            v.push(c.active_version.clone());
            v
        }
        Encryption::Cmk(c) => c.previous_versions.clone(),
        Encryption::Mmk => vec![],
    };
    Ok(CmkSettings {
        key_vault_uri: base,
        vault,
        key_name,
        key_version,
        identity_client_id: request.identity_client_id.clone().filter(|c| !c.is_empty()),
        previous_versions,
        active_version: key.version,
        status: crate::model::KeyStatus::Active,
        status_reason: None,
        checked: crate::Platform::now(),
    })
}

/// The identity must live in the account's tenant: after a subscription move the old identity
/// is still attached but belongs to the tenant the subscription left.
pub fn check_identity_tenant(account: &Account, identity: &Principal) -> Result<(), PlatformError> {
    if identity.tenant_id == account.tenant_id {
        return Ok(());
    }
    Err(PlatformError::CmkTenantMoved {
        account: account.name.clone(),
        identity: identity.object_id.to_string(),
        identity_tenant: identity.tenant_id.to_string(),
        account_tenant: account.tenant_id.to_string(),
    })
}

/// The management-plane rules of a local vault: tenant, region, Foundry group, purge
/// protection, RBAC mode (OpenAI), firewall.
pub fn check_vault(
    account: &Account,
    vault: &str,
    facts: &VaultFacts,
) -> Result<(), PlatformError> {
    let vault = vault.to_owned();
    if facts.tenant_id != account.tenant_id {
        return Err(PlatformError::CmkVaultTenantMismatch(vault));
    }
    if !facts.location.eq_ignore_ascii_case(&account.location) {
        return Err(PlatformError::CmkVaultRegionMismatch {
            vault,
            vault_location: facts.location.clone(),
            account_location: account.location.clone(),
        });
    }
    if account.is_foundry()
        && (facts.subscription_id != account.subscription_id
            || !facts
                .resource_group
                .eq_ignore_ascii_case(&account.resource_group))
    {
        return Err(PlatformError::CmkVaultResourceGroupMismatch {
            vault,
            vault_group: facts.resource_group.clone(),
            account_group: account.resource_group.clone(),
        });
    }
    if !facts.purge_protection {
        return Err(PlatformError::CmkVaultPurgeProtectionRequired(vault));
    }
    if account.kind == "OpenAI" && facts.rbac_authorization {
        return Err(PlatformError::CmkVaultRbacNotSupported(vault));
    }
    if facts.firewall_denies && !facts.trusted_services_bypass {
        return Err(PlatformError::CmkVaultFirewallBlocksTrustedServices(vault));
    }
    Ok(())
}

/// The key rules: RSA or RSA-HSM, 2048 bits, enabled, within nbf/exp, wrapKey and unwrapKey.
pub fn check_key(key_name: &str, key: &KeyFacts) -> Result<(), PlatformError> {
    let key_name = key_name.to_owned();
    let key = key.clone();
    if key.kty != "RSA" && key.kty != "RSA-HSM" {
        return Err(PlatformError::CmkKeyTypeNotSupported {
            key: key_name,
            kty: key.kty,
        });
    }
    if key.bits != 2048 {
        return Err(PlatformError::CmkKeySizeNotSupported {
            key: key_name,
            bits: key.bits,
        });
    }
    if !key.enabled {
        return Err(PlatformError::CmkKeyDisabled(key_name));
    }
    if !key.in_validity {
        return Err(PlatformError::CmkKeyExpired(key_name));
    }
    if !key.wraps {
        return Err(PlatformError::CmkKeyOperationsMissing(key_name));
    }
    Ok(())
}

/// The switching rules between MMK and CMK.
pub fn check_switch(
    account: &Account,
    current: &Encryption,
    to_cmk: bool,
) -> Result<(), PlatformError> {
    match (current, to_cmk) {
        (Encryption::Cmk(_), false) if account.kind != "OpenAI" => {
            Err(PlatformError::CmkSwitchNotAllowed(format!(
                "Account {} of kind {} cannot go back from a customer-managed key to Microsoft-managed keys (only kind OpenAI can).",
                account.name, account.kind
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uris() {
        let rows = [
            (
                "https://kv1.vault.localhost:8443/",
                Some(("kv1", None, None)),
            ),
            (
                "https://KV1.vault.localhost:8443",
                Some(("kv1", None, None)),
            ),
            (
                "https://kv1.vault.localhost:8443/keys/cmk",
                Some(("kv1", Some("cmk"), None)),
            ),
            (
                "https://kv1.vault.localhost:8443/keys/cmk/0123",
                Some(("kv1", Some("cmk"), Some("0123"))),
            ),
            ("http://kv1.vault.localhost/", None),
            ("https://localhost/", None),
            ("https://kv1.vault.localhost/secrets/x", None),
            ("https://user@kv1.vault.localhost/", None),
            ("kv1", None),
        ];
        for (uri, expected) in rows {
            let got = parse_key_uri(uri).ok();
            let got = got
                .as_ref()
                .map(|(_, v, n, ver)| (v.as_str(), n.as_deref(), ver.as_deref()));
            assert_eq!(got, expected, "{uri}");
        }
    }
}
