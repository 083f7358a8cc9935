//! Platform errors. Every CMK rule of docs/DESIGN.md section 4 is its own variant with a stable code
//! and a message that says what to fix; the server maps them to ARM errors (400 unless noted).

use keyhold_identity::IdentityError;
use keyhold_store::StoreError;

/// A platform failure.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A request field is missing or malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// No such account.
    #[error("The Resource 'Microsoft.CognitiveServices/accounts/{0}' was not found.")]
    AccountNotFound(String),
    /// The name is held by a soft-deleted account.
    #[error(
        "An account named {0} was deleted and is recoverable: re-create it with properties.restore = true, or purge it first."
    )]
    DeletedAccountExists(String),
    /// Name held by an account elsewhere.
    #[error("The account name {0} is already in use.")]
    AccountNameTaken(String),
    /// A user-assigned identity named in the request does not exist.
    #[error("The user-assigned identity {0} does not exist.")]
    IdentityNotFound(String),
    /// The vault must have purge protection (soft delete is always on in keyhold).
    #[error(
        "Key vault {0} must have soft delete and purge protection enabled to hold a customer-managed key: set enablePurgeProtection on the vault."
    )]
    CmkVaultPurgeProtectionRequired(String),
    /// Only RSA/RSA-HSM keys.
    #[error("Key {key} is of type {kty}: customer-managed keys must be RSA or RSA-HSM.")]
    CmkKeyTypeNotSupported {
        /// Key.
        key: String,
        /// Its type.
        kty: String,
    },
    /// Only 2048-bit keys.
    #[error("Key {key} is {bits} bits: customer-managed keys must be RSA 2048.")]
    CmkKeySizeNotSupported {
        /// Key.
        key: String,
        /// Its size.
        bits: usize,
    },
    /// Key disabled.
    #[error(
        "Key {0} is disabled: enable it in the vault before using it as a customer-managed key."
    )]
    CmkKeyDisabled(String),
    /// Key expired or not yet valid.
    #[error("Key {0} is expired or not yet valid: use a version whose nbf/exp include now.")]
    CmkKeyExpired(String),
    /// Key lacks wrapKey/unwrapKey.
    #[error("Key {0} must permit wrapKey and unwrapKey (key_ops).")]
    CmkKeyOperationsMissing(String),
    /// No such key (or version) in the vault.
    #[error("Key {0} was not found in the vault.")]
    CmkKeyNotFound(String),
    /// The account has no managed identity to reach the vault with.
    #[error(
        "Account {0} has no managed identity for the key vault: enable a system-assigned identity, or assign a user-assigned identity and name its client id in keyVaultProperties.identityClientId."
    )]
    CmkIdentityMissing(String),
    /// identityClientId names no identity of the account.
    #[error(
        "identityClientId {0} is not the client id of a user-assigned identity of this account."
    )]
    CmkIdentityNotAssigned(String),
    /// The identity lacks a permission on the vault (found by calling the vault with its token).
    #[error(
        "The account's managed identity {identity} cannot {permission} key {key}: grant it get, wrapKey and unwrapKey on the vault ({detail})."
    )]
    CmkIdentityAccessDenied {
        /// Identity object id.
        identity: String,
        /// Missing permission.
        permission: String,
        /// Key.
        key: String,
        /// What the vault said.
        detail: String,
    },
    /// OpenAI needs an access-policy vault.
    #[error(
        "Key vault {0} uses Azure RBAC; Azure OpenAI customer-managed keys need a vault that uses access policies."
    )]
    CmkVaultRbacNotSupported(String),
    /// Different region.
    #[error(
        "Key vault {vault} is in {vault_location}; the account is in {account_location}: they must be in the same region."
    )]
    CmkVaultRegionMismatch {
        /// Vault.
        vault: String,
        /// Vault region.
        vault_location: String,
        /// Account region.
        account_location: String,
    },
    /// Different tenant.
    #[error(
        "Key vault {0} belongs to another tenant: the vault and the account must be in the same tenant."
    )]
    CmkVaultTenantMismatch(String),
    /// The account's managed identity stayed in the tenant its subscription left.
    #[error(
        "Account {account} is now in tenant {account_tenant}, but its managed identity {identity} stayed in tenant {identity_tenant} when the subscription moved: managed identities do not move between tenants. Switch the identity on again (or assign a user-assigned identity of tenant {account_tenant}), grant it get, wrapKey and unwrapKey in a vault of tenant {account_tenant}, and set the key again; the account's data is kept."
    )]
    CmkTenantMoved {
        /// Account.
        account: String,
        /// The identity's object id.
        identity: String,
        /// The tenant the identity is in.
        identity_tenant: String,
        /// The tenant the account is in.
        account_tenant: String,
    },
    /// Foundry: vault in the same resource group.
    #[error(
        "Key vault {vault} is in resource group {vault_group}: Foundry resources need the vault in their own resource group ({account_group})."
    )]
    CmkVaultResourceGroupMismatch {
        /// Vault.
        vault: String,
        /// Vault's group.
        vault_group: String,
        /// Account's group.
        account_group: String,
    },
    /// Firewall denies and does not let trusted services through.
    #[error(
        "Key vault {0} denies network access by default without allowing trusted services: set networkAcls.bypass to AzureServices."
    )]
    CmkVaultFirewallBlocksTrustedServices(String),
    /// The key moved to another vault.
    #[error(
        "The key must stay in vault {from}: changing to {to} is not supported (use a new version or another key in the same vault)."
    )]
    CmkKeyVaultChangeNotAllowed {
        /// Current vault.
        from: String,
        /// Requested vault.
        to: String,
    },
    /// Speech/ContentModerator need an approved registration.
    #[error(
        "Customer-managed keys for kind {kind} need an approved request for subscription {subscription}: request it with `keyhold account cmk-request` and have an administrator approve it."
    )]
    CmkApprovalRequired {
        /// Kind.
        kind: String,
        /// Subscription.
        subscription: String,
    },
    /// A switch the rules forbid.
    #[error("{0}")]
    CmkSwitchNotAllowed(String),
    /// The vault URI is malformed or names no vault keyhold can reach.
    #[error("{0}")]
    InvalidKeyVaultUri(String),
    /// The vault did not answer.
    #[error("Key vault {0} did not answer in time; the account's encryption setting is unchanged.")]
    KeyVaultUnreachable(String),
    /// The account's customer-managed key cannot be used now: data protected by it cannot be
    /// read or written (403 on the data plane).
    #[error(
        "The customer-managed key {key} of account {account} is not accessible: {cause}. Restore the key or the identity's access to it; nothing was read or written."
    )]
    CustomerManagedKeyAccessDenied {
        /// Account.
        account: String,
        /// Key (vault/name/version).
        key: String,
        /// Why.
        cause: String,
    },
    /// No such file (or other data-plane object).
    #[error("No such {kind}: '{id}'")]
    ObjectNotFound {
        /// Object kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The upstream inference endpoint failed (503 on the data plane).
    #[error("{0}")]
    UpstreamUnavailable(String),
    /// An upload was cut off or malformed.
    #[error("{0}")]
    InvalidUpload(String),
    /// An upload is larger than the configured limit (413).
    #[error("the file is larger than the limit of {limit} bytes")]
    FileTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Identity layer.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Crypto.
    #[error("crypto failure: {0}")]
    Crypto(#[from] keyhold_crypto::CryptoError),
}

impl keyhold_store::MaybeConflict for PlatformError {
    fn is_conflict(&self) -> bool {
        matches!(self, PlatformError::Store(e) if e.is_conflict())
    }
}

impl PlatformError {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            PlatformError::InvalidRequest(_) => "InvalidRequest",
            PlatformError::AccountNotFound(_) => "ResourceNotFound",
            PlatformError::DeletedAccountExists(_) => "FlagMustBeSetForRestore",
            PlatformError::AccountNameTaken(_) => "CustomDomainInUse",
            PlatformError::IdentityNotFound(_) => "InvalidIdentity",
            PlatformError::CmkVaultPurgeProtectionRequired(_) => "CmkVaultPurgeProtectionRequired",
            PlatformError::CmkKeyTypeNotSupported { .. } => "CmkKeyTypeNotSupported",
            PlatformError::CmkKeySizeNotSupported { .. } => "CmkKeySizeNotSupported",
            PlatformError::CmkKeyDisabled(_) => "CmkKeyDisabled",
            PlatformError::CmkKeyExpired(_) => "CmkKeyExpired",
            PlatformError::CmkKeyOperationsMissing(_) => "CmkKeyOperationsMissing",
            PlatformError::CmkKeyNotFound(_) => "CmkKeyNotFound",
            PlatformError::CmkIdentityMissing(_) => "CmkIdentityMissing",
            PlatformError::CmkIdentityNotAssigned(_) => "CmkIdentityNotAssigned",
            PlatformError::CmkIdentityAccessDenied { .. } => "CmkIdentityAccessDenied",
            PlatformError::CmkVaultRbacNotSupported(_) => "CmkVaultRbacNotSupported",
            PlatformError::CmkVaultRegionMismatch { .. } => "CmkVaultRegionMismatch",
            PlatformError::CmkVaultTenantMismatch(_) => "CmkVaultTenantMismatch",
            PlatformError::CmkTenantMoved { .. } => "CmkTenantMoved",
            PlatformError::CmkVaultResourceGroupMismatch { .. } => "CmkVaultResourceGroupMismatch",
            PlatformError::CmkVaultFirewallBlocksTrustedServices(_) => {
                "CmkVaultFirewallBlocksTrustedServices"
            }
            PlatformError::CmkKeyVaultChangeNotAllowed { .. } => "CmkKeyVaultChangeNotAllowed",
            PlatformError::CmkApprovalRequired { .. } => "CmkApprovalRequired",
            PlatformError::CmkSwitchNotAllowed(_) => "CmkSwitchNotAllowed",
            PlatformError::InvalidKeyVaultUri(_) => "InvalidKeyVaultUri",
            PlatformError::KeyVaultUnreachable(_) => "KeyVaultUnreachable",
            PlatformError::CustomerManagedKeyAccessDenied { .. } => {
                "CustomerManagedKeyAccessDenied"
            }
            PlatformError::ObjectNotFound { .. } => "NotFound",
            PlatformError::InvalidUpload(_) => "invalidPayload",
            PlatformError::FileTooLarge { .. } => "RequestEntityTooLarge",
            PlatformError::UpstreamUnavailable(_) => "UpstreamUnavailable",
            PlatformError::Identity(_) | PlatformError::Store(_) | PlatformError::Crypto(_) => {
                "InternalError"
            }
        }
    }
}
