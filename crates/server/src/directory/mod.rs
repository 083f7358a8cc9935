//! keyhold's directory API (`/keyhold/v1/…` on the service host), the management of what Entra
//! and Microsoft Graph would hold: service principals and their secrets, signing-key rotation,
//! and workload bindings for the managed-identity endpoint. Management-audience tokens; the
//! caller needs `Keyhold.Directory/*` actions at the directory root `/` (the bootstrap admin
//! has Owner there), and its tenant must be the path's tenant.

pub mod routes;
pub(crate) mod tenancy;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyhold_identity::{NewSecret, Principal, PrincipalKind};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use keyhold_vault::AuditEvent;

use crate::http::authz::{self, Grant};
use crate::http::{ApiError, RequestHead, json, json_body};
use crate::state::AppState;
pub use routes::DirectoryRoute;

fn principal_json(p: &Principal, secret: Option<&NewSecret>) -> Value {
    let kind = match &p.kind {
        PrincipalKind::ServicePrincipal => "Application",
        PrincipalKind::SystemAssigned { .. } | PrincipalKind::UserAssigned { .. } => {
            "ManagedIdentity"
        }
        PrincipalKind::External { .. } => "External",
    };
    let mut v = json!({
        "id": p.object_id,
        "appId": p.client_id,
        "appOwnerOrganizationId": p.tenant_id,
        "displayName": p.display_name,
        "accountEnabled": p.enabled,
        "servicePrincipalType": kind,
        "passwordCredentials": p.secrets.iter().map(|s| json!({
            "keyId": s.key_id, "hint": s.hint, "endDateTime": s.expires,
        })).collect::<Vec<_>>(),
    });
    if let Some(secret) = secret {
        v["clientSecret"] = json!(secret.expose_secret());
    }
    v
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    display_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchBody {
    account_enabled: Option<bool>,
}

#[derive(Deserialize)]
struct BindingBody {
    identities: Vec<String>,
}

/// Dispatches a directory request: the route's permission first (`routes.rs`), then the
/// handler; every outcome but reading the audit log itself is audited.
pub async fn handle(state: &AppState, route: DirectoryRoute, request: Request) -> Response {
    let (head, body) = RequestHead::split(request);
    let mut event = AuditEvent {
        caller: "anonymous".into(),
        operation: format!("{} {}", route.kind().name(), head.method()),
        ..AuditEvent::default()
    };
    // Reading the audit log is not itself an event worth a record per page.
    let audited = route != DirectoryRoute::ReadAudit;
    let result = async {
        let grant = authz::management(state, &head, &route.access(), None).await?;
        event.caller = grant.caller.principal.object_id.to_string();
        dispatch(state, route, &head, body, &grant).await
    }
    .await;
    let response = match result {
        Ok(response) => {
            event.result = response.status().as_u16().to_string();
            response
        }
        Err(err) => {
            event.result = format!("{} {}", err.status().as_u16(), err.code());
            err.into_response()
        }
    };
    if !audited {
        return response;
    }
    if let Err(err) = state.audit().append(event).await {
        return ApiError::from(err).into_response();
    }
    response
}

async fn dispatch(
    state: &AppState,
    route: DirectoryRoute,
    request: &RequestHead,
    body: Body,
    grant: &Grant,
) -> Result<Response, ApiError> {
    let identity = state.identity();
    let caller = &grant.caller;
    // A tenant route's tenant is the caller's own: the gate refused any other.
    let tenant = caller.principal.tenant_id;
    match route {
        DirectoryRoute::ReadAudit => {
            let number = |name: &str, default: u64| -> Result<u64, ApiError> {
                match crate::http::api_version::query_param(request.uri(), name) {
                    None => Ok(default),
                    Some(v) => v.parse().map_err(|_| {
                        ApiError::bad_request(
                            "InvalidParameter",
                            format!("{name} must be a non-negative integer"),
                        )
                    }),
                }
            };
            let after = number("after", 0)?;
            let top = usize::try_from(number("top", 100)?.clamp(1, 1000)).unwrap_or(1000);
            let audit = state.audit();
            let (head_seq, head_hash) = audit.head().await?;
            let (entries, more) = audit.entries(after, top).await?;
            Ok(json(
                StatusCode::OK,
                json!({
                    "value": entries,
                    "more": more,
                    "head": { "seq": head_seq, "hash": head_hash },
                }),
            ))
        }
        DirectoryRoute::ListTenants => tenancy::list_tenants(state).await,
        DirectoryRoute::CreateTenant => tenancy::create_tenant(state, body).await,
        DirectoryRoute::ListSubscriptions { .. } => {
            tenancy::list_subscriptions(state, tenant).await
        }
        DirectoryRoute::CreateSubscription { .. } => {
            tenancy::create_subscription(state, body, grant).await
        }
        DirectoryRoute::ChangeTenant { subscription } => {
            tenancy::change_tenant(state, body, grant, &subscription).await
        }
        DirectoryRoute::ListServicePrincipals { .. } => {
            let list: Vec<Value> = identity
                .list_principals(tenant)
                .await?
                .iter()
                .map(|p| principal_json(p, None))
                .collect();
            Ok(json(StatusCode::OK, json!({ "value": list })))
        }
        DirectoryRoute::CreateServicePrincipal { .. } => {
            let body: CreateBody = json_body(state, body).await?;
            let (principal, secret) = identity
                .create_service_principal(tenant, &body.display_name)
                .await?;
            Ok(json(
                StatusCode::CREATED,
                principal_json(&principal, Some(&secret)),
            ))
        }
        DirectoryRoute::GetServicePrincipal { app_id, .. } => {
            let principal = identity.principal_by_client_id(tenant, &app_id).await?;
            Ok(json(StatusCode::OK, principal_json(&principal, None)))
        }
        DirectoryRoute::UpdateServicePrincipal { app_id, .. } => {
            let principal = identity.principal_by_client_id(tenant, &app_id).await?;
            let body: PatchBody = json_body(state, body).await?;
            let updated = match body.account_enabled {
                Some(enabled) => identity.set_enabled(principal.object_id, enabled).await?,
                None => principal,
            };
            Ok(json(StatusCode::OK, principal_json(&updated, None)))
        }
        DirectoryRoute::DeleteServicePrincipal { app_id, .. } => {
            let principal = identity.principal_by_client_id(tenant, &app_id).await?;
            identity.delete_principal(principal.object_id).await?;
            Ok(crate::http::empty(StatusCode::NO_CONTENT))
        }
        DirectoryRoute::ResetSecret { app_id, .. } => {
            let principal = identity.principal_by_client_id(tenant, &app_id).await?;
            let (principal, secret) = identity.reset_secret(principal.object_id).await?;
            Ok(json(
                StatusCode::OK,
                principal_json(&principal, Some(&secret)),
            ))
        }
        DirectoryRoute::ResolveExternalPrincipal { .. } => {
            let query = |name: &str| crate::http::api_version::query_param(request.uri(), name);
            let issuer = query("issuer").unwrap_or_default();
            let oid = query("objectId")
                .and_then(|o| Uuid::parse_str(&o).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "InvalidParameter",
                        "objectId must be the external principal's object id (a GUID)",
                    )
                })?;
            let local = identity
                .external_principal_id(tenant, &issuer, oid)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "IssuerNotTrusted",
                        format!("{issuer:?} is not a trusted issuer of this tenant"),
                    )
                })?;
            Ok(json(
                StatusCode::OK,
                json!({ "objectId": local, "issuer": issuer, "externalObjectId": oid }),
            ))
        }
        DirectoryRoute::RotateSigningKey { .. } => {
            let kid = identity.rotate_signing_key(tenant).await?;
            Ok(json(StatusCode::OK, json!({ "kid": kid })))
        }
        DirectoryRoute::WhoAmI => Ok(json(
            StatusCode::OK,
            json!({
                "objectId": caller.principal.object_id,
                "tenantId": caller.principal.tenant_id,
                "appId": caller.principal.client_id,
                "displayName": caller.principal.display_name,
                "issuer": caller.claims.iss,
            }),
        )),
        DirectoryRoute::CreateWorkloadBinding => {
            let body: BindingBody = json_body(state, body).await?;
            let mut principals = Vec::new();
            for resource in &body.identities {
                principals.push(bindable_identity(state, caller, resource).await?);
            }
            let (binding, secret) = identity.create_workload_binding(principals).await?;
            Ok(json(
                StatusCode::CREATED,
                json!({
                    "id": binding.id,
                    "identityEndpoint": format!("{}/msi/token", state.service_url()),
                    "identityHeader": secret.expose_secret(),
                    "identities": binding.principals,
                }),
            ))
        }
    }
}

