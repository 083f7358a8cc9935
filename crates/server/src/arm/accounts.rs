//! `Microsoft.CognitiveServices/accounts`: AI accounts on ARM, with the long-running-operation
//! protocol the SDK pollers follow.
//!
//! Every check (kind, identities, every CMK rule) runs before anything is written, and a
//! refused request answers its ARM error at once, so an account never ends half-switched. An
//! accepted write answers `201`/`200` (`202` for DELETE) with `Azure-AsyncOperation` and
//! `Location` naming an operation record and `Retry-After: 1` (a zero or missing value would
//! make the pollers wait 30 s); the record says `Succeeded`, and the poller then reads the
//! resource.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::{AuthenticatedPrincipal, Subscription};
use keyhold_platform::{Account, AccountSpec, DeletedAccount, Encryption, PlatformError};
use keyhold_store::RecordStoreExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::account_body::{AccountBody, parse_encryption, parse_identity};
use super::error::platform_error;
use super::lro::{Finished, OPERATIONS, Operation, with_operation};
use crate::arm::error::api_version;
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

pub(crate) async fn identity_json(state: &AppState, account: &Account) -> Result<Value, ApiError> {
    let kind = match (
        account.identity.system_assigned,
        !account.identity.user_assigned.is_empty(),
    ) {
        (false, false) => return Ok(json!({ "type": "None" })),
        (true, false) => "SystemAssigned",
        (false, true) => "UserAssigned",
        (true, true) => "SystemAssigned, UserAssigned",
    };
    let mut out = json!({ "type": kind });
    if account.identity.system_assigned
        && let Some(p) = state
            .identity()
            .managed_identity_for_resource(&account.resource_id())
            .await?
    {
        out["principalId"] = p.object_id.to_string().into();
        out["tenantId"] = p.tenant_id.to_string().into();
    }
    if !account.identity.user_assigned.is_empty() {
        let mut map = serde_json::Map::new();
        for id in &account.identity.user_assigned {
            let entry = match state.identity().managed_identity_for_resource(id).await? {
                Some(p) => json!({ "principalId": p.object_id, "clientId": p.client_id }),
                None => json!({}),
            };
            map.insert(id.clone(), entry);
        }
        out["userAssignedIdentities"] = Value::Object(map);
    }
    Ok(out)
}

/// The ARM shape of an account.
pub(crate) async fn account_json(state: &AppState, account: &Account) -> Result<Value, ApiError> {
    let encryption = match &account.encryption {
        Encryption::Mmk => {
            json!({ "keySource": "Microsoft.CognitiveServices", "status": "Active" })
        }
        Encryption::Cmk(c) => json!({
            "keySource": "Microsoft.KeyVault",
            "keyVaultProperties": {
                "keyName": c.key_name,
                "keyVersion": c.key_version.clone().unwrap_or_default(),
                "keyVaultUri": c.key_vault_uri,
                "identityClientId": c.identity_client_id,
            },
            "activeKeyVersion": c.active_version,
            "previousKeyVersions": c.previous_versions,
            "status": c.status,
            "statusReason": c.status_reason,
        }),
    };
    let endpoint = format!(
        "https://{}.{}:{}/",
        account.name.to_ascii_lowercase(),
        state.config().ai_domain,
        state.public_port()
    );
    Ok(json!({
        "id": account.resource_id(),
        "name": account.name,
        "type": "Microsoft.CognitiveServices/accounts",
        "location": account.location,
        "kind": account.kind,
        "sku": { "name": account.sku },
        "tags": account.tags,
        "identity": identity_json(state, account).await?,
        "properties": {
            "provisioningState": "Succeeded",
            "endpoint": endpoint,
            "endpoints": { "OpenAI Language Model Instance API": endpoint },
            "customSubDomainName": account.name.to_ascii_lowercase(),
            "publicNetworkAccess": "Enabled",
            "disableLocalAuth": account.disable_local_auth,
            "allowProjectManagement": account.allow_project_management,
            "encryption": encryption,
            "dateCreated": rfc3339(account.created),
        }
    }))
}

fn deleted_json(d: &DeletedAccount) -> Value {
    let a = &d.account;
    json!({
        "id": format!(
            "/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{}/resourceGroups/{}/deletedAccounts/{}",
            a.subscription_id, a.location, a.resource_group, a.name
        ),
        "name": a.name,
        "type": "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts",
        "location": a.location,
        "kind": a.kind,
        "sku": { "name": a.sku },
        "tags": a.tags,
        "properties": {
            "provisioningState": "Succeeded",
            "deletionDate": rfc3339(d.deleted),
            "scheduledPurgeDate": rfc3339(d.scheduled_purge),
        }
    })
}

/// The account `name` if it is an account (not a hub) in `group` of `sub`. Names are
/// global: one elsewhere is answered as absent, exactly like one that does not exist. Store
/// trouble is not absence: it propagates (503).
pub(crate) async fn account_in_group(
    state: &AppState,
    sub: &Subscription,
    group: &str,
    name: &str,
) -> Result<Option<Account>, ApiError> {
    match state.platform().account(name).await {
        Ok(a)
            if a.workspace.is_none()
                && a.subscription_id == sub.id
                && a.resource_group.eq_ignore_ascii_case(group) =>
        {
            Ok(Some(a))
        }
        Ok(_) | Err(PlatformError::AccountNotFound(_) | PlatformError::InvalidRequest(_)) => {
            Ok(None)
        }
        Err(other) => Err(platform_error(other)),
    }
}

