//! The directory's records. Each is a [`Versioned`] document, so its stored form carries its
//! kind and schema version.

use std::collections::BTreeMap;

use keyhold_store::Versioned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A directory tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id.
    pub id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Creation time, unix seconds.
    pub created: u64,
}
impl Versioned for Tenant {
    const KIND: &'static str = "identity.tenant";
    const SCHEMA: u16 = 1;
}

/// A subscription of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Subscription id.
    pub id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Display name.
    pub display_name: String,
    /// `Enabled`.
    pub state: String,
}
impl Versioned for Subscription {
    const KIND: &'static str = "identity.subscription";
    const SCHEMA: u16 = 1;
}

/// A resource group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    /// Subscription id.
    pub subscription_id: Uuid,
    /// Name as created (matched case-insensitively).
    pub name: String,
    /// Azure region name.
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Creation time, unix seconds.
    pub created: u64,
    /// For managed resource groups: the resource that owns it (read-only to users).
    #[serde(default)]
    pub managed_by: Option<String>,
}
impl Versioned for ResourceGroup {
    const KIND: &'static str = "identity.resource_group";
    const SCHEMA: u16 = 1;
}

/// What kind of principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PrincipalKind {
    /// An application's service principal (client secret credentials).
    ServicePrincipal,
    /// A system-assigned managed identity, living and dying with `resource_id`.
    SystemAssigned {
        /// The owning resource's ARM id.
        resource_id: String,
    },
    /// A user-assigned managed identity (the ARM resource `resource_id`).
    UserAssigned {
        /// The identity resource's ARM id.
        resource_id: String,
    },
    /// A principal of a trusted external issuer (never stored; built per request).
    External {
        /// The issuer.
        issuer: String,
    },
}

/// A client secret, stored only as a salted PBKDF2 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretCredential {
    /// Credential id.
    pub key_id: Uuid,
    /// First three characters, to tell secrets apart (as Entra shows them).
    pub hint: String,
    /// PBKDF2 salt, hex.
    pub salt: String,
    /// PBKDF2-HMAC-SHA256 output, hex.
    pub hash: String,
    /// Iteration count.
    pub iterations: u32,
    /// Creation time.
    pub created: u64,
    /// Expiry, if any.
    pub expires: Option<u64>,
    /// A label the owner gave it (Microsoft Graph's `passwordCredential.displayName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// A security principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Object id (`oid`).
    pub object_id: Uuid,
    /// Home tenant.
    pub tenant_id: Uuid,
    /// Client / application id (`appid`).
    pub client_id: Uuid,
    /// Display name.
    pub display_name: String,
    /// Disabled principals cannot get or use tokens.
    pub enabled: bool,
    /// Creation time.
    pub created: u64,
    /// Kind.
    pub kind: PrincipalKind,
    /// Client secrets (service principals only).
    pub secrets: Vec<SecretCredential>,
}
impl Versioned for Principal {
    const KIND: &'static str = "identity.principal";
    const SCHEMA: u16 = 1;
}

/// A role assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// Assignment name (a GUID).
    pub id: Uuid,
    /// ARM scope it applies to (and below).
    pub scope: String,
    /// Assignee.
    pub principal_id: Uuid,
    /// Role definition GUID.
    pub role_id: Uuid,
    /// Creation time.
    pub created: u64,
}
impl Versioned for RoleAssignment {
    const KIND: &'static str = "identity.role_assignment";
    const SCHEMA: u16 = 1;
}

/// A binding of the managed-identity endpoint secret to identities a local workload may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadBinding {
    /// Binding id.
    pub id: Uuid,
    /// Principals the workload may get tokens for; the first is the default.
    pub principals: Vec<Uuid>,
    /// Creation time.
    pub created: u64,
}
impl Versioned for WorkloadBinding {
    const KIND: &'static str = "identity.workload_binding";
    const SCHEMA: u16 = 1;
}

/// Which tenant, subscription and admin the first start created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapRecord {
    /// Default tenant.
    pub tenant_id: Uuid,
    /// Default subscription.
    pub subscription_id: Uuid,
    /// Admin service principal object id.
    pub admin_object_id: Uuid,
}
impl Versioned for BootstrapRecord {
    const KIND: &'static str = "identity.bootstrap";
    const SCHEMA: u16 = 1;
}

/// Held while one node makes the defaults, so that nodes starting together on an empty
/// shared store make them once: the others wait for the bootstrap record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapClaim {
    /// Random id of the claiming start.
    pub claimant: Uuid,
    /// When it claimed, unix seconds.
    pub claimed_at: u64,
}
impl Versioned for BootstrapClaim {
    const KIND: &'static str = "identity.bootstrap_claim";
    const SCHEMA: u16 = 1;
}

/// A token-signing key of a tenant (private part sealed under the master key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    /// Key id (`kid`).
    pub kid: String,
    /// Sealed PKCS#8, hex.
    pub sealed_pkcs8: String,
    /// Created (unix s).
    pub created: u64,
    /// When it stopped signing (a newer key took over); `None` while active.
    pub retired: Option<u64>,
}
impl Versioned for SigningKeyRecord {
    const KIND: &'static str = "identity.signing_key";
    const SCHEMA: u16 = 1;
}
