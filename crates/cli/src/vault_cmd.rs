//! `keyhold vault …`: vaults through the ARM API, mirroring `az keyvault` verbs.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Context, runtime};
use crate::output::Output;

const API: &str = "api-version=2025-05-01";
const ALL_KEY_PERMISSIONS: &[&str] = &[
    "get",
    "list",
    "update",
    "create",
    "import",
    "delete",
    "recover",
    "backup",
    "restore",
    "encrypt",
    "decrypt",
    "wrapKey",
    "unwrapKey",
    "sign",
    "verify",
    "purge",
    "rotate",
    "getrotationpolicy",
    "setrotationpolicy",
];

/// Options naming one vault.
#[derive(Debug, Args)]
pub struct VaultName {
    /// Vault name.
    #[arg(long, short = 'n')]
    name: String,
    /// Resource group (found by listing the subscription when omitted).
    #[arg(long, short = 'g')]
    resource_group: Option<String>,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold vault …`.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Create (or update) a vault; the caller gets every key permission unless RBAC is on.
    Create {
        #[command(flatten)]
        vault: VaultName,
        /// Region (default: the resource group's).
        #[arg(long, short = 'l')]
        location: Option<String>,
        /// Days a deleted vault or key stays recoverable (7-90).
        #[arg(long, default_value_t = 90)]
        retention_days: u32,
        /// Turn on purge protection (cannot be turned off again).
        #[arg(long)]
        enable_purge_protection: bool,
        /// Authorize with role assignments instead of access policies.
        #[arg(long)]
        enable_rbac_authorization: bool,
        /// Firewall default action (Allow or Deny).
        #[arg(long, default_value = "Allow")]
        default_action: String,
        /// Firewall bypass (AzureServices or None).
        #[arg(long, default_value = "AzureServices")]
        bypass: String,
        /// Allowed client address or CIDR range (repeatable).
        #[arg(long = "ip")]
        ip_rules: Vec<String>,
    },
    /// Show a vault.
    Show(VaultName),
    /// List vaults (of a resource group, or of the subscription).
    List {
        /// Resource group.
        #[arg(long, short = 'g')]
        resource_group: Option<String>,
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Delete a vault (soft delete: recoverable until purged or its retention passes).
    Delete(VaultName),
    /// Purge a soft-deleted vault (refused under purge protection).
    Purge {
        /// Vault name.
        #[arg(long, short = 'n')]
        name: String,
        /// Region of the deleted vault.
        #[arg(long, short = 'l')]
        location: String,
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// List soft-deleted vaults.
    ListDeleted {
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Recover a soft-deleted vault.
    Recover {
        #[command(flatten)]
        vault: VaultName,
        /// Region of the deleted vault.
        #[arg(long, short = 'l')]
        location: String,
    },
    /// Grant key permissions to a principal (access-policy vaults).
    SetPolicy {
        #[command(flatten)]
        vault: VaultName,
        /// The principal's object id.
        #[arg(long)]
        object_id: String,
        /// Key permissions (e.g. get wrapKey unwrapKey, or all).
        #[arg(long, num_args = 1.., required = true)]
        key_permissions: Vec<String>,
    },
    /// Remove a principal's access policy.
    DeletePolicy {
        #[command(flatten)]
        vault: VaultName,
        /// The principal's object id.
        #[arg(long)]
        object_id: String,
    },
}

async fn find_group(ctx: &Context, sub: &str, vault: &VaultName) -> Result<String, String> {
    if let Some(rg) = &vault.resource_group {
        return Ok(rg.clone());
    }
    let list = ctx
        .management(
            Method::GET,
            &format!("subscriptions/{sub}/providers/Microsoft.KeyVault/vaults?{API}"),
            None,
        )
        .await?;
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"].as_str() == Some(vault.name.to_ascii_lowercase().as_str()))
        .and_then(|v| v["id"].as_str())
        .and_then(|id| id.split('/').nth(4).map(str::to_owned))
        .ok_or_else(|| format!("vault {} not found in subscription {sub}", vault.name))
}

async fn vault_path(ctx: &Context, vault: &VaultName) -> Result<String, String> {
    let sub = ctx.subscription(vault.subscription.as_deref())?;
    let rg = find_group(ctx, &sub, vault).await?;
    Ok(format!(
        "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{}",
        vault.name
    ))
}

async fn policy_edit(
    ctx: &Context,
    vault: &VaultName,
    kind: &str,
    object_id: &str,
    keys: &[String],
) -> Result<Value, String> {
    let path = vault_path(ctx, vault).await?;
    let body = json!({ "properties": { "accessPolicies": [{
        "tenantId": ctx.creds.tenant_id,
        "objectId": object_id,
        "permissions": { "keys": keys },
    }] } });
    ctx.management(
        Method::PUT,
        &format!("{path}/accessPolicies/{kind}?{API}"),
        Some(&body),
    )
    .await
}

/// Runs `keyhold vault …`.
pub fn run(command: VaultCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            VaultCommand::Create {
                vault,
                location,
                retention_days,
                enable_purge_protection,
                enable_rbac_authorization,
                default_action,
                bypass,
                ip_rules,
            } => {
                let sub = ctx.subscription(vault.subscription.as_deref())?;
                let rg = vault
                    .resource_group
                    .clone()
                    .ok_or("--resource-group is required to create a vault")?;
                let me = ctx
                    .management(Method::GET, "keyhold/v1/whoami", None)
                    .await?;
                let policies = if enable_rbac_authorization {
                    json!([])
                } else {
                    json!([{
                        "tenantId": ctx.creds.tenant_id,
                        "objectId": me["objectId"],
                        "permissions": { "keys": ALL_KEY_PERMISSIONS },
                    }])
                };
                let rules: Vec<Value> = ip_rules.iter().map(|r| json!({ "value": r })).collect();
                let mut properties = json!({
                    "tenantId": ctx.creds.tenant_id,
                    "sku": { "family": "A", "name": "standard" },
                    "softDeleteRetentionInDays": retention_days,
                    "enableRbacAuthorization": enable_rbac_authorization,
                    "accessPolicies": policies,
                    "networkAcls": { "defaultAction": default_action, "bypass": bypass, "ipRules": rules },
                });
                if enable_purge_protection {
                    properties["enablePurgeProtection"] = true.into();
                }
                let mut body = json!({ "properties": properties });
                if let Some(location) = location {
                    body["location"] = location.into();
                }
                ctx.management(
                    Method::PUT,
                    &format!(
                        "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{}?{API}",
                        vault.name
                    ),
                    Some(&body),
                )
                .await
            }
            VaultCommand::Show(vault) => {
                let path = vault_path(&ctx, &vault).await?;
                ctx.management(Method::GET, &format!("{path}?{API}"), None)
                    .await
            }
            VaultCommand::List {
                resource_group,
                subscription,
            } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                let scope = match resource_group {
                    Some(rg) => format!("subscriptions/{sub}/resourceGroups/{rg}"),
                    None => format!("subscriptions/{sub}"),
                };
                let list = ctx
                    .management(
                        Method::GET,
                        &format!("{scope}/providers/Microsoft.KeyVault/vaults?{API}"),
                        None,
                    )
                    .await?;
                Ok(list["value"].clone())
            }
            VaultCommand::Delete(vault) => {
                let path = vault_path(&ctx, &vault).await?;
                ctx.management(Method::DELETE, &format!("{path}?{API}"), None)
                    .await?;
                Ok(json!({ "deleted": vault.name, "recoverable": true }))
            }
            VaultCommand::Purge {
                name,
                location,
                subscription,
            } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                ctx.management(
                    Method::POST,
                    &format!(
                        "subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}/purge?{API}"
                    ),
                    None,
                )
                .await?;
                Ok(json!({ "purged": name }))
            }
            VaultCommand::ListDeleted { subscription } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                let list = ctx
                    .management(
                        Method::GET,
                        &format!("subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults?{API}"),
                        None,
                    )
                    .await?;
                Ok(list["value"].clone())
            }
            VaultCommand::Recover { vault, location } => {
                let sub = ctx.subscription(vault.subscription.as_deref())?;
                let deleted = ctx
                    .management(
                        Method::GET,
                        &format!(
                            "subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{}?{API}",
                            vault.name
                        ),
                        None,
                    )
                    .await?;
                let vault_id = deleted["properties"]["vaultId"]
                    .as_str()
                    .ok_or("the deleted vault has no vaultId")?;
                let body = json!({ "location": location, "properties": {
                    "tenantId": ctx.creds.tenant_id,
                    "sku": { "family": "A", "name": "standard" },
                    "createMode": "recover",
                } });
                ctx.management(
                    Method::PUT,
                    &format!("{}?{API}", vault_id.trim_start_matches('/')),
                    Some(&body),
                )
                .await
            }
            VaultCommand::SetPolicy {
                vault,
                object_id,
                key_permissions,
            } => policy_edit(&ctx, &vault, "add", &object_id, &key_permissions).await,
            VaultCommand::DeletePolicy { vault, object_id } => {
                policy_edit(&ctx, &vault, "remove", &object_id, &[]).await
            }
        }
    })?;
    out.print(&value)
}
