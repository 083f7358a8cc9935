//! `Microsoft.Authorization`: role assignments (any scope) and the built-in role definitions.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::roles::{parse_role_definition_id, role_by_id};
use keyhold_identity::{AuthenticatedPrincipal, BUILTIN_ROLES, RoleAssignment, RoleDefinition};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::caller_for_subscription;
use crate::arm::routes::ResourceOp;
use crate::http::ApiError;
use crate::http::api_version::{AUTHORIZATION, query_param, require};
use crate::http::auth::authorize;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

const READ: &str = "Microsoft.Authorization/roleAssignments/read";
const WRITE: &str = "Microsoft.Authorization/roleAssignments/write";
const DELETE: &str = "Microsoft.Authorization/roleAssignments/delete";

#[derive(Deserialize)]
struct PutBody {
    properties: PutProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutProperties {
    role_definition_id: String,
    principal_id: String,
    #[serde(default)]
    principal_type: Option<String>,
}

/// The subscription segment of a scope (`/subscriptions/{id}/…`).
fn subscription_of(scope: &str) -> Result<&str, ApiError> {
    let mut parts = scope.split('/').filter(|s| !s.is_empty());
    match (parts.next(), parts.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => Ok(id),
        _ => Err(ApiError::bad_request(
            "InvalidScope",
            format!("The scope '{scope}' is not valid; it must start with /subscriptions/{{id}}."),
        )),
    }
}

fn definition_id(scope_sub: &str, role: &RoleDefinition) -> String {
    format!(
        "/subscriptions/{scope_sub}/providers/Microsoft.Authorization/roleDefinitions/{}",
        role.id
    )
}

fn assignment_json(a: &RoleAssignment, sub: &str) -> Value {
    let role_id =
        role_by_id(a.role_id).map_or_else(|| a.role_id.to_string(), |r| definition_id(sub, r));
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", a.scope.trim_end_matches('/'), a.id),
        "name": a.id,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": role_id,
            "principalId": a.principal_id,
            "principalType": "ServicePrincipal",
            "scope": a.scope,
            "condition": null,
            "conditionVersion": null,
            "createdOn": rfc3339(a.created),
            "updatedOn": rfc3339(a.created),
            "createdBy": null,
            "updatedBy": null,
            "delegatedManagedIdentityResourceId": null,
            "description": null,
        }
    })
}

fn definition_json(role: &RoleDefinition, sub: &str) -> Value {
    json!({
        "id": definition_id(sub, role),
        "name": role.id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": role.actions,
                "notActions": role.not_actions,
                "dataActions": role.data_actions,
                "notDataActions": role.not_data_actions,
            }],
        }
    })
}

