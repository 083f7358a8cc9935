//! The HTTP error type and the one mapping from each layer's typed errors to wire errors.
//!
//! Bodies have Azure's shape, `{"error":{"code":"…","message":"…"}}`. Security rules:
//! - 5xx bodies are generic ("internal error", with the request id to quote in a support
//!   request); the cause is logged server-side only, never sent.
//! - Messages never contain key material, tokens or secrets; the domain errors that feed
//!   them are built so that their `Display` is safe.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyhold_identity::IdentityError;
use keyhold_store::StoreError;
use serde_json::json;

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    retry_after_secs: Option<u32>,
    challenge: Option<String>,
    allow: Option<&'static str>,
    inner_code: Option<&'static str>,
}

impl ApiError {
    /// A client error with an explicit status and code.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after_secs: None,
            challenge: None,
            allow: None,
            inner_code: None,
        }
    }

    /// Adds Azure's `innererror.code` (e.g. `ObjectIsDeletedButRecoverable`).
    pub fn with_inner_code(mut self, code: &'static str) -> Self {
        self.inner_code = Some(code);
        self
    }

    /// 400 with Azure's generic code.
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 for a path no route matches.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no API answers {method} {path}"),
        )
    }

    /// 405 with the methods the path accepts.
    pub fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("method {method} is not allowed here; allowed: {allow}"),
        );
        err.allow = Some(allow);
        err
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    }

    /// 401 with a `WWW-Authenticate` challenge.
    pub fn unauthorized(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        challenge: String,
    ) -> Self {
        let mut err = Self::new(StatusCode::UNAUTHORIZED, code, message);
        err.challenge = Some(challenge);
        err
    }

    /// 503 that clients should retry after `secs`.
    pub fn unavailable(message: impl Into<String>, secs: u32) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            message,
        );
        err.retry_after_secs = Some(secs);
        err
    }

    /// 500: logs `cause` with the request context and answers a generic body.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "internal error; quote the x-ms-request-id header when reporting it",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The wire error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The wire message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Azure's `innererror.code`, if any.
    pub fn inner_code(&self) -> Option<&'static str> {
        self.inner_code
    }
}

/// The wire code of an error answer, carried in the response's extensions so the request log
/// can name it (the body is never logged).
#[derive(Debug, Clone)]
pub struct ErrorCode(pub Cow<'static, str>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.inner_code {
            Some(inner) => json!({ "error": {
                "code": self.code,
                "message": self.message,
                "innererror": { "code": inner },
            } }),
            None => json!({ "error": { "code": self.code, "message": self.message } }),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response
            .extensions_mut()
            .insert(ErrorCode(self.code.clone()));
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// The store layer's mapping. Conflicts surface as 409 (a concurrent writer won); transient
/// engine trouble as 503 with `Retry-After`; everything else is an internal error.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "Conflict",
                "the resource was changed concurrently; read it again and retry",
            ),
            StoreError::TooLarge { what, limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("{what} exceeds the limit of {limit} bytes"),
            ),
            StoreError::Unavailable(_) | StoreError::Locked(_) => {
                tracing::warn!(error = %err, "store unavailable");
                ApiError::unavailable("storage is temporarily unavailable; retry", 1)
            }
            // Record keys are built from names and ids in requests: one the store cannot
            // hold (over 1 KiB, or with a NUL) is the request's fault, not an internal error.
            StoreError::InvalidKey(_) => ApiError::bad_request(
                "InvalidParameter",
                "a name or id in the request is too long (at most 1024 bytes) or contains a NUL character",
            ),
            StoreError::NotFound(_)
            | StoreError::Corrupt(_)
            | StoreError::Decode(_)
            | StoreError::Io(_)
            | StoreError::Engine(_) => ApiError::internal(&err),
        }
    }
}

/// The identity layer's mapping to wire errors.
impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        use axum::http::StatusCode;
        match err {
            IdentityError::TenantNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "TenantNotFound", err.to_string())
            }
            IdentityError::SubscriptionNotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                "SubscriptionNotFound",
                format!("The subscription '{id}' could not be found."),
            ),
            IdentityError::ResourceGroupNotFound(name) => ApiError::new(
                StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                format!("Resource group '{name}' could not be found."),
            ),
            IdentityError::PrincipalNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "PrincipalNotFound", err.to_string())
            }
            IdentityError::InvalidClient { .. } => {
                ApiError::new(StatusCode::UNAUTHORIZED, "InvalidClient", err.to_string())
            }
            IdentityError::PrincipalDisabled(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "PrincipalDisabled", err.to_string())
            }
            IdentityError::InvalidScope(_) => {
                ApiError::bad_request("InvalidScope", err.to_string())
            }
            IdentityError::InvalidName { .. } => {
                ApiError::bad_request("InvalidParameter", err.to_string())
            }
            IdentityError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "Conflict", err.to_string())
            }
            IdentityError::Store(e) => ApiError::from(e),
            IdentityError::Crypto(e) => ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn shape_and_headers() {
        let response = ApiError::unavailable("busy", 3).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let body = body_json(response).await;
        assert_eq!(body["error"]["code"], "ServiceUnavailable");
        assert_eq!(body["error"]["message"], "busy");
    }

    #[tokio::test]
    async fn internal_errors_are_generic() {
        let response = ApiError::internal(&"secret detail /path/to/file").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = body_json(response).await.to_string();
        assert!(!text.contains("secret detail"));
        assert!(text.contains("InternalError"));
    }

    #[test]
    fn store_errors_map_by_kind() {
        let cases: Vec<(StoreError, StatusCode)> = vec![
            (
                StoreError::Unavailable("db down".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                StoreError::TooLarge {
                    what: "record",
                    limit: 10,
                },
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                StoreError::Corrupt("x".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            (
                StoreError::Engine("x".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(ApiError::from(err).status(), status);
        }
    }

    #[tokio::test]
    async fn challenge_and_allow_headers() {
        let response = ApiError::unauthorized("Unauthorized", "no token", "Bearer x=\"y\"".into())
            .into_response();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer x=\"y\""
        );
        let response = ApiError::method_not_allowed("PUT", "GET, HEAD").into_response();
        assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
    }
}
