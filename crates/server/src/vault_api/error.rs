//! The vault layer's mapping to Key Vault wire errors.

use axum::http::StatusCode;
use keyhold_vault::VaultError;

use crate::http::ApiError;

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
