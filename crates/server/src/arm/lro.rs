//! The long-running-operation protocol the ARM SDK pollers follow: an accepted write answers
//! with `Azure-AsyncOperation` naming an operation record (whose status says `Succeeded`),
//! `Location`, and `Retry-After: 1` (a zero or missing value would make the pollers wait 30 s).
//!
//! `Location` is what Azure's is: the URL whose answer, once the operation is done, is its
//! result. For a PUT or PATCH that is the resource itself (the request's own URL), so a poller
//! that follows `Location` (JavaScript's `beginUpdateAndWait`, Python's `final-state-via:
//! location`) ends with the resource, not the operation status; for a DELETE it is the
//! operation record, which answers 200 once the resource is gone.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use keyhold_identity::Subscription;
use keyhold_store::{Precondition, RecordStoreExt, Versioned};
use serde::{Deserialize, Serialize};

use crate::http::{ApiError, RequestHead};
use crate::state::AppState;

/// The table of operation records.
pub(crate) const OPERATIONS: &str = "arm.operations";

/// A finished long-running operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// The subscription it ran in: its result is readable only there.
    #[serde(default)]
    pub(crate) subscription: Option<uuid::Uuid>,
}
impl Versioned for Operation {
    const KIND: &'static str = "arm.operation";
    const SCHEMA: u16 = 1;
}

/// What a finished operation leaves behind, for its `Location` header.
pub(crate) enum Finished<'a> {
    /// A PUT or PATCH: the resource at the request's own URL.
    Resource(&'a RequestHead),
    /// A DELETE: nothing (the operation record answers).
    Deleted,
}

/// Records a finished operation and adds the polling headers to `response`.
pub(crate) async fn with_operation(
    state: &AppState,
    sub: &Subscription,
    location: &str,
    mut response: Response,
    finished: Finished<'_>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = keyhold_platform::Platform::now();
    let op = Operation {
        id: id.clone(),
        status: "Succeeded".into(),
        start: now,
        end: now,
        subscription: Some(sub.id),
    };
    state
        .records()
        .put_typed(OPERATIONS, &id, &op, Precondition::Absent)
        .await?;
    let url = format!(
        "{}/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{location}/operationResults/{id}?api-version=2025-09-01",
        state.service_url(),
        sub.id
    );
    let result_url = match finished {
        Finished::Resource(request) => format!(
            "{}{}",
            state.service_url(),
            request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path(), |p| p.as_str())
        ),
        Finished::Deleted => url.clone(),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&url) {
        headers.insert("azure-asyncoperation", value);
    }
    if let Ok(value) = HeaderValue::from_str(&result_url) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Ok(response)
}

/// The answer to a PUT or PATCH that wrote a long-running resource: `201` when it created it,
/// `200` when it changed it, the resource as the body, and the polling headers (`Location`
/// names the resource, so pollers that follow it end with the resource).
pub(crate) async fn written(
    state: &AppState,
    sub: &Subscription,
    location: &str,
    request: &RequestHead,
    created: bool,
    resource: serde_json::Value,
) -> Result<Response, ApiError> {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let response = crate::http::json(status, resource);
    with_operation(state, sub, location, response, Finished::Resource(request)).await
}

/// The answer to a DELETE of a long-running resource: `202` with the polling headers when
/// there was one (in `location`), `204` when there was nothing to delete, as ARM answers.
pub(crate) async fn deleted(
    state: &AppState,
    sub: &Subscription,
    location: Option<&str>,
) -> Result<Response, ApiError> {
    match location {
        Some(location) => {
            let response = crate::http::empty(StatusCode::ACCEPTED);
            with_operation(state, sub, location, response, Finished::Deleted).await
        }
        None => Ok(crate::http::empty(StatusCode::NO_CONTENT)),
    }
}
