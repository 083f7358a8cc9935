//! The handlers of `Microsoft.Resources/deployments` (authorized and audited by the ARM gate
//! before they run): create or replace (long-running, run in the background), read, list,
//! delete, validate, what-if, export, cancel, operations and the operation status.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::Subscription;
use keyhold_store::StoreError;
use serde_json::{Value, json};

use super::error::DeployError;
use super::host::ArmHost;
use super::prepare::{check_name, preflight, prepare};
use super::routes::{DeploymentAction, DeploymentScope};
use super::run::{LEASE_SECS, RunSpec, node_id, spawn};
use super::shapes::{deployment_json, polled, status_json, template_hash, with_async_operation};
use super::store::{self, DeploymentRecord, record_key, states};
use crate::arm::routes::ResourceOp;
use crate::http::authz::Grant;
use crate::http::{ApiError, RequestHead, empty, json};
use crate::state::AppState;

fn key_of(sub: &Subscription, scope: &DeploymentScope, name: &str) -> String {
    record_key(sub.id, scope.resource_group.as_deref(), name)
}

async fn existing(
    state: &AppState,
    sub: &Subscription,
    scope: &DeploymentScope,
    name: &str,
) -> Result<(String, DeploymentRecord, u64), DeployError> {
    let key = key_of(sub, scope, name);
    match store::load(state, &key).await? {
        Some((r, v)) => Ok((key, r, v)),
        None => Err(DeployError::not_found(name)),
    }
}

