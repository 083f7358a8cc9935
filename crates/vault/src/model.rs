//! Stored vault and key records.

use std::collections::BTreeMap;

use keyhold_store::Versioned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Key permissions of an access policy entry (Azure names, matched case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Key permissions (`get`, `wrapKey`, `all`, …).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Secret permissions (kept, not enforced: keyhold has no secrets API yet).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Certificate permissions (kept, not enforced).
    #[serde(default)]
    pub certificates: Vec<String>,
}

/// One access policy entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    /// Tenant of the principal.
    pub tenant_id: Uuid,
    /// Principal object id.
    pub object_id: String,
    /// Optional application id (compound identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// Permissions.
    pub permissions: Permissions,
}

/// Firewall rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcls {
    /// `Allow` or `Deny`.
    pub default_action: String,
    /// `AzureServices` or `None`.
    pub bypass: String,
    /// Allowed client addresses (IP or CIDR).
    pub ip_rules: Vec<String>,
}

impl Default for NetworkAcls {
    fn default() -> Self {
        Self {
            default_action: "Allow".into(),
            bypass: "AzureServices".into(),
            ip_rules: vec![],
        }
    }
}

/// A vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    /// Name (lower case; vault names are global and DNS labels).
    pub name: String,
    /// Subscription.
    pub subscription_id: Uuid,
    /// Resource group as given.
    pub resource_group: String,
    /// Region.
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Tenant whose tokens may use it.
    pub tenant_id: Uuid,
    /// `standard` or `premium`.
    pub sku: String,
    /// 7–90.
    pub soft_delete_retention_days: u32,
    /// Once on, never off.
    pub purge_protection: bool,
    /// RBAC (true) or access policies (false).
    pub rbac_authorization: bool,
    /// Access policies.
    pub access_policies: Vec<AccessPolicy>,
    /// Firewall.
    pub network_acls: NetworkAcls,
    /// The per-vault key (sealed under the master key), hex.
    pub sealed_vault_key: String,
    /// Created, unix s.
    pub created: u64,
}
impl Versioned for Vault {
    const KIND: &'static str = "vault.vault";
    const SCHEMA: u16 = 1;
}

impl Vault {
    /// The ARM resource id.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// `recoveryLevel` of keys in this vault.
    pub fn recovery_level(&self) -> &'static str {
        match (self.purge_protection, self.soft_delete_retention_days < 90) {
            (true, false) => "Recoverable",
            (false, false) => "Recoverable+Purgeable",
            (true, true) => "CustomizedRecoverable",
            (false, true) => "CustomizedRecoverable+Purgeable",
        }
    }
}

/// A soft-deleted vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedVault {
    /// The vault as it was.
    pub vault: Vault,
    /// Deleted at.
    pub deleted: u64,
    /// Purged automatically at.
    pub scheduled_purge: u64,
}
impl Versioned for DeletedVault {
    const KIND: &'static str = "vault.deleted_vault";
    const SCHEMA: u16 = 1;
}

/// Key attributes (times in unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttributes {
    /// Usable at all.
    pub enabled: bool,
    /// Not before.
    pub nbf: Option<u64>,
    /// Expires.
    pub exp: Option<u64>,
    /// Created.
    pub created: u64,
    /// Updated.
    pub updated: u64,
    /// Private key may leave the vault.
    pub exportable: bool,
}

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVersion {
    /// Key name as created.
    pub name: String,
    /// 32-hex version id.
    pub version: String,
    /// `RSA`, `RSA-HSM`, `EC`, `EC-HSM` or `oct-HSM`.
    pub kty: String,
    /// Permitted operations (never empty).
    pub key_ops: Vec<String>,
    /// Attributes.
    pub attributes: KeyAttributes,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Public modulus (base64url).
    pub n: String,
    /// Public exponent (base64url).
    pub e: String,
    /// EC curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x (base64url).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x: String,
    /// EC y (base64url).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub y: String,
    /// Private key, sealed under the vault key, hex.
    pub sealed: String,
}
impl Versioned for KeyVersion {
    const KIND: &'static str = "vault.key_version";
    const SCHEMA: u16 = 1;
}

/// Soft-delete state of a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedInfo {
    /// Deleted at.
    pub deleted: u64,
    /// Purged automatically at.
    pub scheduled_purge: u64,
}

/// A key: its name, newest version, deletion state and rotation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    /// Name as created.
    pub name: String,
    /// Newest version.
    pub latest: String,
    /// Set while soft-deleted.
    pub deleted: Option<DeletedInfo>,
    /// Rotation policy, as set.
    pub rotation_policy: Option<crate::rotation::RotationPolicy>,
}
impl Versioned for KeyMeta {
    const KIND: &'static str = "vault.key";
    const SCHEMA: u16 = 1;
}

impl KeyVersion {
    /// The public JWK of this version as Key Vault returns it (`key` of a KeyBundle).
    pub fn public_jwk(&self, kid: &str) -> serde_json::Value {
        let mut jwk = serde_json::json!({
            "kid": kid,
            "kty": self.kty,
            "key_ops": self.key_ops,
        });
        if !self.n.is_empty() {
            jwk["n"] = self.n.clone().into();
            jwk["e"] = self.e.clone().into();
        }
        if let Some(crv) = &self.crv {
            jwk["crv"] = crv.clone().into();
            jwk["x"] = self.x.clone().into();
            jwk["y"] = self.y.clone().into();
        }
        jwk
    }
}
