//! `Microsoft.MachineLearningServices/workspaces`: Azure AI hubs (kind `Hub`) and hub projects
//! (kind `Project`), with hub encryption (`keyVaultProperties{keyVaultArmId, keyIdentifier,
//! identityClientId}`), `enableServiceSideCMKEncryption` and `hbiWorkspace`. Long-running
//! operations as for accounts.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_platform::workspaces::WorkspaceSpec;
use keyhold_platform::{Account, AccountIdentity, CmkRequest, Encryption};
use serde::Deserialize;
use serde_json::{Value, json};

use super::account_body::{IdentityBody, identity_kinds};
use super::accounts::identity_json;
use super::error::platform_error;
use crate::arm::error::api_version;
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KeyVaultBody {
    key_vault_arm_id: Option<String>,
    key_identifier: Option<String>,
    identity_client_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EncryptionBody {
    status: Option<String>,
    #[serde(default)]
    key_vault_properties: Option<KeyVaultBody>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PropertiesBody {
    friendly_name: Option<String>,
    encryption: Option<EncryptionBody>,
    #[serde(rename = "enableServiceSideCMKEncryption")]
    service_side_cmk: Option<bool>,
    hbi_workspace: Option<bool>,
    hub_resource_id: Option<String>,
}

#[derive(Deserialize)]
struct WorkspaceBody {
    location: Option<String>,
    kind: Option<String>,
    identity: Option<IdentityBody>,
    #[serde(default)]
    properties: PropertiesBody,
}

fn parse_identity(body: IdentityBody) -> Result<AccountIdentity, ApiError> {
    let (system, user) = identity_kinds(&body.kind)?;
    Ok(AccountIdentity {
        system_assigned: system,
        user_assigned: if user {
            body.user_assigned_identities.into_keys().collect()
        } else {
            vec![]
        },
    })
}

pub(crate) async fn workspace_json(state: &AppState, ws: &Account) -> Result<Value, ApiError> {
    let settings = ws.workspace.clone().unwrap_or_default();
    let encryption = match &ws.encryption {
        Encryption::Mmk => json!({ "status": "Disabled" }),
        Encryption::Cmk(c) => json!({
            "status": "Enabled",
            "keyVaultProperties": {
                "keyVaultArmId": state.vaults().vault(&c.vault).await.map(|v| v.resource_id()).unwrap_or_default(),
                "keyIdentifier": format!("{}keys/{}/{}", c.key_vault_uri, c.key_name, c.key_version.clone().unwrap_or_default()),
                "identityClientId": c.identity_client_id,
            },
            "activeKeyVersion": c.active_version,
            "keyStatus": c.status,
            "keyStatusReason": c.status_reason,
        }),
    };
    let mut properties = json!({
        "friendlyName": settings.friendly_name,
        "provisioningState": "Succeeded",
        "hbiWorkspace": settings.hbi,
        "enableServiceSideCMKEncryption": settings.service_side_cmk,
        "encryption": encryption,
        "creationTime": rfc3339(ws.created),
    });
    if let Some(group) = &settings.managed_resource_group {
        properties["managedResourceGroup"] = format!(
            "/subscriptions/{}/resourceGroups/{group}",
            ws.subscription_id
        )
        .into();
    }
    if let Some(hub) = &settings.hub_resource_id {
        properties["hubResourceId"] = hub.clone().into();
    }
    Ok(json!({
        "id": ws.resource_id(),
        "name": ws.name,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": ws.location,
        "kind": ws.kind,
        "sku": { "name": "Basic", "tier": "Basic" },
        "identity": identity_json(state, ws).await?,
        "properties": properties,
    }))
}

fn cmk_request(
    body: Option<EncryptionBody>,
) -> Result<(Option<bool>, Option<CmkRequest>), ApiError> {
    let Some(body) = body else {
        return Ok((None, None));
    };
    let enabled = match body
        .status
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("enabled") => true,
        Some("disabled") | None => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "InvalidEncryptionStatus",
                format!("encryption.status {other:?} is invalid: use Enabled or Disabled"),
            ));
        }
    };
    if !enabled {
        return Ok((Some(false), None));
    }
    let kv = body.key_vault_properties.unwrap_or_default();
    let key = kv.key_identifier.filter(|k| !k.is_empty()).ok_or_else(|| {
        ApiError::bad_request(
            "InvalidKeyVaultUri",
            "keyVaultProperties.keyIdentifier is required",
        )
    })?;
    // keyVaultArmId and keyIdentifier must name the same vault.
    if let Some(arm) = &kv.key_vault_arm_id {
        let arm_vault = arm
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let uri_vault = key
            .strip_prefix("https://")
            .and_then(|r| r.split('.').next())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if arm_vault != uri_vault {
            return Err(ApiError::bad_request(
                "InvalidKeyVaultUri",
                format!(
                    "keyVaultArmId names vault {arm_vault} but keyIdentifier names {uri_vault}"
                ),
            ));
        }
    }
    Ok((
        Some(true),
        Some(CmkRequest {
            key_vault_uri: key,
            key_name: None,
            key_version: None,
            identity_client_id: kv.identity_client_id,
        }),
    ))
}

