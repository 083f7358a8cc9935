//! The domain layers' mapping to ARM wire errors (`{"error":{"code","message"}}`), used by
//! every ARM handler and keyhold's directory API: one exhaustive `match` per domain error, so
//! a new variant does not compile until it has a status and code here.

use axum::http::StatusCode;
use keyhold_platform::PlatformError;
use keyhold_vault::VaultError;

use crate::http::{ApiError, api_version};

/// Maps a platform error to ARM's status and code.
pub fn platform_error(err: PlatformError) -> ApiError {
    use PlatformError as E;
    let status = match &err {
        E::AccountNotFound(_) | E::ObjectNotFound { .. } => StatusCode::NOT_FOUND,
        E::AccountNameTaken(_) | E::DeletedAccountExists(_) => StatusCode::CONFLICT,
        E::KeyVaultUnreachable(_) => StatusCode::BAD_GATEWAY,
        E::UpstreamUnavailable(_) => return ApiError::unavailable(err.to_string(), 5),
        E::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::InvalidRequest(_)
        | E::IdentityNotFound(_)
        | E::CmkVaultPurgeProtectionRequired(_)
        | E::CmkKeyTypeNotSupported { .. }
        | E::CmkKeySizeNotSupported { .. }
        | E::CmkKeyDisabled(_)
        | E::CmkKeyExpired(_)
        | E::CmkKeyOperationsMissing(_)
        | E::CmkKeyNotFound(_)
        | E::CmkIdentityMissing(_)
        | E::CmkIdentityNotAssigned(_)
        | E::CmkIdentityAccessDenied { .. }
        | E::CmkVaultRbacNotSupported(_)
        | E::CmkVaultRegionMismatch { .. }
        | E::CmkVaultTenantMismatch(_)
        | E::CmkTenantMoved { .. }
        | E::CmkVaultResourceGroupMismatch { .. }
        | E::CmkVaultFirewallBlocksTrustedServices(_)
        | E::CmkKeyVaultChangeNotAllowed { .. }
        | E::CmkApprovalRequired { .. }
        | E::CmkSwitchNotAllowed(_)
        | E::InvalidKeyVaultUri(_)
        | E::CustomerManagedKeyAccessDenied { .. }
        | E::InvalidUpload(_) => StatusCode::BAD_REQUEST,
        E::Store(_) | E::Identity(_) | E::Crypto(_) => {
            return match err {
                E::Store(e) => ApiError::from(e),
                E::Identity(e) => ApiError::from(e),
                other => ApiError::internal(&other),
            };
        }
    };
    ApiError::new(status, err.code(), err.to_string())
}

/// Maps a vault-service error from a `Microsoft.KeyVault` management call (or a tenant move)
/// to ARM's status and code: the Key Vault resource provider answers these with the same
/// codes and statuses as the data plane, so this is the data plane's mapping.
pub(crate) fn vault_error(err: VaultError) -> ApiError {
    crate::vault_api::vault_error(err)
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

#[cfg(test)]
mod tests {
    use keyhold_store::StoreError;

    use super::*;

    #[test]
    fn platform_errors_map_to_arm_codes() {
        let s = || "x".to_owned();
        let rows: Vec<(PlatformError, u16, &str)> = vec![
            (PlatformError::AccountNotFound(s()), 404, "ResourceNotFound"),
            (
                PlatformError::ObjectNotFound {
                    kind: "file",
                    id: s(),
                },
                404,
                "NotFound",
            ),
            (
                PlatformError::AccountNameTaken(s()),
                409,
                "CustomDomainInUse",
            ),
            (
                PlatformError::DeletedAccountExists(s()),
                409,
                "FlagMustBeSetForRestore",
            ),
            (
                PlatformError::KeyVaultUnreachable(s()),
                502,
                "KeyVaultUnreachable",
            ),
            (
                PlatformError::UpstreamUnavailable(s()),
                503,
                "ServiceUnavailable",
            ),
            (
                PlatformError::FileTooLarge { limit: 1 },
                413,
                "RequestEntityTooLarge",
            ),
            (PlatformError::InvalidRequest(s()), 400, "InvalidRequest"),
            (PlatformError::CmkKeyDisabled(s()), 400, "CmkKeyDisabled"),
            (
                PlatformError::CmkSwitchNotAllowed(s()),
                400,
                "CmkSwitchNotAllowed",
            ),
            (
                PlatformError::InvalidKeyVaultUri(s()),
                400,
                "InvalidKeyVaultUri",
            ),
            (
                PlatformError::Store(StoreError::Unavailable(s())),
                503,
                "ServiceUnavailable",
            ),
            (
                PlatformError::Store(StoreError::Conflict {
                    namespace: s(),
                    key: s(),
                    expected: keyhold_store::Precondition::Absent,
                    actual: Some(1),
                }),
                409,
                "Conflict",
            ),
            (
                PlatformError::Identity(keyhold_identity::IdentityError::SubscriptionNotFound(s())),
                404,
                "SubscriptionNotFound",
            ),
            (
                PlatformError::Crypto(keyhold_crypto::CryptoError::Rng),
                500,
                "InternalError",
            ),
        ];
        for (err, status, code) in rows {
            let label = format!("{err:?}");
            let api = platform_error(err);
            assert_eq!(
                (api.status().as_u16(), api.code()),
                (status, code),
                "{label}"
            );
        }
    }

    #[test]
    fn vault_errors_map_to_arm_codes() {
        let s = || "x".to_owned();
        let rows: Vec<(VaultError, u16, &str)> = vec![
            (VaultError::VaultNotFound(s()), 404, "VaultNotFound"),
            (
                VaultError::VaultAlreadyExists(s()),
                409,
                "VaultAlreadyExists",
            ),
            (VaultError::Conflict(s()), 409, "Conflict"),
            (VaultError::PurgeProtected(s()), 403, "Forbidden"),
            (VaultError::BadParameter(s()), 400, "BadParameter"),
            (
                VaultError::Store(StoreError::Unavailable(s())),
                503,
                "ServiceUnavailable",
            ),
        ];
        for (err, status, code) in rows {
            let label = format!("{err:?}");
            let api = vault_error(err);
            assert_eq!(
                (api.status().as_u16(), api.code()),
                (status, code),
                "{label}"
            );
        }
    }
}
