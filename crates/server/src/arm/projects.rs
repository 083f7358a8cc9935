//! `Microsoft.CognitiveServices/accounts/{account}/projects`: Foundry projects, with the same
//! long-running-operation headers as accounts. Projects inherit their account's encryption.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::Subscription;
use keyhold_platform::Account;
use keyhold_platform::projects::{Project, ProjectSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::platform_error;
use super::lro::{Finished, with_operation};
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityBody {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PropertiesBody {
    display_name: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct ProjectBody {
    identity: Option<IdentityBody>,
    #[serde(default)]
    properties: PropertiesBody,
}

async fn project_json(
    state: &AppState,
    account: &Account,
    project: &Project,
) -> Result<Value, ApiError> {
    let id = project.resource_id(account);
    let identity = match state.identity().managed_identity_for_resource(&id).await? {
        Some(p) if project.system_assigned => json!({
            "type": "SystemAssigned", "principalId": p.object_id, "tenantId": p.tenant_id,
        }),
        _ => json!({ "type": "None" }),
    };
    Ok(json!({
        "id": id,
        "name": project.name,
        "type": "Microsoft.CognitiveServices/accounts/projects",
        "location": account.location,
        "identity": identity,
        "properties": {
            "displayName": project.display_name,
            "description": project.description,
            "isDefault": project.is_default,
            "provisioningState": "Succeeded",
            "endpoints": {
                "AI Foundry API": format!(
                    "https://{}.{}:{}/api/projects/{}",
                    account.name.to_ascii_lowercase(),
                    state.config().ai_domain,
                    state.public_port(),
                    project.name
                ),
            },
            "dateCreated": rfc3339(project.created),
        }
    }))
}

/// Dispatches a projects request.
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    sub: &Subscription,
    account: &Account,
) -> Result<Response, ApiError> {
    let platform = state.platform();
    match route {
        ArmRoute::ListProjects { .. } => {
            let mut value = Vec::new();
            for p in platform
                .list_projects(account)
                .await
                .map_err(platform_error)?
            {
                value.push(project_json(state, account, &p).await?);
            }
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::Project { name, op, .. } => match op {
            ResourceOp::Get | ResourceOp::Head => {
                let p = platform.project(account, &name).await.map_err(|_| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "ResourceNotFound",
                        format!("Project {name} was not found in account {}.", account.name),
                    )
                })?;
                Ok(json(
                    StatusCode::OK,
                    project_json(state, account, &p).await?,
                ))
            }
            ResourceOp::Put | ResourceOp::Patch => {
                let body: ProjectBody = json_body(state, body).await?;
                let system_assigned = match body.identity {
                    None => None,
                    Some(i) => match i.kind.to_ascii_lowercase().as_str() {
                        "systemassigned" => Some(true),
                        "none" => Some(false),
                        other => {
                            return Err(ApiError::bad_request(
                                "InvalidIdentityType",
                                format!(
                                    "project identity.type {other:?} is invalid: use SystemAssigned or None"
                                ),
                            ));
                        }
                    },
                };
                let spec = ProjectSpec {
                    display_name: body.properties.display_name,
                    description: body.properties.description,
                    system_assigned,
                };
                let (project, created) = platform
                    .put_project(account, &name, spec)
                    .await
                    .map_err(platform_error)?;
                let status = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                let response = json(status, project_json(state, account, &project).await?);
                with_operation(
                    state,
                    sub,
                    &account.location,
                    response,
                    Finished::Resource(request),
                )
                .await
            }
            ResourceOp::Delete => {
                if platform
                    .delete_project(account, &name)
                    .await
                    .map_err(platform_error)?
                {
                    let response = crate::http::empty(StatusCode::ACCEPTED);
                    with_operation(state, sub, &account.location, response, Finished::Deleted).await
                } else {
                    Ok(crate::http::empty(StatusCode::NO_CONTENT))
                }
            }
        },
        _ => Err(ApiError::no_route(
            request.method().as_str(),
            request.uri().path(),
        )),
    }
}
