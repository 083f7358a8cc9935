//! The axum application: one dispatcher that parses every request into a [`Route`] and calls
//! its handler, wrapped in the request-context middleware.

use std::time::Instant;

use axum::Router;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::Instrument;

use crate::http::ApiError;
use crate::routes::{Route, RouteError, classify_host};
use crate::state::AppState;
use crate::{ai_api, arm, directory, graph_api, identity_api, vault_api};

/// Header carrying keyhold's id for the request (Azure's name).
pub const REQUEST_ID: &str = "x-ms-request-id";
/// Header a client may send with its own id; echoed back (Azure's name).
pub const CLIENT_REQUEST_ID: &str = "x-ms-client-request-id";

/// Builds the application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .fallback(dispatch)
        .with_state(state)
        .layer(middleware::from_fn(request_context))
}

/// The request's host: the `Host` header (HTTP/1.1) or the URI authority (HTTP/2).
fn request_host(request: &Request) -> String {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// Longest path answered, and longest segment of it: no name or id keyhold stores is longer
/// than a store key (1 KiB), so longer requests are refused before any handler reads them.
const MAX_PATH: usize = 8 * 1024;
const MAX_SEGMENT: usize = 1024;

async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if path.len() > MAX_PATH || path.split('/').any(|s| s.len() > MAX_SEGMENT) {
        return ApiError::bad_request(
            "InvalidRequestUri",
            format!(
                "the request path is too long: at most {MAX_PATH} bytes, and {MAX_SEGMENT} bytes per segment"
            ),
        )
        .into_response();
    }
    let config = state.config();
    let host = classify_host(
        &request_host(&request),
        &config.vault_domain,
        &config.ai_domain,
    );
    let route = match Route::parse(&host, request.method(), request.uri().path()) {
        Ok(route) => route,
        Err(RouteError::NotFound) => {
            return ApiError::no_route(request.method().as_str(), request.uri().path())
                .into_response();
        }
        Err(RouteError::MethodNotAllowed(allow)) => {
            return ApiError::method_not_allowed(request.method().as_str(), allow).into_response();
        }
    };
    match route {
        Route::Health => axum::Json(json!({ "status": "ok" })).into_response(),
        Route::Ready => ready(&state).await,
        Route::OpenIdConfiguration { tenant } => {
            identity_api::openid_configuration(&state, &tenant).await
        }
        Route::Jwks { tenant } => identity_api::jwks(&state, &tenant).await,
        Route::Token { tenant } => {
            let (parts, body) = request.into_parts();
            identity_api::token(&state, &tenant, &parts.headers, body).await
        }
        Route::ManagedIdentityToken => {
            let (head, _) = crate::http::RequestHead::split(request);
            identity_api::managed_identity_token(&state, head.uri(), head.headers()).await
        }
        Route::Metrics => {
            let (head, _) = crate::http::RequestHead::split(request);
            crate::metrics_api::handle(&state, &head).await
        }
        Route::Arm(route) => arm::handle(&state, route, request).await,
        Route::Directory(route) => directory::handle(&state, route, request).await,
        Route::Graph(route) => graph_api::handle(&state, route, request).await,
        Route::Vault { vault, route } => vault_api::handle(&state, &vault, route, request).await,
        Route::Ai { account, v1, route } => {
            ai_api::handle(&state, &account, v1, route, request).await
        }
    }
}

/// Ready when the record store answers a read.
async fn ready(state: &AppState) -> Response {
    match state.records().get("system", "master-key-check").await {
        Ok(_) => axum::Json(json!({ "status": "ready" })).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            ApiError::unavailable("storage is not answering", 1).into_response()
        }
    }
}

/// Assigns a request id, echoes the client's, and records one trace span per request.
/// Request bodies, query strings and headers are not logged (they may carry credentials).
async fn request_context(request: Request, next: Next) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id = request
        .headers()
        .get(CLIENT_REQUEST_ID)
        .filter(|v| v.len() <= 128)
        .cloned();
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let code = response
        .extensions()
        .get::<crate::http::error::ErrorCode>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    // One line per failed request with its id, status and wire code (never bodies, queries
    // or headers): 5xx as warnings, 4xx at info; successes at debug.
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), code = %code, elapsed_ms, "request failed");
        } else if status.is_client_error() {
            tracing::info!(status = status.as_u16(), code = %code, elapsed_ms, "request refused");
        } else {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "request done");
        }
    });
    set_ids(response.headers_mut(), &request_id, client_request_id);
    set_security_headers(response.headers_mut());
    response
}

/// Headers every answer carries: HTTPS only from now on (keyhold serves nothing over plain
/// HTTP), and no content sniffing (downloads are ciphertext-backed bytes a browser must not
/// reinterpret as a page).
fn set_security_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn set_ids(headers: &mut HeaderMap, request_id: &str, client: Option<HeaderValue>) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some(value) = client {
        headers.insert(CLIENT_REQUEST_ID, value);
    }
}
