//! `keyhold deployment …`: model deployments of an AI account
//! (`Microsoft.CognitiveServices/accounts/{a}/deployments/{d}`), like `az cognitiveservices
//! account deployment`. Writes are long-running ARM operations: the command follows the
//! operation headers until the deployment is ready (or gone) and prints its final state.
//! Deploying a fine-tuned model needs the account's key (it is decrypted into memory).

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;

use crate::common::{Context, runtime};
use crate::output::Output;

const API: &str = "api-version=2025-06-01";

/// Options naming an account.
#[derive(Debug, Args)]
pub struct AccountRef {
    /// Account name.
    #[arg(long)]
    account: String,
    /// The account's resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// Options naming one deployment.
#[derive(Debug, Args)]
pub struct DeploymentRef {
    #[command(flatten)]
    account: AccountRef,
    /// Deployment name.
    #[arg(long, short = 'n')]
    name: String,
}

/// `keyhold deployment …`.
#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Deploy a model (a base model such as gpt-4o-mini, or a fine-tuned model's id).
    Create {
        #[command(flatten)]
        deployment: DeploymentRef,
        /// Model name.
        #[arg(long)]
        model: String,
        /// Model version.
        #[arg(long)]
        model_version: Option<String>,
        /// Model format.
        #[arg(long, default_value = "OpenAI")]
        model_format: String,
        /// SKU name.
        #[arg(long, default_value = "Standard")]
        sku: String,
        /// SKU capacity.
        #[arg(long, default_value_t = 1)]
        capacity: u32,
    },
    /// List an account's deployments.
    List(AccountRef),
    /// Show a deployment.
    Show(DeploymentRef),
    /// Delete a deployment (it stops answering at once).
    Delete(DeploymentRef),
}

fn account_path(ctx: &Context, account: &AccountRef) -> Result<String, String> {
    let sub = ctx.subscription(account.subscription.as_deref())?;
    Ok(format!(
        "subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
        account.resource_group, account.account
    ))
}

fn deployment_path(ctx: &Context, deployment: &DeploymentRef) -> Result<String, String> {
    Ok(format!(
        "{}/deployments/{}?{API}",
        account_path(ctx, &deployment.account)?,
        deployment.name
    ))
}

/// Runs `keyhold deployment …`.
pub fn run(command: DeploymentCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            DeploymentCommand::Create {
                deployment,
                model,
                model_version,
                model_format,
                sku,
                capacity,
            } => {
                let mut model = json!({ "format": model_format, "name": model });
                if let Some(version) = model_version {
                    model["version"] = version.into();
                }
                let body = json!({
                    "properties": { "model": model },
                    "sku": { "name": sku, "capacity": capacity },
                });
                let path = deployment_path(&ctx, &deployment)?;
                ctx.management_lro(Method::PUT, &path, Some(&body)).await
            }
            DeploymentCommand::List(account) => {
                let path = format!("{}/deployments?{API}", account_path(&ctx, &account)?);
                Ok(ctx.management(Method::GET, &path, None).await?["value"].clone())
            }
            DeploymentCommand::Show(deployment) => {
                let path = deployment_path(&ctx, &deployment)?;
                ctx.management(Method::GET, &path, None).await
            }
            DeploymentCommand::Delete(deployment) => {
                let path = deployment_path(&ctx, &deployment)?;
                ctx.management_lro(Method::DELETE, &path, None).await?;
                Ok(json!({ "deleted": deployment.name }))
            }
        }
    })?;
    out.print(&value)
}
