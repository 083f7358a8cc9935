//! The platform layer's mapping to the AI data plane's wire errors.

use axum::http::StatusCode;
use keyhold_platform::PlatformError;

use crate::http::ApiError;

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