async fn caller(
    state: &AppState,
    request: &RequestHead,
    scope: &str,
) -> Result<(AuthenticatedPrincipal, String), ApiError> {
    let sub = subscription_of(scope)?;
    let (caller, sub) = caller_for_subscription(state, request, sub).await?;
    Ok((caller, sub.id.to_string()))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`.
pub async fn list_assignments(
    state: &AppState,
    request: &RequestHead,
    scope: &str,
) -> Result<Response, ApiError> {
    require(request.uri(), "roleAssignments", AUTHORIZATION)?;
    let (caller, sub) = caller(state, request, scope).await?;
    authorize(state, &caller, scope, READ).await?;
    let assignments = state.identity().list_role_assignments(Some(scope)).await?;
    let value: Vec<Value> = assignments
        .iter()
        .map(|a| assignment_json(a, &sub))
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

/// `GET|PUT|DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
pub async fn assignment(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    scope: &str,
    name: &str,
    op: ResourceOp,
) -> Result<Response, ApiError> {
    require(request.uri(), "roleAssignments", AUTHORIZATION)?;
    let (caller, sub) = caller(state, request, scope).await?;
    let id = Uuid::parse_str(name).map_err(|_| {
        ApiError::bad_request(
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid: it must be a GUID."),
        )
    })?;
    let identity = state.identity();
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "RoleAssignmentNotFound",
            format!("The role assignment '{name}' is not found."),
        )
    };
    match op {
        ResourceOp::Get | ResourceOp::Head => {
            authorize(state, &caller, scope, READ).await?;
            let a = identity.role_assignment(id).await?.ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, assignment_json(&a, &sub)))
        }
        ResourceOp::Put | ResourceOp::Patch => {
            authorize(state, &caller, scope, WRITE).await?;
            let body: PutBody = json_body(state, body).await?;
            let role =
                parse_role_definition_id(&body.properties.role_definition_id).ok_or_else(|| {
                    ApiError::bad_request(
                        "RoleDefinitionDoesNotExist",
                        "The specified role definition does not exist.",
                    )
                })?;
            let principal = Uuid::parse_str(&body.properties.principal_id).map_err(|_| {
                ApiError::bad_request("InvalidPrincipalId", "principalId must be a GUID.")
            })?;
            // As in ARM: with principalType given, the principal need not be in this
            // directory (here: principals of trusted external issuers).
            let (a, created) = match identity.principal(principal).await {
                Ok(target) if target.tenant_id == caller.principal.tenant_id => {
                    identity.assign_role(id, scope, principal, role.id).await?
                }
                _ if body.properties.principal_type.is_some() => {
                    identity
                        .assign_role_unchecked(id, scope, principal, role.id)
                        .await?
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "PrincipalNotFound",
                        format!(
                            "Principal {principal} does not exist in the directory {}.",
                            caller.principal.tenant_id
                        ),
                    ));
                }
            };
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            notify_vaults(state, scope).await?;
            Ok(json(status, assignment_json(&a, &sub)))
        }
        ResourceOp::Delete => {
            authorize(state, &caller, scope, DELETE).await?;
            match identity.delete_role_assignment(id).await? {
                Some(a) => {
                    notify_vaults(state, &a.scope).await?;
                    Ok(json(StatusCode::OK, assignment_json(&a, &sub)))
                }
                None => Ok(crate::http::empty(StatusCode::NO_CONTENT)),
            }
        }
    }
}

/// Role assignments decide RBAC vault access: tell the vaults under `scope` at once.
async fn notify_vaults(state: &AppState, scope: &str) -> Result<(), ApiError> {
    state
        .vaults()
        .notify_access_changed(scope)
        .await
        .map_err(crate::arm::error::vault_error)
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions[?$filter=roleName eq 'X']`.
pub async fn list_definitions(
    state: &AppState,
    request: &RequestHead,
    scope: &str,
) -> Result<Response, ApiError> {
    require(request.uri(), "roleDefinitions", AUTHORIZATION)?;
    let (_caller, sub) = caller(state, request, scope).await?;
    let wanted = query_param(request.uri(), "$filter").and_then(|f| {
        let f = f.trim();
        let rest = f.strip_prefix("roleName eq ")?;
        Some(rest.trim_matches('\'').to_owned())
    });
    let value: Vec<Value> = BUILTIN_ROLES
        .iter()
        .filter(|r| {
            wanted
                .as_deref()
                .is_none_or(|w| r.name.eq_ignore_ascii_case(w))
        })
        .map(|r| definition_json(r, &sub))
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`.
pub async fn get_definition(
    state: &AppState,
    request: &RequestHead,
    scope: &str,
    id: &str,
) -> Result<Response, ApiError> {
    require(request.uri(), "roleDefinitions", AUTHORIZATION)?;
    let (_caller, sub) = caller(state, request, scope).await?;
    let role = Uuid::parse_str(id)
        .ok()
        .and_then(role_by_id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "RoleDefinitionDoesNotExist",
                "The specified role definition does not exist.",
            )
        })?;
    Ok(json(StatusCode::OK, definition_json(role, &sub)))
}
