//! keyhold's directory API (`/keyhold/v1/…` on the service host), the management of what Entra
//! and Microsoft Graph would hold: service principals and their secrets, signing-key rotation,
//! and workload bindings for the managed-identity endpoint. Management-audience tokens; the
//! caller needs `Keyhold.Directory/*` actions at the directory root `/` (the bootstrap admin
//! has Owner there), and its tenant must be the path's tenant.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use keyhold_identity::{AuthenticatedPrincipal, NewSecret, Principal, PrincipalKind, TokenError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::arm::{Head, json, json_body};
use crate::auth::{Api, authenticate, authorize, challenge};
use crate::error::ApiError;
use crate::state::AppState;

/// A parsed directory request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryRoute {
    /// `GET|POST /keyhold/v1/tenants/{t}/servicePrincipals`
    ServicePrincipals {
        /// Tenant segment.
        tenant: String,
    },
    /// `GET|PATCH|DELETE /keyhold/v1/tenants/{t}/servicePrincipals/{appId}`
    ServicePrincipal {
        /// Tenant segment.
        tenant: String,
        /// Client (application) id.
        app_id: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/servicePrincipals/{appId}/resetSecret`
    ResetSecret {
        /// Tenant segment.
        tenant: String,
        /// Client id.
        app_id: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/rotateSigningKey`
    RotateSigningKey {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/workloadBindings`
    WorkloadBindings,
    /// `GET /keyhold/v1/whoami`: the authenticated caller (any API audience).
    WhoAmI,
    /// `GET /keyhold/v1/audit?after={seq}&top={n}`: audit entries in order, with the head.
    Audit,
    /// `GET|POST /keyhold/v1/tenants`
    Tenants,
    /// `GET|POST /keyhold/v1/tenants/{t}/subscriptions`
    Subscriptions {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/subscriptions/{s}/changeTenant`
    ChangeTenant {
        /// Subscription segment.
        subscription: String,
    },
}

/// Parses `/keyhold/v1/…` (segments after `keyhold`, `v1`); `None` if not a directory path.
pub fn parse(segments: &[&str]) -> Option<DirectoryRoute> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let tenant = || segments.get(3).map(|s| (*s).to_owned()).unwrap_or_default();
    let app = || segments.get(5).map(|s| (*s).to_owned()).unwrap_or_default();
    match l.as_slice() {
        ["keyhold", "v1", "workloadbindings"] => Some(DirectoryRoute::WorkloadBindings),
        ["keyhold", "v1", "whoami"] => Some(DirectoryRoute::WhoAmI),
        ["keyhold", "v1", "audit"] => Some(DirectoryRoute::Audit),
        ["keyhold", "v1", "tenants"] => Some(DirectoryRoute::Tenants),
        ["keyhold", "v1", "tenants", _, "subscriptions"] => {
            Some(DirectoryRoute::Subscriptions { tenant: tenant() })
        }
        ["keyhold", "v1", "subscriptions", _, "changetenant"] => {
            Some(DirectoryRoute::ChangeTenant {
                subscription: tenant(),
            })
        }
        ["keyhold", "v1", "tenants", _, "serviceprincipals"] => {
            Some(DirectoryRoute::ServicePrincipals { tenant: tenant() })
        }
        ["keyhold", "v1", "tenants", _, "serviceprincipals", _] => {
            Some(DirectoryRoute::ServicePrincipal {
                tenant: tenant(),
                app_id: app(),
            })
        }
        [
            "keyhold",
            "v1",
            "tenants",
            _,
            "serviceprincipals",
            _,
            "resetsecret",
        ] => Some(DirectoryRoute::ResetSecret {
            tenant: tenant(),
            app_id: app(),
        }),
        ["keyhold", "v1", "tenants", _, "rotatesigningkey"] => {
            Some(DirectoryRoute::RotateSigningKey { tenant: tenant() })
        }
        _ => None,
    }
}

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

