//! keyhold's identity domain: tenants, subscriptions, resource groups, service principals and
//! managed identities, role assignments, and the token service (RS256 JWTs shaped like Entra
//! v2 application tokens) with strict validation.
//!
//! Every API authenticates through [`Identity::validate_token`]: signature, issuer, audience,
//! expiry, tenant, and that the principal still exists and is enabled *now*, so disabling an
//! identity takes effect on its next request, not when its token expires.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod access;
mod applications;
mod bootstrap;
mod cache;
mod directory;
mod error;
mod external;
mod managed;
pub mod model;
pub mod reseal;
pub mod roles;
mod secrets;
mod service;
mod signing;
mod tenancy;
pub mod tokens;

use std::sync::Arc;

use keyhold_crypto::Sealer;
use keyhold_store::RecordStore;

pub use applications::MAX_SECRETS;
pub use bootstrap::{BOOTSTRAP_CLAIM_TAKEOVER, BootstrapOutcome};
pub use error::{IdentityError, InvalidClientReason, TokenError};
pub use external::{JwksSource, TrustedIssuer, external_object_id};
pub use managed::WorkloadSelector;
pub use model::{
    Principal, PrincipalKind, ResourceGroup, RoleAssignment, SecretCredential, Subscription,
    Tenant, WorkloadBinding,
};
pub use roles::{BUILTIN_ROLES, RoleDefinition};
pub use secrets::NewSecret;
pub use service::{AuthenticatedPrincipal, Expectation, IssuedToken};
pub use tenancy::{SubscriptionMove, tenant_scope};

/// Token-service settings, known once the server has bound its port.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Base URL of the identity endpoints, e.g. `https://localhost:8443` (no trailing slash).
    pub authority: String,
    /// Audiences tokens may be issued for (no trailing slash).
    pub audiences: Vec<String>,
    /// Token lifetime in seconds.
    pub token_lifetime_secs: u64,
    /// Tolerated clock skew for `exp`/`nbf`.
    pub clock_skew_secs: u64,
    /// Other issuers whose tokens are accepted, each for one local tenant.
    pub trusted_issuers: Vec<TrustedIssuer>,
}

impl IdentitySettings {
    /// Defaults: one-hour tokens, 60 s skew.
    pub fn new(authority: impl Into<String>, audiences: Vec<String>) -> Self {
        Self {
            authority: authority.into().trim_end_matches('/').to_owned(),
            audiences,
            token_lifetime_secs: 3600,
            clock_skew_secs: 60,
            trusted_issuers: Vec::new(),
        }
    }
}

/// The identity service.
pub struct Identity {
    records: Arc<dyn RecordStore>,
    settings: IdentitySettings,
    keys: signing::SigningKeys,
    verified: secrets::VerifiedSecrets,
    external: Option<external::ExternalIssuers>,
    verified_tokens: cache::VerifiedTokens,
    principals: cache::Principals,
}

impl Identity {
    /// Builds the service over a record store; `sealer` seals the signing keys.
    pub fn new(
        records: Arc<dyn RecordStore>,
        sealer: Arc<Sealer>,
        settings: IdentitySettings,
    ) -> Self {
        Self {
            keys: signing::SigningKeys::new(records.clone(), sealer),
            records,
            settings,
            verified: secrets::VerifiedSecrets::default(),
            external: None,
            verified_tokens: cache::VerifiedTokens::default(),
            principals: cache::Principals::default(),
        }
    }

    /// Replaces the settings (before the service is shared).
    pub fn with_settings(mut self, settings: IdentitySettings) -> Self {
        self.settings = settings;
        self
    }

    /// Enables the configured trusted issuers, fetching their keys through `source`.
    pub fn with_jwks_source(mut self, source: Arc<dyn JwksSource>) -> Self {
        if !self.settings.trusted_issuers.is_empty() {
            self.external = Some(external::ExternalIssuers::new(
                self.settings.trusted_issuers.clone(),
                source,
            ));
        }
        self
    }

    /// The settings.
    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// The current time, unix seconds.
    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The local object id under which the principal `oid` of the trusted issuer `issuer`
    /// acts in `tenant`, or `None` when that issuer is not trusted for that tenant. Grants
    /// (role assignments, access policies) name this id, never the issuer's `oid`.
    pub fn external_principal_id(
        &self,
        tenant: uuid::Uuid,
        issuer: &str,
        oid: uuid::Uuid,
    ) -> Option<uuid::Uuid> {
        let trusted = self.external.as_ref()?.find(issuer)?;
        (trusted.tenant == tenant).then(|| external::external_object_id(issuer, oid))
    }

    /// The issuer of `tenant`'s tokens.
    pub fn issuer(&self, tenant: uuid::Uuid) -> String {
        format!("{}/{tenant}/v2.0", self.settings.authority)
    }
}