/// Like [`account_in_group`], answering an absent account with its 404.
async fn existing_account(
    state: &AppState,
    sub: &Subscription,
    group: &str,
    name: &str,
) -> Result<Account, ApiError> {
    account_in_group(state, sub, group, name)
        .await?
        .ok_or_else(|| not_found(name, group))
}

/// 403 unless the caller holds `assign/action` on every user-assigned identity the request
/// attaches (Azure's rule: attaching an identity hands its tokens to the resource, so it
/// needs a grant on the identity itself, not only on the resource).
pub(crate) async fn authorize_identity_assignments(
    state: &AppState,
    caller: &AuthenticatedPrincipal,
    identities: &[String],
) -> Result<(), ApiError> {
    for id in identities {
        crate::http::auth::authorize(
            state,
            caller,
            id,
            "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
        )
        .await?;
    }
    Ok(())
}

pub(crate) fn not_found(name: &str, group: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.CognitiveServices/accounts/{name}' under resource group '{group}' was not found."
        ),
    )
}

/// Dispatches a `Microsoft.CognitiveServices` request.
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::CognitiveServices)?;
    let sub = grant.sub()?;
    dispatch(state, request, body, route, &grant.caller, sub).await
}

async fn dispatch(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    caller: &AuthenticatedPrincipal,
    sub: &Subscription,
) -> Result<Response, ApiError> {
    let platform = state.platform();
    match route {
        ArmRoute::ListAccounts { resource_group, .. } => {
            let mut value = Vec::new();
            for a in platform
                .list_accounts(sub.id, resource_group.as_deref())
                .await
                .map_err(platform_error)?
            {
                value.push(account_json(state, &a).await?);
            }
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::Account {
            resource_group,
            name,
            op,
            ..
        } => match op {
            ResourceOp::Get | ResourceOp::Head => {
                let a = existing_account(state, sub, &resource_group, &name).await?;
                Ok(json(StatusCode::OK, account_json(state, &a).await?))
            }
            ResourceOp::Put | ResourceOp::Patch => {
                state
                    .identity()
                    .resource_group(sub.id, &resource_group)
                    .await?;
                let body: AccountBody = json_body(state, body).await?;
                if let Some(tags) = &body.tags {
                    super::limits::check_tags(tags)?;
                }
                let identity = body.identity.map(parse_identity).transpose()?;
                if let Some(identity) = &identity {
                    authorize_identity_assignments(state, caller, &identity.user_assigned).await?;
                }
                let spec = AccountSpec {
                    subscription_id: sub.id,
                    tenant_id: sub.tenant_id,
                    resource_group: resource_group.clone(),
                    location: body.location,
                    kind: body.kind,
                    sku: body.sku.and_then(|s| s.name),
                    tags: body.tags,
                    identity,
                    encryption: body
                        .properties
                        .encryption
                        .map(parse_encryption)
                        .transpose()?,
                    allow_project_management: body.properties.allow_project_management,
                    disable_local_auth: body.properties.disable_local_auth,
                    restore: body.properties.restore,
                    patch: op == ResourceOp::Patch,
                };
                let (account, created) = platform
                    .put_account(&name, spec)
                    .await
                    .map_err(platform_error)?;
                super::lro::written(
                    state,
                    sub,
                    &account.location,
                    request,
                    created,
                    account_json(state, &account).await?,
                )
                .await
            }
            ResourceOp::Delete => {
                let existing = account_in_group(state, sub, &resource_group, &name).await?;
                if existing.is_some() {
                    platform
                        .delete_account(&name)
                        .await
                        .map_err(platform_error)?;
                }
                super::lro::deleted(state, sub, existing.as_ref().map(|a| a.location.as_str()))
                    .await
            }
        },
        ArmRoute::AccountKeys {
            resource_group,
            name,
            regenerate,
            ..
        } => {
            let mut account = existing_account(state, sub, &resource_group, &name).await?;
            if regenerate {
                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Regenerate {
                    key_name: String,
                }
                let body: Regenerate = json_body(state, body).await?;
                account = platform
                    .regenerate_key(&account, &body.key_name)
                    .await
                    .map_err(platform_error)?;
            }
            let [key1, key2] = platform.api_keys(&account).map_err(platform_error)?;
            Ok(json(StatusCode::OK, json!({ "key1": key1, "key2": key2 })))
        }
        ArmRoute::AccountUsages {
            resource_group,
            name,
            ..
        } => {
            let account = existing_account(state, sub, &resource_group, &name).await?;
            let u = platform
                .usage_of(&account, false)
                .await
                .map_err(platform_error)?;
            let entry = |name: &str, value: u64, unit: &str| {
                json!({
                    "name": { "value": name, "localizedValue": name },
                    "currentValue": value,
                    "limit": null,
                    "unit": unit,
                    "status": "Included",
                    "quotaPeriod": null,
                })
            };
            Ok(json(
                StatusCode::OK,
                json!({ "value": [
                    entry("StoredEncryptedBytes", u.stored_encrypted_bytes, "Bytes"),
                    entry("StoredObjects", u.objects, "Count"),
                    entry("TrainingRuns", u.training_runs, "Count"),
                    entry("TrainedTokens", u.trained_tokens, "Count"),
                    entry("PromptTokensServed", u.tokens.prompt, "Count"),
                    entry("CompletionTokensServed", u.tokens.completion, "Count"),
                    entry("ChatRequests", u.tokens.requests, "Count"),
                ] }),
            ))
        }
        route @ (ArmRoute::ListProjects { .. }
        | ArmRoute::Project { .. }
        | ArmRoute::ListDeployments { .. }
        | ArmRoute::Deployment { .. }) => {
            let (group, name) = route.parent_account().ok_or_else(|| {
                ApiError::no_route(request.method().as_str(), request.uri().path())
            })?;
            let account = existing_account(state, sub, group, name).await?;
            if matches!(
                route,
                ArmRoute::ListProjects { .. } | ArmRoute::Project { .. }
            ) {
                super::projects::handle(state, request, body, route, sub, &account, caller).await
            } else {
                super::deployments::handle(state, request, body, route, sub, &account).await
            }
        }
        ArmRoute::AccountReprocess {
            resource_group,
            name,
            start,
            ..
        } => {
            let account = existing_account(state, sub, &resource_group, &name).await?;
            if start {
                #[derive(Deserialize)]
                struct Start {
                    mode: String,
                }
                let body: Start = json_body(state, body).await?;
                let job = platform
                    .start_reprocess(&account, &body.mode)
                    .await
                    .map_err(platform_error)?;
                state.notify_workers();
                let value = serde_json::to_value(&job).unwrap_or_default();
                return Ok(json(StatusCode::ACCEPTED, value));
            }
            let job = platform
                .reprocess_job(&account.name)
                .await
                .map_err(|e| match e {
                    PlatformError::ObjectNotFound { .. } => ApiError::new(
                        StatusCode::NOT_FOUND,
                        "NotFound",
                        format!("Account {name} has no reprocess job."),
                    ),
                    other => platform_error(other),
                })?;
            Ok(json(
                StatusCode::OK,
                serde_json::to_value(&job).unwrap_or_default(),
            ))
        }
        ArmRoute::ListDeletedAccounts { .. } => {
            let value: Vec<Value> = platform
                .list_deleted(sub.id)
                .await
                .map_err(platform_error)?
                .iter()
                .map(deleted_json)
                .collect();
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::DeletedAccount {
            name,
            op,
            resource_group,
            ..
        } => {
            let deleted = match platform.deleted_account(&name).await {
                Ok(d)
                    if d.account.workspace.is_none()
                        && d.account.subscription_id == sub.id
                        && d.account
                            .resource_group
                            .eq_ignore_ascii_case(&resource_group) =>
                {
                    d
                }
                Ok(_)
                | Err(PlatformError::AccountNotFound(_) | PlatformError::InvalidRequest(_)) => {
                    return Err(not_found(&name, &resource_group));
                }
                Err(other) => return Err(platform_error(other)),
            };
            if op == ResourceOp::Delete {
                platform
                    .purge_account(&name)
                    .await
                    .map_err(platform_error)?;
                let response = crate::http::empty(StatusCode::ACCEPTED);
                return with_operation(
                    state,
                    sub,
                    &deleted.account.location,
                    response,
                    Finished::Deleted,
                )
                .await;
            }
            Ok(json(StatusCode::OK, deleted_json(&deleted)))
        }
        ArmRoute::AccountOperation { id, .. } => {
            let op = state
                .records()
                .get_typed::<Operation>(OPERATIONS, &id)
                .await?
                .map(|(o, _)| o)
                // An operation is an extension of the subscription it ran in.
                .filter(|o| o.subscription == Some(sub.id))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "OperationNotFound",
                        format!("Operation {id} was not found."),
                    )
                })?;
            Ok(json(
                StatusCode::OK,
                json!({
                    "id": request.uri().path(),
                    "name": op.id,
                    "status": op.status,
                    "startTime": rfc3339(op.start),
                    "endTime": rfc3339(op.end),
                }),
            ))
        }
        ArmRoute::CmkRequest { kind, approve, .. } => {
            let by = caller.principal.object_id.to_string();
            let registration = if approve {
                platform.approve_cmk(sub.id, &kind, &by).await
            } else {
                platform.request_cmk(sub.id, &kind, &by).await
            }
            .map_err(platform_error)?;
            Ok(json(
                StatusCode::OK,
                json!({
                    "subscriptionId": registration.subscription_id,
                    "kind": registration.kind,
                    "state": registration.state,
                    "requestedBy": registration.requested_by,
                    "approvedBy": registration.approved_by,
                }),
            ))
        }
        _ => Err(ApiError::no_route(
            request.method().as_str(),
            request.uri().path(),
        )),
    }
}
