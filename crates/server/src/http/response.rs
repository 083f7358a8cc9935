//! The response side shared by every API: JSON and empty answers, RFC 3339 times.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A JSON response with a status.
pub fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A response with no body and the given status (HEAD-style answers, 204s).
pub fn empty(status: StatusCode) -> Response {
    (status, Body::empty()).into_response()
}

/// RFC 3339 time of a unix timestamp.
pub fn rfc3339(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
