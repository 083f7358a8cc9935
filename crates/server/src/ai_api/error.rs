//! The domain layers' mapping to the AI data plane's wire errors. The OpenAI plane has its
//! own statuses (a key that cannot be used is 403, an upstream or a vault that does not
//! answer is 503), so it maps every platform error itself, exhaustively, and never falls back
//! to another protocol's mapping.

use axum::http::StatusCode;
use keyhold_platform::PlatformError;

use crate::http::ApiError;
use crate::http::api_version::{self, Plane, VersionError};

/// Maps a platform error to the data plane's status and code.
pub(crate) fn platform_error(err: PlatformError) -> ApiError {
    use PlatformError as E;
    let status = match &err {
        E::ObjectNotFound { .. } | E::AccountNotFound(_) => StatusCode::NOT_FOUND,
        // The account's key cannot be used: whatever the cause, the data is not readable now.
        E::CustomerManagedKeyAccessDenied { .. }
        | E::CmkKeyDisabled(_)
        | E::CmkKeyExpired(_)
        | E::CmkKeyNotFound(_)
        | E::CmkIdentityAccessDenied { .. }
        | E::CmkTenantMoved { .. } => StatusCode::FORBIDDEN,
        E::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::KeyVaultUnreachable(_) | E::UpstreamUnavailable(_) => {
            return ApiError::unavailable(err.to_string(), 5);
        }
        E::AccountNameTaken(_) | E::DeletedAccountExists(_) => StatusCode::CONFLICT,
        E::InvalidUpload(_)
        | E::InvalidRequest(_)
        | E::IdentityNotFound(_)
        | E::CmkVaultPurgeProtectionRequired(_)
        | E::CmkKeyTypeNotSupported { .. }
        | E::CmkKeySizeNotSupported { .. }
        | E::CmkKeyOperationsMissing(_)
        | E::CmkIdentityMissing(_)
        | E::CmkIdentityNotAssigned(_)
        | E::CmkVaultRbacNotSupported(_)
        | E::CmkVaultRegionMismatch { .. }
        | E::CmkVaultTenantMismatch(_)
        | E::CmkVaultResourceGroupMismatch { .. }
        | E::CmkVaultFirewallBlocksTrustedServices(_)
        | E::CmkKeyVaultChangeNotAllowed { .. }
        | E::CmkApprovalRequired { .. }
        | E::CmkSwitchNotAllowed(_)
        | E::InvalidKeyVaultUri(_) => StatusCode::BAD_REQUEST,
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

/// Checks the `api-version` of a dated path: the published Azure OpenAI versions, newer ones,
/// and the `preview` and `latest` aliases; refusals in the data plane's shape.
pub(crate) fn api_version(uri: &axum::http::Uri) -> Result<(), ApiError> {
    if let Some(alias) = api_version::query_param(uri, "api-version")
        && matches!(alias.as_str(), "preview" | "latest")
    {
        return Ok(());
    }
    match api_version::require(uri, Plane::OpenAi) {
        Ok(_) => Ok(()),
        Err(VersionError::Missing { .. }) => Err(ApiError::bad_request(
            "BadRequest",
            format!(
                "Missing the api-version query parameter (for example api-version={}), or use the /openai/v1/ paths.",
                Plane::OpenAi.newest_stable()
            ),
        )),
        Err(VersionError::Invalid { version, .. }) => Err(ApiError::bad_request(
            "BadRequest",
            format!(
                "api-version {version:?} is not supported; use {} or later, preview, or the /openai/v1/ paths.",
                Plane::OpenAi.newest_stable()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use keyhold_store::StoreError;

    use super::*;

    #[test]
    fn platform_errors_map_to_data_plane_codes() {
        let s = || "x".to_owned();
        let rows: Vec<(PlatformError, u16, &str)> = vec![
            (
                PlatformError::ObjectNotFound {
                    kind: "file",
                    id: s(),
                },
                404,
                "NotFound",
            ),
            (PlatformError::AccountNotFound(s()), 404, "ResourceNotFound"),
            (
                PlatformError::CustomerManagedKeyAccessDenied {
                    account: s(),
                    key: s(),
                    cause: s(),
                },
                403,
                "CustomerManagedKeyAccessDenied",
            ),
            (PlatformError::CmkKeyDisabled(s()), 403, "CmkKeyDisabled"),
            (
                PlatformError::FileTooLarge { limit: 10 },
                413,
                "RequestEntityTooLarge",
            ),
            (PlatformError::InvalidUpload(s()), 400, "invalidPayload"),
            (PlatformError::InvalidRequest(s()), 400, "InvalidRequest"),
            (
                PlatformError::KeyVaultUnreachable(s()),
                503,
                "ServiceUnavailable",
            ),
            (
                PlatformError::UpstreamUnavailable(s()),
                503,
                "ServiceUnavailable",
            ),
            (
                PlatformError::Store(StoreError::Unavailable(s())),
                503,
                "ServiceUnavailable",
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
}