/// `PUT …/deployments/{name}`: prepares the deployment (a bad template answers 400 at once),
/// stores it `Accepted` and runs it in the background; answers 201 (200 when replacing) with
/// `Azure-AsyncOperation`.
pub(crate) async fn put(
    state: &AppState,
    head: &RequestHead,
    body: Body,
    grant: &Grant,
    scope: &DeploymentScope,
    name: &str,
    api_version: &str,
) -> Result<Response, DeployError> {
    let sub = grant.sub()?;
    let prepared = prepare(state, body, sub, scope, name).await?;
    let key = key_of(sub, scope, name);
    let previous = store::load(state, &key).await?;
    let now = keyhold_platform::Platform::now();
    if let Some((r, _)) = &previous
        && r.is_active()
        && r.lease_until > now
    {
        return Err(DeployError::active(name));
    }
    let id = prepared.deployment.validate_response()["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let correlation_id = head
        .headers()
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let record = DeploymentRecord {
        id: id.clone(),
        name: name.to_owned(),
        subscription: sub.id,
        resource_group: prepared.target.group.clone(),
        location: prepared
            .location
            .clone()
            .filter(|_| scope.resource_group.is_none()),
        tags: prepared.tags.clone(),
        state: states::ACCEPTED.into(),
        operation_id: uuid::Uuid::new_v4().to_string(),
        correlation_id,
        template_hash: template_hash(&prepared.template),
        template: Some(prepared.template.clone()),
        parameters: prepared.deployment.parameters(),
        properties: None,
        operations: Vec::new(),
        output_resources: Vec::new(),
        error: None,
        started: now,
        finished: None,
        lease_owner: Some(node_id().to_owned()),
        lease_until: now + LEASE_SECS,
        cancel_requested: false,
        caller: grant.caller.principal.object_id.to_string(),
        parent: None,
    };
    store::begin(state, &key, &record, previous.as_ref().map(|(_, v)| *v))
        .await
        .map_err(|e| {
            if e.status() == StatusCode::CONFLICT {
                // Another PUT of the same name won the race.
                DeployError::active(name)
            } else {
                DeployError::Api(e)
            }
        })?;
    let spec = RunSpec {
        key,
        operation_id: record.operation_id.clone(),
        caller: grant.caller.clone(),
        location: prepared.target.location.clone(),
        deployment_id: id,
    };
    spawn(state.clone(), spec, prepared.deployment);
    let status = if previous.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let response = json(status, deployment_json(&record));
    Ok(with_async_operation(state, &record, api_version, response))
}

/// Every other deployments route.
pub(crate) async fn get_or_delete(
    state: &AppState,
    grant: &Grant,
    scope: &DeploymentScope,
    name: &str,
    op: ResourceOp,
) -> Result<Response, DeployError> {
    let sub = grant.sub()?;
    match op {
        ResourceOp::Head => match store::load(state, &key_of(sub, scope, name)).await? {
            Some(_) => Ok(empty(StatusCode::NO_CONTENT)),
            None => Ok(empty(StatusCode::NOT_FOUND)),
        },
        ResourceOp::Delete => match store::load(state, &key_of(sub, scope, name)).await? {
            None => Ok(empty(StatusCode::NO_CONTENT)),
            Some((r, _)) if r.is_active() => Err(DeployError::active(name)),
            // Deleting the record is immediate: 204, which the SDK pollers take as done (they
            // accept 202 and 204 only).
            Some((_, v)) => {
                store::delete(state, &key_of(sub, scope, name), v).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
        },
        _ => {
            let (_, r, _) = existing(state, sub, scope, name).await?;
            Ok(polled(deployment_json(&r), r.is_active()))
        }
    }
}

/// `GET …/deployments`.
pub(crate) async fn list(
    state: &AppState,
    grant: &Grant,
    scope: &DeploymentScope,
) -> Result<Response, DeployError> {
    let sub = grant.sub()?;
    let value: Vec<Value> = store::list(state, sub.id, scope.resource_group.as_deref())
        .await?
        .iter()
        .map(deployment_json)
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

/// `POST …/deployments/{name}/{action}`.
pub(crate) async fn action(
    state: &AppState,
    body: Body,
    grant: &Grant,
    scope: &DeploymentScope,
    name: &str,
    action: DeploymentAction,
) -> Result<Response, DeployError> {
    let sub = grant.sub()?;
    match action {
        DeploymentAction::Validate => {
            let prepared = prepare(state, body, sub, scope, name).await?;
            preflight(state, &grant.caller, &prepared, name).await?;
            Ok(json(
                StatusCode::OK,
                prepared.deployment.validate_response(),
            ))
        }
        DeploymentAction::WhatIf => {
            let prepared = prepare(state, body, sub, scope, name).await?;
            let id = prepared.deployment.validate_response()["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let host = ArmHost::new(
                state.clone(),
                grant.caller.clone(),
                &prepared.target.location,
                &id,
            );
            let result = prepared.deployment.what_if(&host).await?;
            Ok(json(StatusCode::OK, result.to_json()))
        }
        DeploymentAction::ExportTemplate => {
            check_name(name)?;
            let (_, r, _) = existing(state, sub, scope, name).await?;
            match r.template {
                Some(template) => Ok(json(StatusCode::OK, json!({ "template": template }))),
                None => Err(DeployError::Api(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "DeploymentTemplateNotFound",
                    format!(
                        "Deployment '{name}' was run by its parent deployment; export the parent's template."
                    ),
                ))),
            }
        }
        DeploymentAction::Cancel => cancel(state, sub, scope, name).await,
    }
}

async fn cancel(
    state: &AppState,
    sub: &Subscription,
    scope: &DeploymentScope,
    name: &str,
) -> Result<Response, DeployError> {
    for _ in 0..keyhold_store::CONFLICT_ATTEMPTS {
        let (key, mut r, v) = existing(state, sub, scope, name).await?;
        if !r.is_active() {
            return Err(DeployError::Api(ApiError::new(
                StatusCode::CONFLICT,
                "DeploymentNotActive",
                format!(
                    "Deployment '{name}' cannot be canceled: its provisioning state is '{}'; only Accepted or Running deployments can be.",
                    r.state
                ),
            )));
        }
        r.cancel_requested = true;
        match store::update(state, &key, &r, v).await {
            Ok(_) => return Ok(empty(StatusCode::NO_CONTENT)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DeployError::Api(ApiError::new(
        StatusCode::CONFLICT,
        "Conflict",
        "the deployment changed concurrently; retry",
    )))
}

/// `GET …/operations[/{id}]`.
pub(crate) async fn operations(
    state: &AppState,
    grant: &Grant,
    scope: &DeploymentScope,
    name: &str,
    id: Option<&str>,
) -> Result<Response, DeployError> {
    let sub = grant.sub()?;
    let (_, r, _) = existing(state, sub, scope, name).await?;
    match id {
        None => Ok(json(StatusCode::OK, json!({ "value": r.operations }))),
        Some(id) => r
            .operations
            .iter()
            .find(|o| {
                o["operationId"]
                    .as_str()
                    .is_some_and(|o| o.eq_ignore_ascii_case(id))
            })
            .map(|o| json(StatusCode::OK, o.clone()))
            .ok_or_else(|| {
                DeployError::Api(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "DeploymentOperationNotFound",
                    format!("Operation '{id}' of deployment '{name}' could not be found."),
                ))
            }),
    }
}

/// `GET …/operationStatuses/{id}`: what the `Azure-AsyncOperation` poller reads.
pub(crate) async fn status(
    state: &AppState,
    head: &RequestHead,
    grant: &Grant,
    scope: &DeploymentScope,
    name: &str,
    id: &str,
) -> Result<Response, DeployError> {
    let sub = grant.sub()?;
    let found = store::load(state, &key_of(sub, scope, name)).await?;
    match found {
        Some((r, _)) if r.operation_id.eq_ignore_ascii_case(id) => {
            Ok(polled(status_json(head.uri().path(), &r), r.is_active()))
        }
        _ => Err(DeployError::Api(ApiError::new(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            format!("Operation '{id}' of deployment '{name}' could not be found."),
        ))),
    }
}