/// The user-assigned identity `resource` names (its ARM id, or its object id) if the caller
/// may hand out its tokens: it holds `assign/action` on the identity's own resource id, in its
/// own tenant. System-assigned identities are never bound: only keyhold itself uses them, in
/// process, and an account's Contributor must not get the tokens that unwrap the customer's
/// key. Anything else (absent, another tenant's, a system-assigned or a service principal, or
/// no grant) is the same 403, so this cannot be used to probe for identities.
async fn bindable_identity(
    state: &AppState,
    caller: &keyhold_identity::AuthenticatedPrincipal,
    resource: &str,
) -> Result<Uuid, ApiError> {
    const ASSIGN: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action";
    let refused = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform action \
                 '{ASSIGN}' over scope '{resource}' or the scope is invalid.",
                caller.principal.client_id, caller.principal.object_id
            ),
        )
    };
    let identity = state.identity();
    let found = match Uuid::parse_str(resource) {
        Ok(oid) => match identity.principal(oid).await {
            Ok(p) => Some(p),
            Err(keyhold_identity::IdentityError::PrincipalNotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => identity.managed_identity_for_resource(resource).await?,
    };
    let Some(principal) = found else {
        return Err(refused());
    };
    let PrincipalKind::UserAssigned { resource_id } = &principal.kind else {
        return Err(refused());
    };
    if principal.tenant_id != caller.principal.tenant_id {
        return Err(refused());
    }
    let allowed = identity
        .check_access(caller.principal.object_id, resource_id, ASSIGN)
        .await?;
    if !allowed {
        return Err(refused());
    }
    Ok(principal.object_id)
}
