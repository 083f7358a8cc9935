//! The vault layer's mapping to Key Vault wire errors.

use axum::http::StatusCode;
use keyhold_vault::VaultError;

use crate::http::ApiError;
use crate::http::api_version::{self, Accepted, Plane, VersionError};

/// The vault layer's one mapping to wire errors (Azure Key Vault codes and statuses).
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
    let code = err.code();
    let inner = err.inner_code();
    let api = ApiError::new(status, code, err.to_string());
    match inner {
        Some(inner) => api.with_inner_code(inner),
        None => api,
    }
}

/// The request's `api-version`, or Key Vault's own 400 (`BadParameter`, naming the newest
/// stable version as the service does).
pub(crate) fn api_version(uri: &axum::http::Uri) -> Result<Accepted, ApiError> {
    api_version::require(uri, Plane::KeyVaultData).map_err(|err| match err {
        VersionError::Missing { .. } => ApiError::bad_request(
            "BadParameter",
            "The api-version query parameter is missing. Consider using the latest supported version.",
        ),
        VersionError::Invalid { version, .. } => ApiError::bad_request(
            "BadParameter",
            format!(
                "The specified version ({version}) is not recognized. Consider using the latest supported version ({}).",
                Plane::KeyVaultData.newest_stable()
            ),
        ),
    })
}
