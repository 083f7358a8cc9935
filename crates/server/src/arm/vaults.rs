//! `Microsoft.KeyVault/vaults`: the vault management plane (create/update, get, list, delete
//! into soft-deleted state, deleted vaults, purge, recover through `createMode: recover`,
//! access-policy edits, name availability). Every call is audited.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::{AuthenticatedPrincipal, Subscription};
use keyhold_vault::{
    AccessPolicy, AuditEvent, DeletedVault, NetworkAcls, PolicyOperation, Vault, VaultSpec,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::caller_for_subscription;
use crate::arm::error::vault_error;
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::api_version::require;
use crate::http::auth::authorize;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

/// `Microsoft.KeyVault` api-versions keyhold answers.
pub const KEY_VAULT_VERSIONS: &[&str] = &[
    "2019-09-01",
    "2021-06-01-preview",
    "2021-10-01",
    "2022-07-01",
    "2023-02-01",
    "2023-07-01",
    "2024-11-01",
    "2024-12-01-preview",
    "2025-05-01",
    "2026-05-15",
];

const READ: &str = "Microsoft.KeyVault/vaults/read";
const WRITE: &str = "Microsoft.KeyVault/vaults/write";
const DELETE: &str = "Microsoft.KeyVault/vaults/delete";
const POLICY_WRITE: &str = "Microsoft.KeyVault/vaults/accessPolicies/write";
const DELETED_READ: &str = "Microsoft.KeyVault/deletedVaults/read";
const PURGE: &str = "Microsoft.KeyVault/locations/deletedVaults/purge/action";

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SkuBody {
    name: Option<String>,
}

#[derive(Deserialize)]
struct IpRuleBody {
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AclsBody {
    default_action: Option<String>,
    bypass: Option<String>,
    #[serde(default)]
    ip_rules: Vec<IpRuleBody>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PropertiesBody {
    tenant_id: Option<uuid::Uuid>,
    sku: Option<SkuBody>,
    access_policies: Option<Vec<AccessPolicy>>,
    enable_soft_delete: Option<bool>,
    soft_delete_retention_in_days: Option<u32>,
    enable_purge_protection: Option<bool>,
    enable_rbac_authorization: Option<bool>,
    network_acls: Option<AclsBody>,
    create_mode: Option<String>,
}

#[derive(Deserialize)]
struct VaultBody {
    location: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    properties: PropertiesBody,
}

#[derive(Deserialize)]
struct PoliciesBody {
    properties: PoliciesProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PoliciesProperties {
    access_policies: Vec<AccessPolicy>,
}

fn acls_json(acls: &NetworkAcls) -> Value {
    let rules: Vec<Value> = acls
        .ip_rules
        .iter()
        .map(|r| json!({ "value": r }))
        .collect();
    json!({
        "bypass": acls.bypass,
        "defaultAction": acls.default_action,
        "ipRules": rules,
        "virtualNetworkRules": [],
    })
}

fn policies_json(policies: &[AccessPolicy]) -> Value {
    json!(policies)
}

/// The ARM shape of a vault.
pub fn vault_json(state: &AppState, vault: &Vault) -> Value {
    let mut properties = json!({
        "tenantId": vault.tenant_id,
        "sku": { "family": "A", "name": vault.sku },
        "accessPolicies": policies_json(&vault.access_policies),
        "vaultUri": format!("{}/", state.vault_url(&vault.name)),
        "enabledForDeployment": false,
        "enabledForDiskEncryption": false,
        "enabledForTemplateDeployment": false,
        "enableSoftDelete": true,
        "softDeleteRetentionInDays": vault.soft_delete_retention_days,
        "enableRbacAuthorization": vault.rbac_authorization,
        "networkAcls": acls_json(&vault.network_acls),
        "provisioningState": "Succeeded",
        "publicNetworkAccess": "Enabled",
    });
    if vault.purge_protection {
        properties["enablePurgeProtection"] = true.into();
    }
    json!({
        "id": vault.resource_id(),
        "name": vault.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": vault.location,
        "tags": vault.tags,
        "properties": properties,
    })
}

fn deleted_json(deleted: &DeletedVault) -> Value {
    let v = &deleted.vault;
    json!({
        "id": format!(
            "/subscriptions/{}/providers/Microsoft.KeyVault/locations/{}/deletedVaults/{}",
            v.subscription_id, v.location, v.name
        ),
        "name": v.name,
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": v.resource_id(),
            "location": v.location,
            "deletionDate": rfc3339(deleted.deleted),
            "scheduledPurgeDate": rfc3339(deleted.scheduled_purge),
            "tags": v.tags,
            "purgeProtectionEnabled": v.purge_protection,
        }
    })
}

fn not_found(name: &str, group: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.KeyVault/vaults/{name}' under resource group '{group}' was not found."
        ),
    )
}

/// Dispatches a `Microsoft.KeyVault` request.
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
) -> Result<Response, ApiError> {
    require(request.uri(), "Microsoft.KeyVault", KEY_VAULT_VERSIONS)?;
    let subscription = match &route {
        ArmRoute::ListVaults { subscription, .. }
        | ArmRoute::Vault { subscription, .. }
        | ArmRoute::VaultAccessPolicies { subscription, .. }
        | ArmRoute::ListDeletedVaults { subscription }
        | ArmRoute::DeletedVault { subscription, .. }
        | ArmRoute::PurgeDeletedVault { subscription, .. }
        | ArmRoute::CheckVaultName { subscription } => subscription.clone(),
        _ => {
            return Err(ApiError::no_route(
                request.method().as_str(),
                request.uri().path(),
            ));
        }
    };
    let (caller, sub) = caller_for_subscription(state, request, &subscription).await?;
    let mut event = AuditEvent {
        caller: caller.principal.object_id.to_string(),
        ..AuditEvent::default()
    };
    let result = dispatch(state, request, body, route, &caller, &sub, &mut event).await;
    event.result = match &result {
        Ok(r) => r.status().as_u16().to_string(),
        Err(e) => format!("{} {}", e.status().as_u16(), e.code()),
    };
    state.audit().append(event).await?;
    result
}

