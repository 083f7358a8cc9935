//! The vault layer's mapping to Key Vault data-plane wire errors (Azure Key Vault's codes,
//! statuses and inner codes), one exhaustive `match`.

use axum::http::StatusCode;
use keyhold_vault::VaultError;

use crate::http::ApiError;
use crate::http::api_version::{self, Accepted, Plane, VersionError};

/// The vault layer's one mapping to wire errors.
pub(crate) fn vault_error(err: VaultError) -> ApiError {
    use VaultError as E;
    let status = match &err {
        E::VaultNotFound(_) | E::KeyNotFound(_) | E::DeletedKeyNotFound(_) => StatusCode::NOT_FOUND,
        E::VaultAlreadyExists(_) | E::DeletedButRecoverable(_) | E::Conflict(_) => {
            StatusCode::CONFLICT
        }
        E::KeyNotUsable { .. } | E::PurgeProtected(_) | E::OperationNotPermitted { .. } => {
            StatusCode::FORBIDDEN
        }
        E::BadParameter(_) | E::DecryptionFailed => StatusCode::BAD_REQUEST,
        E::Store(_) | E::Crypto(_) => {
            return match err {
                E::Store(e) => ApiError::from(e),
                other => ApiError::internal(&other),
            };
        }
    };
    let api = ApiError::new(status, err.code(), err.to_string());
    match err.inner_code() {
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

#[cfg(test)]
mod tests {
    use keyhold_store::StoreError;

    use super::*;

    #[test]
    fn vault_errors_map_to_key_vault_codes() {
        let s = || "x".to_owned();
        let rows: Vec<(VaultError, u16, &str, Option<&str>)> = vec![
            (VaultError::VaultNotFound(s()), 404, "VaultNotFound", None),
            (VaultError::KeyNotFound(s()), 404, "KeyNotFound", None),
            (
                VaultError::DeletedKeyNotFound(s()),
                404,
                "KeyNotFound",
                None,
            ),
            (
                VaultError::DeletedButRecoverable(s()),
                409,
                "Conflict",
                Some("ObjectIsDeletedButRecoverable"),
            ),
            (
                VaultError::KeyNotUsable { op: s(), key: s() },
                403,
                "Forbidden",
                Some("KeyDisabled"),
            ),
            (
                VaultError::OperationNotPermitted { op: s(), key: s() },
                403,
                "Forbidden",
                Some("KeyOperationForbidden"),
            ),
            (
                VaultError::PurgeProtected(s()),
                403,
                "Forbidden",
                Some("PurgeProtectionEnabled"),
            ),
            (VaultError::BadParameter(s()), 400, "BadParameter", None),
            (VaultError::DecryptionFailed, 400, "BadParameter", None),
            (VaultError::Conflict(s()), 409, "Conflict", None),
            (
                VaultError::Store(StoreError::Unavailable(s())),
                503,
                "ServiceUnavailable",
                None,
            ),
            (
                VaultError::Crypto(keyhold_crypto::CryptoError::Rng),
                500,
                "InternalError",
                None,
            ),
        ];
        for (err, status, code, inner) in rows {
            let label = format!("{err:?}");
            let api = vault_error(err);
            assert_eq!(
                (api.status().as_u16(), api.code(), api.inner_code()),
                (status, code, inner),
                "{label}"
            );
        }
    }
}
