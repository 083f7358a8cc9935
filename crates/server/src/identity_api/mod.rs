//! Entra-shaped identity endpoints: the OAuth2 token endpoint (client credentials), OpenID
//! discovery, JWKS, and the App Service style managed-identity endpoint.

mod oauth_error;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use keyhold_identity::{IdentityError, InvalidClientReason, Principal, WorkloadSelector};
use serde_json::json;

pub use oauth_error::OAuthError;

use crate::http::ApiError;
use crate::http::api_version::query_param;
use crate::http::read_body;
use crate::state::AppState;

/// Token requests are small; a bigger body is refused before parsing.
const MAX_TOKEN_REQUEST: u64 = 64 * 1024;

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /{tenant}/oauth2/v2.0/token` (client credentials; extra fields such as `client_info`
/// and `claims`, which MSAL and the Azure CLI send, are accepted and ignored).
pub async fn token(
    state: &AppState,
    tenant_segment: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    match token_inner(state, tenant_segment, headers, body).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

async fn token_inner(
    state: &AppState,
    tenant_segment: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let identity = state.identity();
    let tenant = match identity.tenant_by_segment(tenant_segment).await {
        Ok(t) => t,
        Err(IdentityError::TenantNotFound(_)) => {
            return Err(OAuthError::tenant_not_found(tenant_segment));
        }
        Err(e) => return Err(OAuthError::server_error(&e)),
    };
    let bytes = read_body(body, MAX_TOKEN_REQUEST)
        .await
        .map_err(|_| OAuthError::invalid_request(900144, "The request body is too large."))?;
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
        OAuthError::invalid_request(
            900144,
            "The request body must be application/x-www-form-urlencoded.",
        )
    })?;
    let grant = form
        .get("grant_type")
        .map(String::as_str)
        .unwrap_or_default();
    if grant.is_empty() {
        return Err(OAuthError::invalid_request(
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ));
    }
    if grant != "client_credentials" {
        return Err(OAuthError::unsupported_grant_type(grant));
    }
    let (client_id, secret) = client_credentials(&form, headers)?;
    let scope = form
        .get("scope")
        .or_else(|| form.get("resource"))
        .ok_or_else(|| {
            OAuthError::invalid_request(
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        })?;
    let principal = match identity
        .authenticate_client_secret(tenant.id, &client_id, &secret)
        .await
    {
        Ok(p) => p,
        Err(IdentityError::InvalidClient {
            reason: InvalidClientReason::UnknownClient,
            ..
        }) => {
            return Err(OAuthError::unknown_client(&client_id, tenant_segment));
        }
        Err(IdentityError::InvalidClient { .. }) => {
            return Err(OAuthError::invalid_secret(&client_id));
        }
        Err(IdentityError::PrincipalDisabled(_)) => return Err(OAuthError::disabled(&client_id)),
        Err(e) => return Err(OAuthError::server_error(&e)),
    };
    let issued = match identity.issue_token(&principal, scope).await {
        Ok(t) => t,
        Err(IdentityError::InvalidScope(s)) => {
            return Err(OAuthError::invalid_scope(format!(
                "The resource principal named {s} was not found in the tenant; keyhold issues tokens for: {}.",
                identity.settings().audiences.join(", ")
            )));
        }
        Err(e) => return Err(OAuthError::server_error(&e)),
    };
    Ok(no_store(
        axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }))
        .into_response(),
    ))
}

/// Client id and secret from the form (`client_secret_post`) or HTTP Basic
/// (`client_secret_basic`).
fn client_credentials(
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(String, String), OAuthError> {
    if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        return Ok((id.clone(), secret.clone()));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    if let Some(pair) = basic
        && let Some((id, secret)) = pair.split_once(':')
    {
        return Ok((id.to_owned(), secret.to_owned()));
    }
    if form.contains_key("client_assertion") {
        return Err(OAuthError::invalid_request(
            7000216,
            "Certificate credentials (client_assertion) are not supported yet; use a client secret.",
        ));
    }
    Err(OAuthError::invalid_request(
        7000216,
        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    ))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(state: &AppState, tenant_segment: &str) -> Response {
    let identity = state.identity();
    match identity.tenant_by_segment(tenant_segment).await {
        Ok(tenant) => match identity.openid_configuration(tenant.id).await {
            Ok(doc) => axum::Json(doc).into_response(),
            Err(e) => ApiError::from(e).into_response(),
        },
        Err(IdentityError::TenantNotFound(_)) => {
            OAuthError::tenant_not_found(tenant_segment).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub async fn jwks(state: &AppState, tenant_segment: &str) -> Response {
    let identity = state.identity();
    match identity.tenant_by_segment(tenant_segment).await {
        Ok(tenant) => match identity.jwks(tenant.id).await {
            Ok(doc) => axum::Json(doc).into_response(),
            Err(e) => ApiError::from(e).into_response(),
        },
        Err(IdentityError::TenantNotFound(_)) => {
            OAuthError::tenant_not_found(tenant_segment).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /msi/token?resource=…&api-version=2019-08-01[&client_id|object_id|principal_id|mi_res_id]`
/// with `X-IDENTITY-HEADER`: tokens for the managed identities bound to that secret.
pub async fn managed_identity_token(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Response {
    let Some(secret) = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
    else {
        return ApiError::bad_request(
            "MissingIdentityHeader",
            "the X-IDENTITY-HEADER header is required",
        )
        .into_response();
    };
    let Some(resource) = query_param(uri, "resource") else {
        return ApiError::bad_request(
            "MissingResource",
            "the resource query parameter is required",
        )
        .into_response();
    };
    let selector = if let Some(c) = query_param(uri, "client_id") {
        WorkloadSelector::ClientId(c)
    } else if let Some(o) =
        query_param(uri, "object_id").or_else(|| query_param(uri, "principal_id"))
    {
        WorkloadSelector::ObjectId(o)
    } else if let Some(r) = query_param(uri, "mi_res_id").or_else(|| query_param(uri, "msi_res_id"))
    {
        WorkloadSelector::ResourceId(r)
    } else {
        WorkloadSelector::Default
    };
    let identity = state.identity();
    let principal: Principal = match identity.resolve_workload(secret, &selector).await {
        Ok(p) => p,
        Err(IdentityError::InvalidClient { .. }) => {
            return ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "InvalidIdentityHeader",
                "the X-IDENTITY-HEADER value is not valid",
            )
            .into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    match identity.issue_token(&principal, &resource).await {
        Ok(issued) => no_store(
            axum::Json(json!({
                "access_token": issued.access_token,
                "expires_on": issued.expires_on.to_string(),
                "resource": issued.resource,
                "token_type": "Bearer",
                "client_id": principal.client_id,
            }))
            .into_response(),
        ),
        Err(e) => ApiError::from(e).into_response(),
    }
}
