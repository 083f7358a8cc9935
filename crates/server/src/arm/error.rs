//! The platform layer's mapping to ARM wire errors (`{"error":{"code","message"}}`), used by
//! every `Microsoft.CognitiveServices` and `Microsoft.MachineLearningServices` handler.

use axum::http::StatusCode;
use keyhold_platform::PlatformError;
use keyhold_vault::VaultError;

use crate::http::{ApiError, api_version};

/// Maps a platform error to ARM's status and code.
pub fn platform_error(err: PlatformError) -> ApiError {
    let status = match &err {
        PlatformError::AccountNotFound(_) => StatusCode::NOT_FOUND,
        PlatformError::AccountNameTaken(_) | PlatformError::DeletedAccountExists(_) => {
            StatusCode::CONFLICT
        }
        PlatformError::KeyVaultUnreachable(_) => StatusCode::BAD_GATEWAY,
        PlatformError::Store(_) => {
            return match err {
                PlatformError::Store(e) => ApiError::from(e),
                other => ApiError::internal(&other),
            };
        }
        PlatformError::Identity(_) => {
            return match err {
                PlatformError::Identity(e) => ApiError::from(e),
                other => ApiError::internal(&other),
            };
        }
        PlatformError::Crypto(_) => return ApiError::internal(&err),
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, err.code(), err.to_string())
}

/// Maps a vault-service error from a `Microsoft.KeyVault` management call (or a tenant move)
/// to ARM's status and code.
pub(crate) fn vault_error(err: VaultError) -> ApiError {
    if let VaultError::Store(inner) = err {
        return ApiError::from(inner);
    }
    let status = match &err {
        VaultError::VaultNotFound(_)
        | VaultError::KeyNotFound(_)
        | VaultError::DeletedKeyNotFound(_) => StatusCode::NOT_FOUND,
        VaultError::VaultAlreadyExists(_)
        | VaultError::DeletedButRecoverable(_)
        | VaultError::Conflict(_) => StatusCode::CONFLICT,
        VaultError::KeyNotUsable { .. }
        | VaultError::PurgeProtected(_)
        | VaultError::OperationNotPermitted { .. } => StatusCode::FORBIDDEN,
        VaultError::BadParameter(_) | VaultError::DecryptionFailed => StatusCode::BAD_REQUEST,
        _ => return ApiError::internal(&err),
    };
    let api = ApiError::new(status, err.code(), err.to_string());
    match err.inner_code() {
        Some(inner) => api.with_inner_code(inner),
        None => api,
    }
}

/// The request's `api-version` for `plane`, or ARM's 400: `MissingApiVersionParameter`, or
/// `InvalidApiVersionParameter` listing the supported versions (newest first), as ARM answers.
pub(crate) fn api_version(
    uri: &axum::http::Uri,
    plane: api_version::Plane,
) -> Result<api_version::Accepted, ApiError> {
    api_version::require(uri, plane).map_err(|err| match &err {
        api_version::VersionError::Missing { .. } => ApiError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ),
        api_version::VersionError::Invalid { plane, version } => ApiError::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{version}' is invalid for {}. The supported versions are '{}'.",
                plane.name(),
                err.supported()
            ),
        ),
    })
}
