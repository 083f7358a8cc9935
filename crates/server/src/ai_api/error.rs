//! The platform layer's mapping to the AI data plane's wire errors.

use axum::http::StatusCode;
use keyhold_platform::PlatformError;

use crate::http::ApiError;
use crate::http::api_version::{self, Plane, VersionError};

/// The platform layer's mapping for the data plane (OpenAI-style bodies).
pub(crate) fn platform_error(err: PlatformError) -> ApiError {
    let status = match &err {
        PlatformError::ObjectNotFound { .. } | PlatformError::AccountNotFound(_) => {
            StatusCode::NOT_FOUND
        }
        PlatformError::CustomerManagedKeyAccessDenied { .. } => StatusCode::FORBIDDEN,
        PlatformError::InvalidUpload(m) if m.contains("larger than") => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        PlatformError::InvalidUpload(_) | PlatformError::InvalidRequest(_) => {
            StatusCode::BAD_REQUEST
        }
        PlatformError::KeyVaultUnreachable(_) | PlatformError::UpstreamUnavailable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => return crate::arm::error::platform_error(err),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return ApiError::unavailable(err.to_string(), 5);
    }
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