async fn dispatch(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    caller: &AuthenticatedPrincipal,
    sub: &Subscription,
    event: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let vaults = state.vaults();
    let sub_scope = format!("/subscriptions/{}", sub.id);
    match route {
        ArmRoute::ListVaults { resource_group, .. } => {
            event.operation = "VaultList".into();
            let scope = super::list_scope(sub.id, resource_group.as_deref());
            authorize(state, caller, &scope, READ).await?;
            let list = vaults
                .list_vaults(sub.id, resource_group.as_deref())
                .await
                .map_err(vault_error)?;
            let value: Vec<Value> = list.iter().map(|v| vault_json(state, v)).collect();
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::Vault {
            resource_group,
            name,
            op,
            ..
        } => {
            event.vault = Some(name.to_ascii_lowercase());
            let resource_id = format!(
                "{sub_scope}/resourceGroups/{resource_group}/providers/Microsoft.KeyVault/vaults/{name}"
            );
            let in_group = |v: &Vault| {
                v.subscription_id == sub.id
                    && v.resource_group.eq_ignore_ascii_case(&resource_group)
            };
            match op {
                ResourceOp::Get | ResourceOp::Head => {
                    event.operation = "VaultGet".into();
                    authorize(state, caller, &resource_id, READ).await?;
                    match vaults.vault(&name).await {
                        Ok(v) if in_group(&v) => Ok(json(StatusCode::OK, vault_json(state, &v))),
                        _ => Err(not_found(&name, &resource_group)),
                    }
                }
                ResourceOp::Put | ResourceOp::Patch => {
                    event.operation = if op == ResourceOp::Put {
                        "VaultPut"
                    } else {
                        "VaultPatch"
                    }
                    .into();
                    authorize(state, caller, &resource_id, WRITE).await?;
                    let rg = state
                        .identity()
                        .resource_group(sub.id, &resource_group)
                        .await?;
                    let body: VaultBody = json_body(state, body).await?;
                    let existing = vaults.vault(&name).await.ok().filter(in_group);
                    if op == ResourceOp::Patch && existing.is_none() {
                        return Err(not_found(&name, &resource_group));
                    }
                    let spec =
                        spec_from(body, existing.as_ref(), sub, &resource_group, &rg.location)?;
                    let (vault, created) =
                        vaults.put_vault(&name, spec).await.map_err(vault_error)?;
                    let status = if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    Ok(json(status, vault_json(state, &vault)))
                }
                ResourceOp::Delete => {
                    event.operation = "VaultDelete".into();
                    authorize(state, caller, &resource_id, DELETE).await?;
                    match vaults.vault(&name).await {
                        Ok(v) if in_group(&v) => {
                            vaults.delete_vault(&name).await.map_err(vault_error)?;
                            Ok(crate::http::empty(StatusCode::OK))
                        }
                        _ => Ok(crate::http::empty(StatusCode::NO_CONTENT)),
                    }
                }
            }
        }
        ArmRoute::VaultAccessPolicies {
            resource_group,
            name,
            kind,
            ..
        } => {
            event.operation = "VaultAccessPolicyUpdate".into();
            event.vault = Some(name.to_ascii_lowercase());
            let resource_id = format!(
                "{sub_scope}/resourceGroups/{resource_group}/providers/Microsoft.KeyVault/vaults/{name}"
            );
            authorize(state, caller, &resource_id, POLICY_WRITE).await?;
            let operation = match kind.to_ascii_lowercase().as_str() {
                "add" => PolicyOperation::Add,
                "remove" => PolicyOperation::Remove,
                "replace" => PolicyOperation::Replace,
                _ => {
                    return Err(ApiError::bad_request(
                        "BadRequest",
                        format!(
                            "Access policy operation {kind:?} is invalid: use add, remove or replace."
                        ),
                    ));
                }
            };
            match vaults.vault(&name).await {
                Ok(v)
                    if v.subscription_id == sub.id
                        && v.resource_group.eq_ignore_ascii_case(&resource_group) => {}
                _ => return Err(not_found(&name, &resource_group)),
            }
            let body: PoliciesBody = json_body(state, body).await?;
            let vault = vaults
                .update_access_policies(&name, operation, body.properties.access_policies)
                .await
                .map_err(vault_error)?;
            Ok(json(
                StatusCode::OK,
                json!({
                    "id": format!("{}/accessPolicies/{}", vault.resource_id(), kind.to_ascii_lowercase()),
                    "type": "Microsoft.KeyVault/vaults/accessPolicies",
                    "properties": { "accessPolicies": policies_json(&vault.access_policies) },
                }),
            ))
        }
        ArmRoute::ListDeletedVaults { .. } => {
            event.operation = "DeletedVaultList".into();
            authorize(state, caller, &sub_scope, DELETED_READ).await?;
            let list = vaults
                .list_deleted_vaults(sub.id)
                .await
                .map_err(vault_error)?;
            let value: Vec<Value> = list.iter().map(deleted_json).collect();
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::DeletedVault { name, .. } => {
            event.operation = "DeletedVaultGet".into();
            event.vault = Some(name.to_ascii_lowercase());
            authorize(state, caller, &sub_scope, DELETED_READ).await?;
            match vaults.deleted_vault(&name).await {
                Ok(d) if d.vault.subscription_id == sub.id => {
                    Ok(json(StatusCode::OK, deleted_json(&d)))
                }
                _ => Err(deleted_not_found(&name)),
            }
        }
        ArmRoute::PurgeDeletedVault { name, .. } => {
            event.operation = "DeletedVaultPurge".into();
            event.vault = Some(name.to_ascii_lowercase());
            authorize(state, caller, &sub_scope, PURGE).await?;
            match vaults.deleted_vault(&name).await {
                Ok(d) if d.vault.subscription_id == sub.id => {}
                _ => return Err(deleted_not_found(&name)),
            }
            vaults.purge_vault(&name).await.map_err(vault_error)?;
            Ok(crate::http::empty(StatusCode::OK))
        }
        ArmRoute::CheckVaultName { .. } => {
            event.operation = "VaultCheckName".into();
            #[derive(Deserialize)]
            struct NameBody {
                name: String,
            }
            let body: NameBody = json_body(state, body).await?;
            let answer = match keyhold_vault::validate_vault_name(&body.name) {
                Err(e) => {
                    json!({ "nameAvailable": false, "reason": "AccountNameInvalid", "message": e.to_string() })
                }
                Ok(()) => {
                    let taken = vaults.vault(&body.name).await.is_ok()
                        || vaults.deleted_vault(&body.name).await.is_ok();
                    if taken {
                        json!({ "nameAvailable": false, "reason": "AlreadyExists", "message": format!("The vault name '{}' is already in use.", body.name) })
                    } else {
                        json!({ "nameAvailable": true })
                    }
                }
            };
            Ok(json(StatusCode::OK, answer))
        }
        _ => Err(ApiError::no_route(
            request.method().as_str(),
            request.uri().path(),
        )),
    }
}

fn deleted_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("The deleted vault '{name}' was not found."),
    )
}

