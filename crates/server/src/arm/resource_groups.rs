//! `/subscriptions/{sub}/resourcegroups[/{rg}]`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::ResourceGroup;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::arm::error::api_version;
use crate::arm::routes::ResourceOp;
use crate::http::ApiError;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::empty;
use crate::http::{RequestHead, json, json_body};
use crate::state::AppState;

#[derive(Deserialize)]
struct PutBody {
    location: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default, rename = "managedBy")]
    managed_by: Option<String>,
}

#[derive(Deserialize)]
struct PatchBody {
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

/// The ARM representation.
pub fn rg_json(rg: &ResourceGroup) -> Value {
    let mut v = json!({
        "id": format!("/subscriptions/{}/resourceGroups/{}", rg.subscription_id, rg.name),
        "name": rg.name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": rg.location,
        "tags": rg.tags,
        "properties": { "provisioningState": "Succeeded" },
    });
    if let Some(managed_by) = &rg.managed_by {
        v["managedBy"] = json!(managed_by);
    }
    v
}

/// `GET …/resourcegroups`.
pub async fn list(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let sub = grant.sub()?;
    let groups = state.identity().list_resource_groups(sub.id).await?;
    Ok(json(
        StatusCode::OK,
        json!({ "value": groups.iter().map(rg_json).collect::<Vec<_>>() }),
    ))
}

/// One resource group.
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    grant: &Grant,
    name: &str,
    op: ResourceOp,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let sub = grant.sub()?;
    let scope = &grant.scope;
    let identity = state.identity();
    match op {
        ResourceOp::Get | ResourceOp::Head => {
            let found = identity.resource_group(sub.id, name).await;
            match (op, found) {
                (ResourceOp::Head, Ok(_)) => Ok(empty(StatusCode::NO_CONTENT)),
                (ResourceOp::Head, Err(_)) => Ok(empty(StatusCode::NOT_FOUND)),
                (_, found) => Ok(json(StatusCode::OK, rg_json(&found?))),
            }
        }
        ResourceOp::Put => {
            let body: PutBody = json_body(state, body).await?;
            super::limits::check_tags(&body.tags)?;
            let location = body.location.ok_or_else(|| {
                ApiError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                )
            })?;
            let (rg, created) = identity
                .put_resource_group(sub, name, &location, body.tags, body.managed_by)
                .await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, rg_json(&rg)))
        }
        ResourceOp::Patch => {
            let body: PatchBody = json_body(state, body).await?;
            if let Some(tags) = &body.tags {
                super::limits::check_tags(tags)?;
            }
            let existing = identity.resource_group(sub.id, name).await?;
            let tags = body.tags.unwrap_or(existing.tags);
            let (rg, _) = identity
                .put_resource_group(
                    sub,
                    &existing.name,
                    &existing.location,
                    tags,
                    existing.managed_by,
                )
                .await?;
            Ok(json(StatusCode::OK, rg_json(&rg)))
        }
        ResourceOp::Delete => {
            // Resources in the group go with it.
            for principal in identity.list_user_assigned(scope).await? {
                if let keyhold_identity::PrincipalKind::UserAssigned { resource_id } =
                    &principal.kind
                {
                    super::identities::delete_resource(state, resource_id).await?;
                }
            }
            super::template_deployments::delete_group_deployments(state, sub.id, name).await?;
            if identity.delete_resource_group(sub.id, name).await? {
                Ok(empty(StatusCode::OK))
            } else {
                Ok(empty(StatusCode::NO_CONTENT))
            }
        }
    }
}
