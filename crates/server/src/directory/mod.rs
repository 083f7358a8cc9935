//! keyhold's directory API (`/keyhold/v1/…` on the service host), the management of what Entra
//! and Microsoft Graph would hold: service principals and their secrets, signing-key rotation,
//! and workload bindings for the managed-identity endpoint. Management-audience tokens; the
//! caller needs `Keyhold.Directory/*` actions at the directory root `/` (the bootstrap admin
//! has Owner there), and its tenant must be the path's tenant.

mod caller;
pub mod routes;
pub(crate) mod tenancy;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use keyhold_identity::{NewSecret, Principal, PrincipalKind};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::http::ApiError;
use crate::http::auth::{Api, authenticate, authorize};
use crate::http::{RequestHead, json, json_body};
use crate::state::AppState;
use caller::{directory_caller, method_not_allowed};
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

/// Dispatches a directory request.
pub async fn handle(state: &AppState, route: DirectoryRoute, request: Request) -> Response {
    let (head, body) = RequestHead::split(request);
    let operation = crate::http::audit_trail::operation_name(&route, head.method().as_str());
    // Reading the audit log is not itself an event worth a record per page.
    let audited = route != DirectoryRoute::Audit;
    let response = handle_inner(state, route, &head, body)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if !audited {
        return response;
    }
    crate::http::audit_trail::record(state, head.headers(), operation, response).await
}

async fn handle_inner(
    state: &AppState,
    route: DirectoryRoute,
    request: &RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let identity = state.identity();
    match route {
        DirectoryRoute::Audit => {
            if request.method() != Method::GET {
                return Err(method_not_allowed(request, "GET"));
            }
            directory_caller(state, request, None, "Keyhold.Directory/audit/read").await?;
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
        DirectoryRoute::Tenants => crate::directory::tenancy::tenants(state, request, body).await,
        DirectoryRoute::Subscriptions { tenant } => {
            crate::directory::tenancy::subscriptions(state, request, body, &tenant).await
        }
        DirectoryRoute::ChangeTenant { subscription } => {
            crate::directory::tenancy::change_tenant(state, request, body, &subscription).await
        }
        DirectoryRoute::ServicePrincipals { tenant } => match *request.method() {
            Method::GET => {
                directory_caller(
                    state,
                    request,
                    Some(&tenant),
                    "Keyhold.Directory/servicePrincipals/read",
                )
                .await?;
                let t = identity.tenant_by_segment(&tenant).await?;
                let list: Vec<Value> = identity
                    .list_principals(t.id)
                    .await?
                    .iter()
                    .map(|p| principal_json(p, None))
                    .collect();
                Ok(json(StatusCode::OK, json!({ "value": list })))
            }
            Method::POST => {
                directory_caller(
                    state,
                    request,
                    Some(&tenant),
                    "Keyhold.Directory/servicePrincipals/write",
                )
                .await?;
                let t = identity.tenant_by_segment(&tenant).await?;
                let body: CreateBody = json_body(state, body).await?;
                let (principal, secret) = identity
                    .create_service_principal(t.id, &body.display_name)
                    .await?;
                Ok(json(
                    StatusCode::CREATED,
                    principal_json(&principal, Some(&secret)),
                ))
            }
            _ => Err(method_not_allowed(request, "GET, POST")),
        },
        DirectoryRoute::ServicePrincipal { tenant, app_id } => {
            let action = match *request.method() {
                Method::GET => "Keyhold.Directory/servicePrincipals/read",
                Method::PATCH => "Keyhold.Directory/servicePrincipals/write",
                Method::DELETE => "Keyhold.Directory/servicePrincipals/delete",
                _ => return Err(method_not_allowed(request, "GET, PATCH, DELETE")),
            };
            directory_caller(state, request, Some(&tenant), action).await?;
            let t = identity.tenant_by_segment(&tenant).await?;
            let principal = identity.principal_by_client_id(t.id, &app_id).await?;
            match *request.method() {
                Method::GET => Ok(json(StatusCode::OK, principal_json(&principal, None))),
                Method::PATCH => {
                    let body: PatchBody = json_body(state, body).await?;
                    let updated = match body.account_enabled {
                        Some(enabled) => identity.set_enabled(principal.object_id, enabled).await?,
                        None => principal,
                    };
                    Ok(json(StatusCode::OK, principal_json(&updated, None)))
                }
                _ => {
                    identity.delete_principal(principal.object_id).await?;
                    Ok(crate::http::empty(StatusCode::NO_CONTENT))
                }
            }
        }
        DirectoryRoute::ResetSecret { tenant, app_id } => {
            if *request.method() != Method::POST {
                return Err(method_not_allowed(request, "POST"));
            }
            directory_caller(
                state,
                request,
                Some(&tenant),
                "Keyhold.Directory/servicePrincipals/write",
            )
            .await?;
            let t = identity.tenant_by_segment(&tenant).await?;
            let principal = identity.principal_by_client_id(t.id, &app_id).await?;
            let (principal, secret) = identity.reset_secret(principal.object_id).await?;
            Ok(json(
                StatusCode::OK,
                principal_json(&principal, Some(&secret)),
            ))
        }
        DirectoryRoute::RotateSigningKey { tenant } => {
            if *request.method() != Method::POST {
                return Err(method_not_allowed(request, "POST"));
            }
            directory_caller(
                state,
                request,
                Some(&tenant),
                "Keyhold.Directory/signingKeys/write",
            )
            .await?;
            let t = identity.tenant_by_segment(&tenant).await?;
            let kid = identity.rotate_signing_key(t.id).await?;
            Ok(json(StatusCode::OK, json!({ "kid": kid })))
        }
        DirectoryRoute::WhoAmI => {
            if *request.method() != Method::GET {
                return Err(method_not_allowed(request, "GET"));
            }
            let caller = authenticate(state, request.headers(), Api::Management, None).await?;
            Ok(json(
                StatusCode::OK,
                json!({
                    "objectId": caller.principal.object_id,
                    "tenantId": caller.principal.tenant_id,
                    "appId": caller.principal.client_id,
                    "displayName": caller.principal.display_name,
                    "issuer": caller.claims.iss,
                }),
            ))
        }
        DirectoryRoute::WorkloadBindings => {
            if *request.method() != Method::POST {
                return Err(method_not_allowed(request, "POST"));
            }
            let caller = authenticate(state, request.headers(), Api::Management, None).await?;
            let body: BindingBody = json_body(state, body).await?;
            let mut principals = Vec::new();
            for resource in &body.identities {
                authorize(
                    state,
                    &caller,
                    resource,
                    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
                )
                .await?;
                let principal = match Uuid::parse_str(resource) {
                    Ok(oid) => identity.principal(oid).await?,
                    Err(_) => identity
                        .managed_identity_for_resource(resource)
                        .await?
                        .ok_or_else(|| {
                            ApiError::new(
                                StatusCode::NOT_FOUND,
                                "ResourceNotFound",
                                format!("no managed identity {resource}"),
                            )
                        })?,
                };
                if principal.tenant_id != caller.principal.tenant_id {
                    return Err(ApiError::bad_request(
                        "PrincipalNotFound",
                        format!("{resource} is in another tenant"),
                    ));
                }
                principals.push(principal.object_id);
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