/// Builds the spec of a PUT (or of a PATCH, over the vault as it is).
fn spec_from(
    body: VaultBody,
    existing: Option<&Vault>,
    sub: &Subscription,
    group: &str,
    group_location: &str,
) -> Result<VaultSpec, ApiError> {
    let p = body.properties;
    let recover = match p
        .create_mode
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("default") => false,
        Some("recover") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "BadRequest",
                format!("createMode {other:?} is invalid: use default or recover."),
            ));
        }
    };
    let tenant_id = p
        .tenant_id
        .or(existing.map(|v| v.tenant_id))
        .unwrap_or(sub.tenant_id);
    if tenant_id != sub.tenant_id {
        return Err(ApiError::bad_request(
            "BadRequest",
            format!(
                "properties.tenantId {tenant_id} is not the tenant of subscription {} ({}).",
                sub.id, sub.tenant_id
            ),
        ));
    }
    let sku = match p.sku.and_then(|s| s.name) {
        Some(name) => {
            let lower = name.to_ascii_lowercase();
            if lower != "standard" && lower != "premium" {
                return Err(ApiError::bad_request(
                    "BadRequest",
                    format!("sku.name {name:?} is invalid: use standard or premium."),
                ));
            }
            lower
        }
        None => existing.map_or_else(|| "standard".to_owned(), |v| v.sku.clone()),
    };
    let network_acls = match p.network_acls {
        Some(a) => Some(NetworkAcls {
            default_action: a.default_action.unwrap_or_else(|| "Allow".into()),
            bypass: a.bypass.unwrap_or_else(|| "AzureServices".into()),
            ip_rules: a.ip_rules.into_iter().map(|r| r.value).collect(),
        }),
        None => None,
    };
    Ok(VaultSpec {
        subscription_id: sub.id,
        resource_group: existing.map_or_else(|| group.to_owned(), |v| v.resource_group.clone()),
        location: body
            .location
            .or_else(|| existing.map(|v| v.location.clone()))
            .unwrap_or_else(|| group_location.to_owned()),
        tags: body
            .tags
            .or_else(|| existing.map(|v| v.tags.clone()))
            .unwrap_or_default(),
        tenant_id,
        sku,
        soft_delete_retention_days: p.soft_delete_retention_in_days,
        enable_soft_delete: p.enable_soft_delete,
        purge_protection: p.enable_purge_protection,
        rbac_authorization: p.enable_rbac_authorization,
        access_policies: p.access_policies,
        network_acls,
        recover,
    })
}
