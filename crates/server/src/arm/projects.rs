//! `Microsoft.CognitiveServices/accounts/{account}/projects`: Foundry projects, with the same
//! long-running-operation headers as accounts. Projects inherit their account's encryption.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::{AuthenticatedPrincipal, Subscription};
use keyhold_platform::Account;
use keyhold_platform::PlatformError;
use keyhold_platform::projects::{Project, ProjectSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::account_body::{IdentityBody, parse_identity};
use super::accounts::authorize_identity_assignments;
use super::error::platform_error;
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

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
    let system = match state.identity().managed_identity_for_resource(&id).await? {
        Some(p) if project.system_assigned => Some(p),
        _ => None,
    };
    let kind = match (system.is_some(), !project.user_assigned.is_empty()) {
        (false, false) => "None",
        (true, false) => "SystemAssigned",
        (false, true) => "UserAssigned",
        (true, true) => "SystemAssigned, UserAssigned",
    };
    let mut identity = json!({ "type": kind });
    if let Some(p) = system {
        identity["principalId"] = json!(p.object_id);
        identity["tenantId"] = json!(p.tenant_id);
    }
    if !project.user_assigned.is_empty() {
        let mut map = serde_json::Map::new();
        for uai in &project.user_assigned {
            let entry = match state.identity().managed_identity_for_resource(uai).await? {
                Some(p) => json!({ "principalId": p.object_id, "clientId": p.client_id }),
                None => json!({}),
            };
            map.insert(uai.clone(), entry);
        }
        identity["userAssignedIdentities"] = Value::Object(map);
    }
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
    caller: &AuthenticatedPrincipal,
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
                let p = platform
                    .project(account, &name)
                    .await
                    .map_err(|e| match e {
                        PlatformError::ObjectNotFound { .. } | PlatformError::InvalidRequest(_) => {
                            ApiError::new(
                                StatusCode::NOT_FOUND,
                                "ResourceNotFound",
                                format!(
                                    "Project {name} was not found in account {}.",
                                    account.name
                                ),
                            )
                        }
                        other => platform_error(other),
                    })?;
                Ok(json(
                    StatusCode::OK,
                    project_json(state, account, &p).await?,
                ))
            }
            ResourceOp::Put | ResourceOp::Patch => {
                let body: ProjectBody = json_body(state, body).await?;
                let identity = body.identity.map(parse_identity).transpose()?;
                if let Some(identity) = &identity {
                    // Attaching an identity hands its tokens to the project: it needs a grant
                    // on the identity itself, as for accounts.
                    authorize_identity_assignments(state, caller, &identity.user_assigned).await?;
                }
                let spec = ProjectSpec {
                    display_name: body.properties.display_name,
                    description: body.properties.description,
                    system_assigned: identity.as_ref().map(|i| i.system_assigned),
                    user_assigned: identity.map(|i| i.user_assigned),
                };
                let (project, created) = platform
                    .put_project(account, &name, spec)
                    .await
                    .map_err(platform_error)?;
                super::lro::written(
                    state,
                    sub,
                    &account.location,
                    request,
                    created,
                    project_json(state, account, &project).await?,
                )
                .await
            }
            ResourceOp::Delete => {
                let existed = platform
                    .delete_project(account, &name)
                    .await
                    .map_err(platform_error)?;
                super::lro::deleted(state, sub, existed.then_some(account.location.as_str())).await
            }
        },
        _ => Err(ApiError::no_route(
            request.method().as_str(),
            request.uri().path(),
        )),
    }
}