/// Dispatches a workspace request.
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::MachineLearningServices)?;
    let sub = grant.sub()?;
    let platform = state.platform();
    match route {
        ArmRoute::ListWorkspaces { resource_group, .. } => {
            let mut value = Vec::new();
            for ws in platform
                .list_workspaces(sub.id, resource_group.as_deref())
                .await
                .map_err(platform_error)?
            {
                value.push(workspace_json(state, &ws).await?);
            }
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::Workspace {
            resource_group,
            name,
            op,
            ..
        } => {
            let existing = match platform.account(&name).await {
                Ok(a)
                    if a.workspace.is_some()
                        && a.subscription_id == sub.id
                        && a.resource_group.eq_ignore_ascii_case(&resource_group) =>
                {
                    Some(a)
                }
                Ok(_)
                | Err(
                    keyhold_platform::PlatformError::AccountNotFound(_)
                    | keyhold_platform::PlatformError::InvalidRequest(_),
                ) => None,
                Err(other) => return Err(platform_error(other)),
            };
            let not_found = || {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    format!(
                        "The Resource 'Microsoft.MachineLearningServices/workspaces/{name}' under resource group '{resource_group}' was not found."
                    ),
                )
            };
            match op {
                ResourceOp::Get | ResourceOp::Head => {
                    let ws = existing.ok_or_else(not_found)?;
                    Ok(json(StatusCode::OK, workspace_json(state, &ws).await?))
                }
                ResourceOp::Put | ResourceOp::Patch => {
                    state
                        .identity()
                        .resource_group(sub.id, &resource_group)
                        .await?;
                    if op == ResourceOp::Patch && existing.is_none() {
                        return Err(not_found());
                    }
                    let body: WorkspaceBody = json_body(state, body).await?;
                    let (encryption_enabled, cmk) = cmk_request(body.properties.encryption)?;
                    let identity = body.identity.map(parse_identity).transpose()?;
                    if let Some(identity) = &identity {
                        super::accounts::authorize_identity_assignments(
                            state,
                            &grant.caller,
                            &identity.user_assigned,
                        )
                        .await?;
                    }
                    let spec = WorkspaceSpec {
                        subscription_id: sub.id,
                        tenant_id: sub.tenant_id,
                        resource_group: resource_group.clone(),
                        location: body.location,
                        kind: body.kind,
                        identity,
                        cmk,
                        encryption_enabled,
                        service_side_cmk: body.properties.service_side_cmk,
                        hbi: body.properties.hbi_workspace,
                        hub_resource_id: body.properties.hub_resource_id,
                        friendly_name: body.properties.friendly_name,
                    };
                    let (ws, created) = platform
                        .put_workspace(&name, spec)
                        .await
                        .map_err(platform_error)?;
                    super::lro::written(
                        state,
                        sub,
                        &ws.location,
                        request,
                        created,
                        workspace_json(state, &ws).await?,
                    )
                    .await
                }
                ResourceOp::Delete => {
                    if let Some(ws) = &existing {
                        platform
                            .delete_workspace(ws)
                            .await
                            .map_err(platform_error)?;
                    }
                    super::lro::deleted(state, sub, existing.as_ref().map(|w| w.location.as_str()))
                        .await
                }
            }
        }
        _ => Err(ApiError::no_route(
            request.method().as_str(),
            request.uri().path(),
        )),
    }
}
