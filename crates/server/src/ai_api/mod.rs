//! The AI data plane on `https://{account}.{ai-domain}:{port}/openai/…`, OpenAI-compatible as
//! the `openai` SDK's `AzureOpenAI` client uses it.
//!
//! Authentication: the `api-key` header (one of the account's two keys, compared in constant
//! time; refused when `disableLocalAuth` is on) or a bearer token for the AI audience from the
//! account's tenant whose principal holds the matching data action (Cognitive Services OpenAI
//! roles) on the account. Dated paths need `api-version`; `/openai/v1/` paths do not. Every call
//! is audited.

mod chat;
mod error;
mod files;
mod finetune;
pub mod routes;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keyhold_platform::Account;
use keyhold_vault::AuditEvent;

use crate::ai_api::routes::AiRoute;
use crate::http::ApiError;
use crate::http::RequestHead;
use crate::http::auth::{Api, authenticate};
use crate::http::authz::Access;
use crate::state::AppState;

pub(crate) use error::platform_error;

/// Who called.
pub(crate) enum AiCaller {
    /// The `api-key` header.
    ApiKey,
    /// A bearer token's principal (object id).
    Principal(String),
}

impl AiCaller {
    fn audit_name(&self) -> String {
        match self {
            AiCaller::ApiKey => "api-key".into(),
            AiCaller::Principal(oid) => oid.clone(),
        }
    }
}

/// Dispatches one AI data-plane request.
pub async fn handle(
    state: &AppState,
    account_name: &str,
    v1: bool,
    route: AiRoute,
    request: Request,
) -> Response {
    let (head, body) = RequestHead::split(request);
    let operation = format!("{} {}", route.kind().name(), head.method());
    let mut event = AuditEvent {
        caller: "anonymous".into(),
        operation,
        vault: None,
        key: Some(format!("account:{account_name}")),
        ..AuditEvent::default()
    };
    let result = async {
        if !v1 {
            error::api_version(head.uri())?;
        }
        let account = state
            .platform()
            .account(account_name)
            .await
            .map_err(|e| match e {
                // Absent is 404; a store that does not answer is 503 (clients retry it, never
                // a 404), whatever else went wrong is the platform's own answer.
                keyhold_platform::PlatformError::AccountNotFound(_)
                | keyhold_platform::PlatformError::InvalidRequest(_) => {
                    ApiError::new(StatusCode::NOT_FOUND, "404", "Resource not found")
                }
                other => platform_error(other),
            })?;
        let Access::AiData(action) = route.access() else {
            return Err(ApiError::internal(
                &"an AI route declared a non-AI permission",
            ));
        };
        let caller = authorize(state, &account, head.headers(), action).await?;
        event.caller = caller.audit_name();
        match route {
            AiRoute::ListFiles
            | AiRoute::UploadFile
            | AiRoute::GetFile { .. }
            | AiRoute::DeleteFile { .. }
            | AiRoute::FileContent { .. } => {
                files::handle(state, &account, route, &head, body).await
            }
            AiRoute::ListJobs
            | AiRoute::CreateJob
            | AiRoute::Job { .. }
            | AiRoute::ListModels
            | AiRoute::GetModel { .. }
            | AiRoute::DeleteModel { .. } => {
                finetune::handle(state, &account, route, &head, body).await
            }
            AiRoute::ChatCompletions { deployment } => {
                chat::handle(state, &account, deployment, body).await
            }
        }
    }
    .await;
    let response = result.unwrap_or_else(IntoResponse::into_response);
    event.result = response.status().as_u16().to_string();
    // A chat answered by a model already in memory used no key and changed nothing: it is
    // audited in the next group commit rather than before the answer. Everything else (every
    // key use, every change, every refusal) is durable before the answer leaves.
    let keyless_chat = response.status().is_success()
        && response
            .extensions()
            .get::<chat::KeyUse>()
            .is_some_and(|k| !k.0);
    if keyless_chat {
        state.audit().append_batched(event);
        return response;
    }
    if let Err(err) = state.audit().append(event).await {
        return ApiError::from(err).into_response();
    }
    response
}

/// The `limit` query parameter of a list: `default` when absent, else 1 to `max`.
pub(crate) fn limit_param(
    head: &RequestHead,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match crate::http::api_version::query_param(head.uri(), "limit") {
        None => Ok(default),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_limit",
                    format!("limit must be a number from 1 to {max}"),
                )
            }),
    }
}

async fn authorize(
    state: &AppState,
    account: &Account,
    headers: &HeaderMap,
    action: &str,
) -> Result<AiCaller, ApiError> {
    if let Some(given) = headers.get("api-key").and_then(|v| v.to_str().ok()) {
        if account.disable_local_auth {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "401",
                "Key based authentication is disabled for this resource.",
            ));
        }
        if state
            .platform()
            .api_key_matches(account, given)
            .map_err(platform_error)?
        {
            return Ok(AiCaller::ApiKey);
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "401",
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        ));
    }
    let caller = authenticate(state, headers, Api::Ai, Some(account.tenant_id)).await?;
    let allowed = state
        .identity()
        .check_data_access(caller.principal.object_id, &account.resource_id(), action)
        .await?;
    if !allowed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "PermissionDenied",
            format!(
                "The principal {} lacks the required data action {action} on account {} (assign Cognitive Services OpenAI Contributor or User).",
                caller.principal.object_id, account.name
            ),
        ));
    }
    Ok(AiCaller::Principal(caller.principal.object_id.to_string()))
}
