//! Identity errors. Every `Display` is safe to send to a client: no secrets, no token text.

use keyhold_crypto::CryptoError;
use keyhold_store::StoreError;

/// Why a client could not authenticate with its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidClientReason {
    /// No application with that client id in the tenant (Entra AADSTS700016).
    UnknownClient,
    /// The secret does not match or has expired (Entra AADSTS7000215).
    WrongSecret,
}

/// A directory or token-service failure.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Unknown tenant.
    #[error("tenant {0} not found")]
    TenantNotFound(String),
    /// Unknown subscription.
    #[error("subscription {0} not found")]
    SubscriptionNotFound(String),
    /// Unknown resource group.
    #[error("resource group {0} not found")]
    ResourceGroupNotFound(String),
    /// Unknown principal (object id, client id or resource).
    #[error("principal {0} not found")]
    PrincipalNotFound(String),
    /// Client authentication failed.
    #[error("invalid client {client_id}: {reason:?}")]
    InvalidClient {
        /// The client id presented.
        client_id: String,
        /// Why.
        reason: InvalidClientReason,
    },
    /// The principal is disabled.
    #[error("principal {0} is disabled")]
    PrincipalDisabled(String),
    /// The requested scope names no known resource.
    #[error("scope {0:?} names no resource this server issues tokens for")]
    InvalidScope(String),
    /// A name or value breaks the rules; says which and why.
    #[error("invalid {what}: {reason}")]
    InvalidName {
        /// The field.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A concurrent change won; retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Crypto failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Why a bearer token was rejected. Each case has its own stable wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than the limit.
    #[error("the token is larger than {0} bytes")]
    Oversized(usize),
    /// Not a well-formed JWT with the required claims.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// A part is not unpadded base64url.
    #[error("the token is not base64url-encoded")]
    BadEncoding,
    /// The header or claims are not JSON objects.
    #[error("the token header or claims are not JSON")]
    BadJson,
    /// `alg` is `none`: an unsigned token.
    #[error("unsigned tokens (alg none) are never accepted")]
    Unsigned,
    /// `alg` is not RS256 (HMAC algorithms are never accepted).
    #[error("the token algorithm {0:?} is not allowed; only RS256")]
    UnsupportedAlgorithm(String),
    /// The `kid` is not among the issuer's signing keys.
    #[error("the token was signed with an unknown key")]
    UnknownSigningKey,
    /// The signature does not verify.
    #[error("the token signature is invalid")]
    InvalidSignature,
    /// `iss` is not the expected issuer.
    #[error("the token issuer is not trusted")]
    InvalidIssuer,
    /// `aud` is not this API.
    #[error("the token audience {0:?} is not valid for this API")]
    InvalidAudience(String),
    /// Past `exp`.
    #[error("the token expired")]
    Expired,
    /// Before `nbf`.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Issued by another tenant than the resource's.
    #[error("the token is from another tenant")]
    WrongTenant,
    /// The principal no longer exists.
    #[error("the principal of this token no longer exists")]
    PrincipalNotFound,
    /// The principal is disabled.
    #[error("the principal of this token is disabled")]
    PrincipalDisabled,
    /// Validation could not complete (storage unavailable).
    #[error("token validation is temporarily unavailable")]
    Unavailable,
}

impl TokenError {
    /// The wire error code (ARM's codes where ARM has one).
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Oversized(_) => "TokenTooLarge",
            TokenError::Malformed(_) => "InvalidAuthenticationToken",
            TokenError::BadEncoding => "InvalidAuthenticationTokenEncoding",
            TokenError::BadJson => "InvalidAuthenticationTokenJson",
            TokenError::Unsigned => "InvalidAuthenticationTokenUnsigned",
            TokenError::UnsupportedAlgorithm(_) => "InvalidAuthenticationTokenAlgorithm",
            TokenError::UnknownSigningKey => "InvalidAuthenticationTokenSigningKey",
            TokenError::InvalidSignature => "InvalidAuthenticationTokenSignature",
            TokenError::InvalidIssuer => "InvalidAuthenticationTokenIssuer",
            TokenError::InvalidAudience(_) => "InvalidAuthenticationTokenAudience",
            TokenError::Expired => "ExpiredAuthenticationToken",
            TokenError::NotYetValid => "AuthenticationTokenNotYetValid",
            TokenError::WrongTenant => "InvalidAuthenticationTokenTenant",
            TokenError::PrincipalNotFound => "PrincipalNotFound",
            TokenError::PrincipalDisabled => "PrincipalDisabled",
            TokenError::Unavailable => "AuthenticationUnavailable",
        }
    }
}
