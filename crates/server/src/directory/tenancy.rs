//! Tenants and subscriptions on the directory API, and moving a subscription to another
//! tenant (what Azure calls transferring a subscription to another Entra directory).
//!
//! - `GET|POST /keyhold/v1/tenants`: list, or create a tenant with its own administrator
//!   (answered once with the administrator's client secret). Needs
//!   `Keyhold.Directory/tenants/*` at the directory root `/`.
//! - `GET|POST /keyhold/v1/tenants/{t}/subscriptions`: a tenant's subscriptions, or a new one
//!   owned by the caller (or by `ownerObjectId`). Needs `Keyhold.Directory/subscriptions/*` at
//!   `/tenants/{t}`, from a token of that tenant.
//! - `POST /keyhold/v1/subscriptions/{s}/changeTenant` `{targetTenantId, ownerObjectId}`: needs
//!   `Keyhold.Directory/subscriptions/changeTenant/action` on the subscription, from a token of
//!   its current tenant, *and* `Keyhold.Directory/subscriptions/write` at the target tenant's
//!   scope: like Azure, only someone at home in both directories can move a subscription.
//!
//! A move changes the vaults, then the AI resources, then (atomically) the subscription, its
//! role assignments and its managed identities. Each step only changes what has not moved yet,
//! so a move interrupted by a crash is finished by sending the same request again; until then
//! the subscription still answers to its old tenant.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use keyhold_identity::{Subscription, tenant_scope};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::caller::{directory_caller, method_not_allowed};
use crate::arm::error::vault_error;
use crate::http::ApiError;
use crate::http::auth::{Api, authenticate, authorize, challenge};
use crate::http::{RequestHead, json, json_body};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TenantBody {
    display_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionBody {
    display_name: String,
    owner_object_id: Option<Uuid>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveBody {
    target_tenant_id: Uuid,
    owner_object_id: Uuid,
}

fn subscription_json(s: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": s.state,
    })
}

/// `GET|POST /keyhold/v1/tenants`.
pub async fn tenants(
    state: &AppState,
    request: &RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let identity = state.identity();
    match *request.method() {
        Method::GET => {
            directory_caller(state, request, None, "Keyhold.Directory/tenants/read").await?;
            let list: Vec<Value> = identity
                .list_tenants()
                .await?
                .iter()
                .map(|t| json!({ "tenantId": t.id, "displayName": t.display_name }))
                .collect();
            Ok(json(StatusCode::OK, json!({ "value": list })))
        }
        Method::POST => {
            directory_caller(state, request, None, "Keyhold.Directory/tenants/write").await?;
            let body: TenantBody = json_body(state, body).await?;
            let (tenant, admin, secret) = identity
                .create_tenant_with_admin(&body.display_name)
                .await?;
            Ok(json(
                StatusCode::CREATED,
                json!({
                    "tenantId": tenant.id,
                    "displayName": tenant.display_name,
                    "authority": format!("{}/{}", state.service_url(), tenant.id),
                    "admin": {
                        "objectId": admin.object_id,
                        "appId": admin.client_id,
                        "clientSecret": secret.expose_secret(),
                        "scope": tenant_scope(tenant.id),
                    },
                }),
            ))
        }
        _ => Err(method_not_allowed(request, "GET, POST")),
    }
}

/// `GET|POST /keyhold/v1/tenants/{t}/subscriptions`.
pub async fn subscriptions(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    tenant: &str,
) -> Result<Response, ApiError> {
    let identity = state.identity();
    let action = match *request.method() {
        Method::GET => "Keyhold.Directory/subscriptions/read",
        Method::POST => "Keyhold.Directory/subscriptions/write",
        _ => return Err(method_not_allowed(request, "GET, POST")),
    };
    let caller = directory_caller(state, request, Some(tenant), action).await?;
    let tenant = identity.tenant_by_segment(tenant).await?;
    if *request.method() == Method::GET {
        let list: Vec<Value> = identity
            .list_subscriptions(tenant.id)
            .await?
            .iter()
            .map(subscription_json)
            .collect();
        return Ok(json(StatusCode::OK, json!({ "value": list })));
    }
    let body: SubscriptionBody = json_body(state, body).await?;
    let owner = body.owner_object_id.unwrap_or(caller.principal.object_id);
    let subscription = identity
        .create_owned_subscription(tenant.id, &body.display_name, owner)
        .await?;
    Ok(json(StatusCode::CREATED, subscription_json(&subscription)))
}

/// `POST /keyhold/v1/subscriptions/{s}/changeTenant`.
pub async fn change_tenant(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    subscription: &str,
) -> Result<Response, ApiError> {
    if *request.method() != Method::POST {
        return Err(method_not_allowed(request, "POST"));
    }
    let identity = state.identity();
    let caller = authenticate(state, request.headers(), Api::Management, None).await?;
    let sub = identity.subscription(subscription).await?;
    let body: MoveBody = json_body(state, body).await?;
    // A repeated request after the subscription arrived comes from the new tenant.
    let home = if sub.tenant_id == body.target_tenant_id {
        body.target_tenant_id
    } else {
        sub.tenant_id
    };
    if caller.principal.tenant_id != home {
        let err = keyhold_identity::TokenError::WrongTenant;
        return Err(ApiError::unauthorized(
            err.code(),
            "the token is not from the subscription's tenant",
            challenge(state, Api::Management, home, Some(&err)),
        ));
    }
    let scope = format!("/subscriptions/{}", sub.id);
    authorize(
        state,
        &caller,
        &scope,
        "Keyhold.Directory/subscriptions/changeTenant/action",
    )
    .await?;
    let target = identity.tenant(body.target_tenant_id).await?;
    authorize(
        state,
        &caller,
        &tenant_scope(target.id),
        "Keyhold.Directory/subscriptions/write",
    )
    .await?;
    // Checked before anything changes, so a bad owner leaves everything where it was.
    let owner = identity.principal(body.owner_object_id).await?;
    if owner.tenant_id != target.id {
        return Err(ApiError::bad_request(
            "PrincipalNotFound",
            format!(
                "ownerObjectId {} is not a principal of tenant {}",
                owner.object_id, target.id
            ),
        ));
    }
    let vaults = state
        .vaults()
        .move_subscription_vaults(sub.id, target.id)
        .await
        .map_err(vault_error)?;
    let accounts = state
        .platform()
        .move_subscription_accounts(sub.id, target.id)
        .await
        .map_err(crate::arm::error::platform_error)?;
    let moved = identity
        .move_subscription(subscription, target.id, owner.object_id)
        .await?;
    tracing::info!(
        subscription = %sub.id, from = %moved.from, to = %moved.to,
        vaults = vaults.len(), accounts = accounts.len(),
        "subscription moved to another tenant"
    );
    // Every account's key is re-checked now (vaults of the subscription, and vaults elsewhere
    // used by its accounts): the watcher records and audits each `CmkTenantMoved`.
    state
        .vaults()
        .notify_access_changed("/")
        .await
        .map_err(vault_error)?;
    Ok(json(
        StatusCode::OK,
        json!({
            "subscription": subscription_json(&moved.subscription),
            "fromTenantId": moved.from,
            "toTenantId": moved.to,
            "vaults": vaults,
            "accounts": accounts,
            "removedRoleAssignments": moved.removed_assignments,
            "identitiesLeftBehind": moved.disabled_identities,
        }),
    ))
}
