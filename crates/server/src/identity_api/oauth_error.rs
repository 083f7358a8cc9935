//! OAuth 2.0 error answers of the token endpoints, in Entra's shape:
//! `{"error","error_description":"AADSTS…: …","error_codes":[…],"timestamp","trace_id","correlation_id"}`.
//! MSAL and azure-identity read `error` and `error_description`; the AADSTS numbers match
//! Entra's so that scripts grepping for them keep working.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One OAuth error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    aadsts: u32,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, aadsts: u32, description: String) -> Self {
        Self {
            status,
            error,
            aadsts,
            description,
        }
    }

    /// A required form field is missing or malformed.
    pub fn invalid_request(aadsts: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            aadsts,
            description.into(),
        )
    }

    /// The tenant in the path does not exist.
    pub fn tenant_not_found(tenant: &str) -> Self {
        Self::invalid_request(
            90002,
            format!("Tenant '{tenant}' not found. Check that the tenant id is right."),
        )
    }

    /// Only the client credentials grant is supported.
    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!(
                "The app requested an unsupported grant type '{grant}'; keyhold supports client_credentials."
            ),
        )
    }

    /// The scope names no known resource.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            description.into(),
        )
    }

    /// Unknown application.
    pub fn unknown_client(client_id: &str, tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        )
    }

    /// Wrong or expired secret.
    pub fn invalid_secret(client_id: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided for app '{client_id}'. Ensure the secret being sent is the client secret value, not the secret ID."
            ),
        )
    }

    /// The principal is disabled.
    pub fn disabled(client_id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            7000112,
            format!("Application '{client_id}' is disabled."),
        )
    }

    /// A failure on keyhold's side: logged, answered generically.
    pub fn server_error(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "token endpoint failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            "There was an error issuing a token; retry.".into(),
        )
    }

    /// The OAuth error code.
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let now = time::OffsetDateTime::now_utc();
        let timestamp = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let trace = uuid::Uuid::new_v4();
        let body = json!({
            "error": self.error,
            "error_description": format!("AADSTS{}: {}", self.aadsts, self.description),
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace,
            "correlation_id": trace,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .extensions_mut()
            .insert(crate::http::error::ErrorCode(std::borrow::Cow::Owned(
                format!("{}/AADSTS{}", self.error, self.aadsts),
            )));
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entra_shape() {
        let response = OAuthError::invalid_secret("abc").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_codes"][0], 7000215);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("AADSTS7000215: ")
        );
    }
}
