//! `Microsoft.Authorization`: role assignments (any scope) and the built-in role definitions.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::roles::{parse_role_definition_id, role_by_id};
use keyhold_identity::{BUILTIN_ROLES, RoleAssignment, RoleDefinition};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::arm::error::api_version;
use crate::arm::routes::ResourceOp;
use crate::http::ApiError;
use crate::http::api_version::{Plane, query_param};
use crate::http::authz::Grant;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

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

/// Whether two role-assignment scopes are the same (ARM compares them without regard to case
/// or a trailing `/`).
fn same_scope(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments`: the assignments that
/// apply at the scope (at it, above or below it) within the subscription's tenant; an
/// assignment above every subscription (`/`, `/tenants/{t}`) of another tenant's principal
/// is none of this tenant's business.
pub async fn list_assignments(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
    scope: &str,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Authorization)?;
    let sub = grant.sub()?;
    let assignments = state
        .identity()
        .list_role_assignments_for_tenant(scope, sub.tenant_id)
        .await?;
    let sub = sub.id.to_string();
    let value: Vec<Value> = assignments
        .iter()
        .map(|a| assignment_json(a, &sub))
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

/// `GET|PUT|DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`. An
/// assignment is an extension resource of its scope: one stored at another scope is not
/// found here, whatever its id (ids are global, scopes are what was authorized).
pub async fn assignment(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    grant: &Grant,
    name: &str,
    op: ResourceOp,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Authorization)?;
    let caller = &grant.caller;
    let sub = grant.sub()?.id.to_string();
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
            let a = identity
                .role_assignment(id)
                .await?
                .filter(|a| same_scope(&a.scope, &grant.scope))
                .ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, assignment_json(&a, &sub)))
        }
        ResourceOp::Put | ResourceOp::Patch => {
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
            let absent = || {
                ApiError::bad_request(
                    "PrincipalNotFound",
                    format!(
                        "Principal {principal} does not exist in the directory {}.",
                        caller.principal.tenant_id
                    ),
                )
            };
            // As in ARM: with principalType given, the principal need not be in this
            // directory (principals of trusted external issuers, whose ids are their own
            // namespace). A principal of another tenant of this keyhold is never assignable
            // here, and is refused exactly like one that does not exist.
            let (a, created) = match identity.principal(principal).await {
                Ok(target) if target.tenant_id == caller.principal.tenant_id => {
                    identity
                        .assign_role(id, &grant.scope, principal, role.id)
                        .await?
                }
                Ok(_) => return Err(absent()),
                Err(keyhold_identity::IdentityError::PrincipalNotFound(_))
                    if body.properties.principal_type.is_some() =>
                {
                    identity
                        .assign_role_unchecked(id, &grant.scope, principal, role.id)
                        .await?
                }
                Err(keyhold_identity::IdentityError::PrincipalNotFound(_)) => {
                    return Err(absent());
                }
                Err(other) => return Err(other.into()),
            };
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            notify_vaults(state, &grant.scope).await?;
            Ok(json(status, assignment_json(&a, &sub)))
        }
        ResourceOp::Delete => match identity.delete_role_assignment_at(id, &grant.scope).await? {
            Some(a) => {
                notify_vaults(state, &a.scope).await?;
                Ok(json(StatusCode::OK, assignment_json(&a, &sub)))
            }
            None => Ok(crate::http::empty(StatusCode::NO_CONTENT)),
        },
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
    grant: &Grant,
) -> Result<Response, ApiError> {
    let _ = state;
    api_version(request.uri(), Plane::Authorization)?;
    let sub = grant.sub()?.id.to_string();
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
    grant: &Grant,
    id: &str,
) -> Result<Response, ApiError> {
    let _ = state;
    api_version(request.uri(), Plane::Authorization)?;
    let sub = grant.sub()?.id.to_string();
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
