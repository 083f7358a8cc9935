//! `GET /tenants`, `GET /subscriptions`, `GET /subscriptions/{id}`: what `az login` needs.

use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::Subscription;
use serde_json::{Value, json};

use crate::arm::error::api_version;
use crate::http::ApiError;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{RequestHead, json};
use crate::state::AppState;

fn subscription_json(sub: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", sub.id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.id,
        "tenantId": sub.tenant_id,
        "displayName": sub.display_name,
        "state": sub.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// Tenants the caller belongs to (its home tenant).
pub async fn list_tenants(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let caller = &grant.caller;
    let tenant = state.identity().tenant(caller.principal.tenant_id).await?;
    Ok(json(
        StatusCode::OK,
        json!({ "value": [{
            "id": format!("/tenants/{}", tenant.id),
            "tenantId": tenant.id,
            "tenantCategory": "Home",
            "countryCode": "US",
            "displayName": tenant.display_name,
            "domains": ["keyhold.localhost"],
            "defaultDomain": "keyhold.localhost",
            "tenantType": "AAD"
        }]}),
    ))
}

/// Subscriptions of the caller's tenant on which it holds any role.
pub async fn list(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let caller = &grant.caller;
    let identity = state.identity();
    let mut value = Vec::new();
    for sub in identity
        .list_subscriptions(caller.principal.tenant_id)
        .await?
    {
        let scope = format!("/subscriptions/{}", sub.id);
        if identity
            .has_any_role_at_or_below(caller.principal.object_id, &scope)
            .await?
        {
            value.push(subscription_json(&sub));
        }
    }
    let count = value.len();
    Ok(json(
        StatusCode::OK,
        json!({ "value": value, "count": { "type": "Total", "value": count } }),
    ))
}

/// One subscription (needs read access on it).
pub async fn get(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let _ = state;
    Ok(json(StatusCode::OK, subscription_json(grant.sub()?)))
}
