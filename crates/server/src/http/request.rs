//! The request side shared by every API: the request head (method, URI, headers) that handlers
//! hold across awaits, bounded body reading and JSON bodies.

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::state::AppState;

/// The head of a request (method, URI, headers): `Sync`, so handlers can hold a reference
/// to it across awaits (a request body cannot be shared that way).
pub struct RequestHead(Parts);

impl RequestHead {
    /// Splits a request into its head and body.
    pub fn split(request: Request) -> (RequestHead, Body) {
        let (parts, body) = request.into_parts();
        (RequestHead(parts), body)
    }
    /// The method.
    pub fn method(&self) -> &Method {
        &self.0.method
    }
    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.0.uri
    }
    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }
    /// The request's extensions (connection info).
    pub fn extensions(&self) -> &axum::http::Extensions {
        &self.0.extensions
    }
}

/// Reads a request body of at most `limit` bytes; 413 above it.
pub async fn read_body(body: Body, limit: u64) -> Result<bytes::Bytes, ApiError> {
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit_usize)
        .await
        .map_err(|_| ApiError::payload_too_large(limit))
}

/// Parses a JSON request body (bounded by the configured `max_body_bytes`); a body that is
/// not valid JSON for `T` answers ARM's `InvalidRequestContent`.
pub async fn json_body<T: DeserializeOwned>(state: &AppState, body: Body) -> Result<T, ApiError> {
    let bytes = read_body(body, state.config().max_body_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}"),
        )
    })
}
