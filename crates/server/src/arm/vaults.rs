//! `Microsoft.KeyVault/vaults`: the vault management plane (create/update, get, list, delete
//! into soft-deleted state, deleted vaults, purge, recover through `createMode: recover`,
//! access-policy edits, name availability). Every call is audited.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use keyhold_identity::Subscription;
use keyhold_vault::{
    AccessPolicy, DeletedVault, NetworkAcls, PolicyOperation, Vault, VaultError, VaultSpec,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::arm::error::api_version;
use crate::arm::error::vault_error;
use crate::arm::routes::{ArmRoute, ResourceOp};
use crate::http::ApiError;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{RequestHead, json, json_body, rfc3339};
use crate::state::AppState;

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

pub(crate) fn not_found(name: &str, group: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!(
            "The Resource 'Microsoft.KeyVault/vaults/{name}' under resource group '{group}' was not found."
        ),
    )
}

/// The vault `name` if it lives in `group` of `sub`; a vault of that (global) name elsewhere
/// is answered as absent. Store trouble is not absence: it propagates (503).
pub(crate) async fn vault_in_group(
    state: &AppState,
    sub: &Subscription,
    group: &str,
    name: &str,
) -> Result<Option<Vault>, ApiError> {
    match state.vaults().vault(name).await {
        Ok(v) if v.subscription_id == sub.id && v.resource_group.eq_ignore_ascii_case(group) => {
            Ok(Some(v))
        }
        Ok(_) | Err(VaultError::VaultNotFound(_) | VaultError::BadParameter(_)) => Ok(None),
        Err(other) => Err(vault_error(other)),
    }
}

/// Dispatches a `Microsoft.KeyVault` request (authorized and audited by the ARM gate).
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::KeyVault)?;
    let sub = grant.sub()?;
    let vaults = state.vaults();
    match route {
        ArmRoute::ListVaults { resource_group, .. } => {
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
            let existing = vault_in_group(state, sub, &resource_group, &name).await?;
            match op {
                ResourceOp::Get | ResourceOp::Head => match existing {
                    Some(v) => Ok(json(StatusCode::OK, vault_json(state, &v))),
                    None => Err(not_found(&name, &resource_group)),
                },
                ResourceOp::Put | ResourceOp::Patch => {
                    let rg = state
                        .identity()
                        .resource_group(sub.id, &resource_group)
                        .await?;
                    let body: VaultBody = json_body(state, body).await?;
                    if let Some(tags) = &body.tags {
                        super::limits::check_tags(tags)?;
                    }
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
                ResourceOp::Delete => match existing {
                    Some(_) => {
                        vaults.delete_vault(&name).await.map_err(vault_error)?;
                        Ok(crate::http::empty(StatusCode::OK))
                    }
                    None => Ok(crate::http::empty(StatusCode::NO_CONTENT)),
                },
            }
        }
        ArmRoute::VaultAccessPolicies {
            resource_group,
            name,
            kind,
            ..
        } => {
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
            if vault_in_group(state, sub, &resource_group, &name)
                .await?
                .is_none()
            {
                return Err(not_found(&name, &resource_group));
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
            let list = vaults
                .list_deleted_vaults(sub.id)
                .await
                .map_err(vault_error)?;
            let value: Vec<Value> = list.iter().map(deleted_json).collect();
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::DeletedVault { name, .. } => match deleted_in(state, sub, &name).await? {
            Some(d) => Ok(json(StatusCode::OK, deleted_json(&d))),
            None => Err(deleted_not_found(&name)),
        },
        ArmRoute::PurgeDeletedVault { name, .. } => {
            if deleted_in(state, sub, &name).await?.is_none() {
                return Err(deleted_not_found(&name));
            }
            vaults.purge_vault(&name).await.map_err(vault_error)?;
            Ok(crate::http::empty(StatusCode::OK))
        }
        ArmRoute::CheckVaultName { .. } => {
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
                    let taken = exists(vaults.vault(&body.name).await)?
                        || exists(vaults.deleted_vault(&body.name).await)?;
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

/// The deleted vault `name` if it was deleted from `sub` (deleted vaults of other
/// subscriptions are answered as absent).
async fn deleted_in(
    state: &AppState,
    sub: &Subscription,
    name: &str,
) -> Result<Option<DeletedVault>, ApiError> {
    match state.vaults().deleted_vault(name).await {
        Ok(d) if d.vault.subscription_id == sub.id => Ok(Some(d)),
        other => exists(other).map(|_| None),
    }
}

/// Whether a lookup found something; absence is `false`, store trouble an error.
fn exists<T>(found: Result<T, VaultError>) -> Result<bool, ApiError> {
    match found {
        Ok(_) => Ok(true),
        Err(VaultError::VaultNotFound(_) | VaultError::BadParameter(_)) => Ok(false),
        Err(other) => Err(vault_error(other)),
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