/// Authenticates a directory call and authorizes `action`: at the tenant's directory scope
/// `/tenants/{t}` (from a token of that tenant) when the path names a tenant, else at the
/// directory root `/`. The first start's administrator is Owner at `/`, which covers every
/// tenant; a tenant made later has an administrator of its own, Owner at its scope only.
pub(crate) async fn directory_caller(
    state: &AppState,
    request: &Head,
    tenant_segment: Option<&str>,
    action: &str,
) -> Result<AuthenticatedPrincipal, ApiError> {
    let caller = authenticate(state, request.headers(), Api::Management, None).await?;
    let mut scope = "/".to_owned();
    if let Some(segment) = tenant_segment {
        let tenant = state.identity().tenant_by_segment(segment).await?;
        if tenant.id != caller.principal.tenant_id {
            let err = TokenError::WrongTenant;
            return Err(ApiError::unauthorized(
                err.code(),
                "the token is for another tenant",
                challenge(state, Api::Management, tenant.id, Some(&err)),
            ));
        }
        scope = keyhold_identity::tenant_scope(tenant.id);
    }
    authorize(state, &caller, &scope, action).await?;
    Ok(caller)
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

pub(crate) fn method_not_allowed(request: &Head, allow: &'static str) -> ApiError {
    ApiError::method_not_allowed(request.method().as_str(), allow)
}

/// Dispatches a directory request.
pub async fn handle(state: &AppState, route: DirectoryRoute, request: Request) -> Response {
    let (head, body) = Head::split(request);
    let operation = crate::audit_trail::operation_name(&route, head.method().as_str());
    // Reading the audit log is not itself an event worth a record per page.
    let audited = route != DirectoryRoute::Audit;
    let response = handle_inner(state, route, &head, body)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if !audited {
        return response;
    }
    crate::audit_trail::record(state, head.headers(), operation, response).await
}

async fn handle_inner(
    state: &AppState,
    route: DirectoryRoute,
    request: &Head,
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
                match crate::api_version::query_param(request.uri(), name) {
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
        DirectoryRoute::Tenants => crate::directory_tenancy::tenants(state, request, body).await,
        DirectoryRoute::Subscriptions { tenant } => {
            crate::directory_tenancy::subscriptions(state, request, body, &tenant).await
        }
        DirectoryRoute::ChangeTenant { subscription } => {
            crate::directory_tenancy::change_tenant(state, request, body, &subscription).await
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
                    Ok(crate::app::empty(StatusCode::NO_CONTENT))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table() {
        let rows: &[(&str, Option<DirectoryRoute>)] = &[
            (
                "keyhold/v1/workloadBindings",
                Some(DirectoryRoute::WorkloadBindings),
            ),
            (
                "keyhold/v1/tenants/T/servicePrincipals",
                Some(DirectoryRoute::ServicePrincipals { tenant: "T".into() }),
            ),
            (
                "keyhold/v1/tenants/T/serviceprincipals/A",
                Some(DirectoryRoute::ServicePrincipal {
                    tenant: "T".into(),
                    app_id: "A".into(),
                }),
            ),
            (
                "keyhold/v1/tenants/T/servicePrincipals/A/resetSecret",
                Some(DirectoryRoute::ResetSecret {
                    tenant: "T".into(),
                    app_id: "A".into(),
                }),
            ),
            (
                "keyhold/v1/tenants/T/rotateSigningKey",
                Some(DirectoryRoute::RotateSigningKey { tenant: "T".into() }),
            ),
            ("keyhold/v1/tenants", Some(DirectoryRoute::Tenants)),
            (
                "keyhold/v1/tenants/T/subscriptions",
                Some(DirectoryRoute::Subscriptions { tenant: "T".into() }),
            ),
            (
                "keyhold/v1/subscriptions/S/changeTenant",
                Some(DirectoryRoute::ChangeTenant {
                    subscription: "S".into(),
                }),
            ),
            ("keyhold/v1/subscriptions/S", None),
            ("keyhold/v1/tenants/T", None),
            ("keyhold/v2/workloadBindings", None),
        ];
        for (path, expected) in rows {
            let segments: Vec<&str> = path.split('/').collect();
            assert_eq!(&parse(&segments), expected, "{path}");
        }
    }
}
