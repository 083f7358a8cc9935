//! `Microsoft.CognitiveServices/accounts/{account}/deployments`: model deployments, with the
//! same long-running-operation headers as accounts. Deploying a fine-tuned model needs the
//! account's key (its artifact is decrypted into memory); see `keyhold_platform::deployments`.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::Subscription;
use keyhold_platform::Account;
use keyhold_platform::deployments::{Deployment, DeploymentSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::platform_error;
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

#[derive(Deserialize)]
struct ModelBody {
    format: Option<String>,
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct PropertiesBody {
    model: ModelBody,
}

#[derive(Deserialize)]
struct SkuBody {
    name: Option<String>,
    capacity: Option<u32>,
}

#[derive(Deserialize)]
struct DeploymentBody {
    properties: PropertiesBody,
    sku: Option<SkuBody>,
}

fn deployment_json(account: &Account, d: &Deployment) -> Value {
    json!({
        "id": format!("{}/deployments/{}", account.resource_id(), d.name),
        "name": d.name,
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "sku": { "name": d.sku_name, "capacity": d.sku_capacity },
        "systemData": { "createdAt": rfc3339(d.created_at) },
        "properties": {
            "model": { "format": d.model_format, "name": d.model_name, "version": d.model_version },
            "provisioningState": "Succeeded",
            "capabilities": { "chatCompletion": "true" },
            "raiPolicyName": "Microsoft.DefaultV2",
            "versionUpgradeOption": "NoAutoUpgrade",
        }
    })
}

fn deployment_not_found(name: &str, account: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "DeploymentNotFound",
        format!("Deployment {name} was not found in account {account}."),
    )
}

/// Dispatches a deployments request.
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
        ArmRoute::ListDeployments { .. } => {
            let value: Vec<Value> = platform
                .deployments(account)
                .await
                .map_err(platform_error)?
                .iter()
                .map(|d| deployment_json(account, d))
                .collect();
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::Deployment { name, op, .. } => match op {
            ResourceOp::Get | ResourceOp::Head => {
                let d = platform
                    .deployment(account, &name)
                    .await
                    .map_err(|e| match e {
                        keyhold_platform::PlatformError::ObjectNotFound { .. }
                        | keyhold_platform::PlatformError::InvalidRequest(_) => {
                            deployment_not_found(&name, &account.name)
                        }
                        other => platform_error(other),
                    })?;
                Ok(json(StatusCode::OK, deployment_json(account, &d)))
            }
            ResourceOp::Put | ResourceOp::Patch => {
                let body: DeploymentBody = json_body(state, body).await?;
                let spec = DeploymentSpec {
                    model_format: body.properties.model.format,
                    model_name: body.properties.model.name,
                    model_version: body.properties.model.version,
                    sku_name: body.sku.as_ref().and_then(|s| s.name.clone()),
                    sku_capacity: body.sku.as_ref().and_then(|s| s.capacity),
                };
                let (d, created) = platform
                    .put_deployment(account, &name, spec)
                    .await
                    .map_err(platform_error)?;
                super::lro::written(
                    state,
                    sub,
                    &account.location,
                    request,
                    created,
                    deployment_json(account, &d),
                )
                .await
            }
            ResourceOp::Delete => {
                let existed = platform
                    .delete_deployment(account, &name)
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
