//! `keyhold hub …` (Azure AI hubs and hub projects) and `keyhold project …` (Foundry projects of
//! an AIServices account): thin commands over the ARM API.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Context, runtime};
use crate::output::Output;

const ML_API: &str = "api-version=2025-09-01";

/// Options naming a workspace.
#[derive(Debug, Args)]
pub struct WorkspaceName {
    /// Workspace name.
    #[arg(long, short = 'n')]
    name: String,
    /// Resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold hub …`.
#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Create a hub (or, with --hub-id, a hub project).
    Create {
        #[command(flatten)]
        workspace: WorkspaceName,
        /// Region.
        #[arg(long, short = 'l')]
        location: String,
        /// Create a project of this hub (its resource id) instead of a hub.
        #[arg(long)]
        hub_id: Option<String>,
        /// Customer-managed key: the full key URI (https://kv.vault.localhost:8443/keys/k/<version>).
        #[arg(long, requires = "user_assigned_identity")]
        key_identifier: Option<String>,
        /// The user-assigned identity (resource id) that reaches the vault.
        #[arg(long)]
        user_assigned_identity: Option<String>,
        /// Legacy placement: a managed resource group instead of service-side storage.
        #[arg(long)]
        managed_resource_group: bool,
        /// hbiWorkspace.
        #[arg(long)]
        hbi: bool,
    },
    /// Show a workspace.
    Show(WorkspaceName),
    /// List workspaces of a resource group.
    List {
        /// Resource group.
        #[arg(long, short = 'g')]
        resource_group: String,
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Delete a workspace (a hub's managed resource group goes with it).
    Delete(WorkspaceName),
}

/// `keyhold project …` (Foundry projects).
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project in a Foundry resource.
    Create {
        /// The AIServices account.
        #[arg(long)]
        account: String,
        /// Project name.
        #[arg(long, short = 'n')]
        name: String,
        /// Resource group.
        #[arg(long, short = 'g')]
        resource_group: String,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Give the project a system-assigned identity.
        #[arg(long)]
        identity: bool,
    },
    /// List an account's projects.
    List {
        /// The AIServices account.
        #[arg(long)]
        account: String,
        /// Resource group.
        #[arg(long, short = 'g')]
        resource_group: String,
    },
    /// Delete a project.
    Delete {
        /// The AIServices account.
        #[arg(long)]
        account: String,
        /// Project name.
        #[arg(long, short = 'n')]
        name: String,
        /// Resource group.
        #[arg(long, short = 'g')]
        resource_group: String,
    },
}

fn workspace_path(ctx: &Context, w: &WorkspaceName) -> Result<String, String> {
    let sub = ctx.subscription(w.subscription.as_deref())?;
    Ok(format!(
        "subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}?{ML_API}",
        w.resource_group, w.name
    ))
}

fn projects_path(ctx: &Context, account: &str, group: &str) -> Result<String, String> {
    let sub = ctx.subscription(None)?;
    Ok(format!(
        "subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{account}/projects"
    ))
}

/// Runs `keyhold hub …`.
pub fn run_hub(command: HubCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            HubCommand::Create {
                workspace,
                location,
                hub_id,
                key_identifier,
                user_assigned_identity,
                managed_resource_group,
                hbi,
            } => {
                let mut properties = json!({
                    "enableServiceSideCMKEncryption": !managed_resource_group,
                    "hbiWorkspace": hbi,
                });
                let mut identity = json!({ "type": "SystemAssigned" });
                if let (Some(key), Some(uai)) = (&key_identifier, &user_assigned_identity) {
                    let client_id = ctx
                        .management(Method::GET, &format!("{}?api-version=2023-01-31", uai.trim_start_matches('/')), None)
                        .await?["properties"]["clientId"]
                        .clone();
                    properties["encryption"] = json!({ "status": "Enabled", "keyVaultProperties": {
                        "keyIdentifier": key, "identityClientId": client_id } });
                    identity = json!({ "type": "SystemAssigned,UserAssigned", "userAssignedIdentities": { uai: {} } });
                }
                let kind = if let Some(hub) = hub_id {
                    properties["hubResourceId"] = hub.into();
                    "Project"
                } else {
                    "Hub"
                };
                let body = json!({ "location": location, "kind": kind, "identity": identity, "properties": properties });
                ctx.management(Method::PUT, &workspace_path(&ctx, &workspace)?, Some(&body))
                    .await
            }
            HubCommand::Show(workspace) => {
                ctx.management(Method::GET, &workspace_path(&ctx, &workspace)?, None)
                    .await
            }
            HubCommand::List {
                resource_group,
                subscription,
            } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                let list = ctx
                    .management(
                        Method::GET,
                        &format!("subscriptions/{sub}/resourceGroups/{resource_group}/providers/Microsoft.MachineLearningServices/workspaces?{ML_API}"),
                        None,
                    )
                    .await?;
                Ok(list["value"].clone())
            }
            HubCommand::Delete(workspace) => {
                ctx.management(Method::DELETE, &workspace_path(&ctx, &workspace)?, None)
                    .await?;
                Ok(json!({ "deleted": workspace.name }))
            }
        }
    })?;
    out.print(&value)
}

/// Runs `keyhold project …`.
pub fn run_project(command: ProjectCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value: Value = runtime()?.block_on(async {
        match command {
            ProjectCommand::Create {
                account,
                name,
                resource_group,
                display_name,
                identity,
            } => {
                let body = json!({
                    "identity": { "type": if identity { "SystemAssigned" } else { "None" } },
                    "properties": { "displayName": display_name.unwrap_or_else(|| name.clone()) },
                });
                let path = format!(
                    "{}/{name}?api-version=2025-09-01",
                    projects_path(&ctx, &account, &resource_group)?
                );
                ctx.management(Method::PUT, &path, Some(&body)).await
            }
            ProjectCommand::List {
                account,
                resource_group,
            } => {
                let path = format!(
                    "{}?api-version=2025-09-01",
                    projects_path(&ctx, &account, &resource_group)?
                );
                Ok(ctx.management(Method::GET, &path, None).await?["value"].clone())
            }
            ProjectCommand::Delete {
                account,
                name,
                resource_group,
            } => {
                let path = format!(
                    "{}/{name}?api-version=2025-09-01",
                    projects_path(&ctx, &account, &resource_group)?
                );
                ctx.management(Method::DELETE, &path, None).await?;
                Ok(json!({ "deleted": name }))
            }
        }
    })?;
    out.print(&value)
}
