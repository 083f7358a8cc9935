//! `Microsoft.ManagedIdentity/userAssignedIdentities`: the ARM resource around a user-assigned
//! managed identity. The principal lives in the identity service; the resource's location and
//! tags live in a small ARM record beside it.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::Principal;
use keyhold_store::{Precondition, RecordStoreExt, Versioned};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::arm::error::api_version;
use crate::arm::routes::ResourceOp;
use crate::http::ApiError;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{RequestHead, json, json_body};
use crate::state::AppState;

const NAMESPACE: &str = "arm.user_assigned_identities";

/// ARM envelope of a user-assigned identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdentityResource {
    id: String,
    name: String,
    location: String,
    tags: BTreeMap<String, String>,
}
impl Versioned for IdentityResource {
    const KIND: &'static str = "arm.user_assigned_identity";
    const SCHEMA: u16 = 1;
}

#[derive(Deserialize)]
struct PutBody {
    location: Option<String>,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

fn key(resource_id: &str) -> String {
    resource_id.to_ascii_lowercase()
}

fn to_json(resource: &IdentityResource, principal: &Principal) -> Value {
    json!({
        "id": resource.id,
        "name": resource.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "location": resource.location,
        "tags": resource.tags,
        "properties": {
            "tenantId": principal.tenant_id,
            "principalId": principal.object_id,
            "clientId": principal.client_id,
        }
    })
}

/// Validates an identity name: 3–128 of letters, digits, `-` and `_`, starting alphanumeric.
fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = (3..=128).contains(&name.len())
        && name.chars().next().is_some_and(char::is_alphanumeric)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "InvalidResourceName",
            format!(
                "Resource name {name:?} is invalid: use 3-128 letters, digits, '-' or '_', starting with a letter or digit."
            ),
        ))
    }
}

/// Deletes the identity resource and its principal.
pub(crate) async fn delete_resource(state: &AppState, resource_id: &str) -> Result<bool, ApiError> {
    let removed = state.identity().delete_for_resource(resource_id).await?;
    state.records().delete(NAMESPACE, &key(resource_id)).await?;
    Ok(removed)
}

/// `GET …/userAssignedIdentities` by subscription or resource group.
pub async fn list(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
    group: Option<&str>,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::ManagedIdentity)?;
    let sub = grant.sub()?;
    let value = list_json(state, &super::list_scope(sub.id, group)).await?;
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

/// The user-assigned identities under `scope` (a subscription or resource group id), in
/// ARM's shape.
pub(crate) async fn list_json(state: &AppState, scope: &str) -> Result<Vec<Value>, ApiError> {
    let mut value = Vec::new();
    for principal in state
        .identity()
        .list_user_assigned(&format!("{scope}/"))
        .await?
    {
        if let keyhold_identity::PrincipalKind::UserAssigned { resource_id } = &principal.kind
            && let Some((resource, _)) = state
                .records()
                .get_typed::<IdentityResource>(NAMESPACE, &key(resource_id))
                .await?
        {
            value.push(to_json(&resource, &principal));
        }
    }
    Ok(value)
}

/// One identity.
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    grant: &Grant,
    group: &str,
    name: &str,
    op: ResourceOp,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::ManagedIdentity)?;
    let sub = grant.sub()?;
    let resource_id = grant.scope.clone();
    let identity = state.identity();
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/{name}' under resource group '{group}' was not found."
            ),
        )
    };
    match op {
        ResourceOp::Get | ResourceOp::Head => {
            let resource = state
                .records()
                .get_typed::<IdentityResource>(NAMESPACE, &key(&resource_id))
                .await?;
            let principal = identity.managed_identity_for_resource(&resource_id).await?;
            match (resource, principal) {
                (Some((resource, _)), Some(principal)) => {
                    Ok(json(StatusCode::OK, to_json(&resource, &principal)))
                }
                _ => Err(not_found()),
            }
        }
        ResourceOp::Put | ResourceOp::Patch => {
            validate_name(name)?;
            let rg = identity.resource_group(sub.id, group).await?;
            let body: PutBody = json_body(state, body).await?;
            if let Some(tags) = &body.tags {
                super::limits::check_tags(tags)?;
            }
            let existing = state
                .records()
                .get_typed::<IdentityResource>(NAMESPACE, &key(&resource_id))
                .await?;
            let (resource, expect) = match (existing, op) {
                (Some((mut r, version)), _) => {
                    if let Some(tags) = body.tags {
                        r.tags = tags;
                    }
                    (r, Precondition::Version(version))
                }
                (None, ResourceOp::Patch) => return Err(not_found()),
                (None, _) => {
                    let location = body.location.unwrap_or_else(|| rg.location.clone());
                    let resource = IdentityResource {
                        id: resource_id.clone(),
                        name: name.to_owned(),
                        location: location.to_ascii_lowercase().replace(' ', ""),
                        tags: body.tags.unwrap_or_default(),
                    };
                    (resource, Precondition::Absent)
                }
            };
            let created = expect == Precondition::Absent;
            let (principal, _) = identity
                .put_user_assigned(sub.tenant_id, &resource_id, name)
                .await?;
            state
                .records()
                .put_typed(NAMESPACE, &key(&resource_id), &resource, expect)
                .await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, to_json(&resource, &principal)))
        }
        ResourceOp::Delete => {
            if delete_resource(state, &resource_id).await? {
                Ok(crate::http::empty(StatusCode::OK))
            } else {
                Ok(crate::http::empty(StatusCode::NO_CONTENT))
            }
        }
    }
}
