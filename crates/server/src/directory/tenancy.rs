//! Tenants and subscriptions on the directory API, and moving a subscription to another
//! tenant (what Azure calls transferring a subscription to another Entra directory).
//!
//! The route table (`routes.rs`) declares who may call each of these; the handlers here
//! run after the gate.
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
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::{Subscription, tenant_scope};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::arm::error::vault_error;
use crate::http::ApiError;
use crate::http::auth::{Api, authorize, challenge};
use crate::http::authz::Grant;
use crate::http::{json, json_body};
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

/// `GET /keyhold/v1/tenants` (the operator's view: every tenant).
pub async fn list_tenants(state: &AppState) -> Result<Response, ApiError> {
    let list: Vec<Value> = state
        .identity()
        .list_tenants()
        .await?
        .iter()
        .map(|t| json!({ "tenantId": t.id, "displayName": t.display_name }))
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": list })))
}

/// `POST /keyhold/v1/tenants`: a new tenant and its administrator, whose secret is answered
/// once.
pub async fn create_tenant(state: &AppState, body: Body) -> Result<Response, ApiError> {
    let body: TenantBody = json_body(state, body).await?;
    let (tenant, admin, secret) = state
        .identity()
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

/// `GET /keyhold/v1/tenants/{t}/subscriptions` (the gate checked `t` is the caller's tenant).
pub async fn list_subscriptions(state: &AppState, tenant: Uuid) -> Result<Response, ApiError> {
    let list: Vec<Value> = state
        .identity()
        .list_subscriptions(tenant)
        .await?
        .iter()
        .map(subscription_json)
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": list })))
}

/// `POST /keyhold/v1/tenants/{t}/subscriptions`: a new subscription owned by the caller (or
/// by `ownerObjectId`, a principal of the same tenant).
pub async fn create_subscription(
    state: &AppState,
    body: Body,
    grant: &Grant,
) -> Result<Response, ApiError> {
    let caller = &grant.caller;
    let body: SubscriptionBody = json_body(state, body).await?;
    let owner = body.owner_object_id.unwrap_or(caller.principal.object_id);
    let subscription = state
        .identity()
        .create_owned_subscription(caller.principal.tenant_id, &body.display_name, owner)
        .await?;
    Ok(json(StatusCode::CREATED, subscription_json(&subscription)))
}

/// `POST /keyhold/v1/subscriptions/{s}/changeTenant`.
pub async fn change_tenant(
    state: &AppState,
    body: Body,
    grant: &Grant,
    subscription: &str,
) -> Result<Response, ApiError> {
    let identity = state.identity();
    let caller = &grant.caller;
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
        caller,
        &scope,
        "Keyhold.Directory/subscriptions/changeTenant/action",
    )
    .await?;
    let target = identity.tenant(body.target_tenant_id).await?;
    authorize(
        state,
        caller,
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
