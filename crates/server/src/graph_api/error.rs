//! Microsoft Graph's error shape, and the one mapping to it from the errors the Graph API
//! meets: `{"error":{"code","message","innerError":{"date","request-id"}}}` with Graph's codes
//! (`Request_ResourceNotFound`, `Request_BadRequest`, `Authorization_RequestDenied`,
//! `InvalidAuthenticationToken`, …). Headers of the shared errors (the 401 challenge,
//! `Retry-After`) are kept; only the body changes.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyhold_identity::IdentityError;
use serde_json::json;

use crate::http::ApiError;

/// A Graph error answer.
#[derive(Debug)]
pub struct GraphError(ApiError);

impl GraphError {
    /// 404 `Request_ResourceNotFound` for an object id that names nothing in the tenant.
    pub fn not_found(id: &str) -> Self {
        GraphError(ApiError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        ))
    }

    /// 400 `Request_BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        GraphError(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            message,
        ))
    }

    /// 400 `Request_UnsupportedQuery` for an OData query keyhold does not evaluate.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        GraphError(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            message,
        ))
    }

    /// 400 `BadRequest` with Graph's text for `/me` called with an application token.
    pub fn me_needs_a_user() -> Self {
        GraphError(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ))
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.0.status()
    }

    /// Graph's code for the answer.
    pub fn code(&self) -> &'static str {
        graph_code(self.0.status(), self.0.code())
    }
}

/// Graph's code for a shared error's status and code.
fn graph_code(status: StatusCode, code: &str) -> &'static str {
    match (status.as_u16(), code) {
        (404, "Request_ResourceNotFound") => "Request_ResourceNotFound",
        (400, "Request_UnsupportedQuery") => "Request_UnsupportedQuery",
        (400, "BadRequest") => "BadRequest",
        (401, _) => "InvalidAuthenticationToken",
        (403, _) => "Authorization_RequestDenied",
        (404, _) => "Request_ResourceNotFound",
        (409, _) => "Request_MultipleObjectsWithSameKeyValue",
        (413, _) => "Request_EntityTooLarge",
        (503, _) => "serviceNotAvailable",
        (s, _) if s >= 500 => "generalException",
        _ => "Request_BadRequest",
    }
}

impl From<ApiError> for GraphError {
    fn from(err: ApiError) -> Self {
        GraphError(err)
    }
}

/// The identity layer's errors, as Graph words them.
impl From<IdentityError> for GraphError {
    fn from(err: IdentityError) -> Self {
        match &err {
            IdentityError::PrincipalNotFound(id) => GraphError::not_found(id),
            IdentityError::InvalidName { .. } => GraphError::bad_request(err.to_string()),
            _ => GraphError(ApiError::from(err)),
        }
    }
}

impl From<keyhold_store::StoreError> for GraphError {
    fn from(err: keyhold_store::StoreError) -> Self {
        GraphError(ApiError::from(err))
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let code = graph_code(status, self.0.code());
        let body = json!({ "error": {
            "code": code,
            "message": self.0.message(),
            "innerError": { "date": crate::http::rfc3339(keyhold_platform::Platform::now()) },
        } });
        let mut response = self.0.into_response();
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::from(bytes);
        response
    }
}
