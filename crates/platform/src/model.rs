//! Stored AI account records.

use std::collections::BTreeMap;

use keyhold_store::Versioned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Kinds keyhold accepts (Azure's `kind` strings).
pub const KINDS: &[&str] = &[
    "OpenAI",
    "AIServices",
    "CognitiveServices",
    "SpeechServices",
    "ContentModerator",
    "FormRecognizer",
    "TextAnalytics",
    "Face",
    "CustomVision.Training",
    "CustomVision.Prediction",
    "ComputerVision",
    "TextTranslation",
];

/// Kinds whose CMK needs an approved request first.
pub const APPROVAL_KINDS: &[&str] = &["SpeechServices", "ContentModerator"];

/// An account's managed identities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountIdentity {
    /// System-assigned identity on.
    pub system_assigned: bool,
    /// ARM ids of assigned user-assigned identities.
    pub user_assigned: Vec<String>,
}

/// Where a customer-managed key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmkSettings {
    /// `https://{vault}.{domain}:{port}/` as given (normalized to end with `/`).
    pub key_vault_uri: String,
    /// Vault name (first DNS label of the URI's host).
    pub vault: String,
    /// Key name.
    pub key_name: String,
    /// Pinned version, or `None` to follow the newest.
    pub key_version: Option<String>,
    /// Client id of the user-assigned identity to use (`None`: system-assigned).
    pub identity_client_id: Option<String>,
    /// The version protecting new data now (resolved at set time; followed when unpinned).
    pub active_version: String,
    /// Earlier versions that still protect older data.
    #[serde(default)]
    pub previous_versions: Vec<String>,
    /// Whether the key can be used now.
    #[serde(default)]
    pub status: KeyStatus,
    /// Why the key is inaccessible (error code and message).
    #[serde(default)]
    pub status_reason: Option<String>,
    /// When the key was last checked (unix s).
    #[serde(default)]
    pub checked: u64,
}

/// Whether an account's customer-managed key can be used now (`encryption.status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    /// The key works: data is readable.
    #[default]
    Active,
    /// The key cannot be used (revoked, disabled, deleted, unreachable past the grace
    /// period, tenant moved): data is not readable until access comes back.
    KeyInaccessible,
}

impl KeyStatus {
    /// The wire name (`Active`, `KeyInaccessible`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::KeyInaccessible => "KeyInaccessible",
        }
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The account's encryption setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encryption {
    /// Microsoft-managed keys (keyhold's service key).
    Mmk,
    /// A customer-managed key.
    Cmk(Box<CmkSettings>),
}

/// An AI account (`Microsoft.CognitiveServices/accounts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Name as created.
    pub name: String,
    /// Subscription.
    pub subscription_id: Uuid,
    /// Tenant of the subscription.
    pub tenant_id: Uuid,
    /// Resource group.
    pub resource_group: String,
    /// Region (normalized).
    pub location: String,
    /// Kind.
    pub kind: String,
    /// SKU name.
    pub sku: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Identities.
    pub identity: AccountIdentity,
    /// Encryption.
    pub encryption: Encryption,
    /// Foundry: `allowProjectManagement`.
    pub allow_project_management: bool,
    /// `disableLocalAuth` (api keys refused when true).
    pub disable_local_auth: bool,
    /// The two API keys, sealed under the master key (hex).
    pub sealed_keys: [String; 2],
    /// Created (unix s).
    pub created: u64,
    /// The KEK new data is encrypted under.
    #[serde(default)]
    pub current_kek: Option<String>,
    /// Set for Azure Machine Learning workspaces (hubs and their projects), which share the
    /// account machinery (identities, key hierarchy, revocation) under another resource type.
    #[serde(default)]
    pub workspace: Option<WorkspaceSettings>,
}

/// What a hub or hub project adds to an account record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSettings {
    /// `enableServiceSideCMKEncryption` (default true): data stays service-side under
    /// document-level CMK; false (legacy) puts it in a managed resource group.
    pub service_side_cmk: bool,
    /// `hbiWorkspace`: scratch is never written in plaintext, even transiently.
    pub hbi: bool,
    /// The legacy managed resource group, when there is one.
    pub managed_resource_group: Option<String>,
    /// For kind Project: the hub's resource id.
    pub hub_resource_id: Option<String>,
    /// Display name.
    pub friendly_name: String,
}
impl Versioned for Account {
    const KIND: &'static str = "platform.account";
    const SCHEMA: u16 = 1;
}

impl Account {
    /// The ARM resource id.
    pub fn resource_id(&self) -> String {
        let provider = if self.workspace.is_some() {
            "Microsoft.MachineLearningServices/workspaces"
        } else {
            "Microsoft.CognitiveServices/accounts"
        };
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{provider}/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// Foundry resources: AIServices with project management.
    pub fn is_foundry(&self) -> bool {
        self.kind == "AIServices" && self.allow_project_management
    }
}

/// A soft-deleted account: data kept until purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedAccount {
    /// The account as it was.
    pub account: Account,
    /// Deleted at.
    pub deleted: u64,
    /// Purged automatically at (48 h later, as Azure does).
    pub scheduled_purge: u64,
}
impl Versioned for DeletedAccount {
    const KIND: &'static str = "platform.deleted_account";
    const SCHEMA: u16 = 1;
}

/// A subscription's CMK request for an approval-gated kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmkRegistration {
    /// Subscription.
    pub subscription_id: Uuid,
    /// Kind.
    pub kind: String,
    /// `Pending` or `Approved`.
    pub state: String,
    /// Requested by (object id).
    pub requested_by: String,
    /// Approved by (object id).
    pub approved_by: Option<String>,
}
impl Versioned for CmkRegistration {
    const KIND: &'static str = "platform.cmk_registration";
    const SCHEMA: u16 = 1;
}
