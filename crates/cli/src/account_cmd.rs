//! `keyhold account …`: AI accounts through the ARM API, mirroring `az cognitiveservices
//! account` verbs, plus the CMK settings and approval requests. Writes to an account are
//! long-running ARM operations: the commands follow the operation headers until they end.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;

use crate::common::{Context, parse_tags, runtime};
use crate::output::Output;

const API: &str = "api-version=2025-09-01";

/// Options naming one account.
#[derive(Debug, Args)]
pub struct AccountName {
    /// Account name.
    #[arg(long, short = 'n')]
    name: String,
    /// Resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account (with a system-assigned identity unless --no-identity).
    Create {
        #[command(flatten)]
        account: AccountName,
        /// Kind: OpenAI, AIServices, CognitiveServices, SpeechServices, …
        #[arg(long, default_value = "OpenAI")]
        kind: String,
        /// Region.
        #[arg(long, short = 'l')]
        location: String,
        /// SKU.
        #[arg(long, default_value = "S0")]
        sku: String,
        /// Create without a managed identity.
        #[arg(long)]
        no_identity: bool,
        /// Foundry: allow project management (kind AIServices).
        #[arg(long)]
        allow_project_management: bool,
        /// Restore a soft-deleted account of this name.
        #[arg(long)]
        restore: bool,
    },
    /// Show an account.
    Show(AccountName),
    /// List accounts (of a group, or of the subscription).
    List {
        /// Resource group.
        #[arg(long, short = 'g')]
        resource_group: Option<String>,
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Update tags.
    Update {
        #[command(flatten)]
        account: AccountName,
        /// Tags as key=value (replace all).
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
    },
    /// Delete (soft delete: data kept until purged or restored).
    Delete(AccountName),
    /// Purge a soft-deleted account (its keys and data are destroyed).
    Purge {
        #[command(flatten)]
        account: AccountName,
        /// Region.
        #[arg(long, short = 'l')]
        location: String,
    },
    /// Print the API keys.
    Keys(AccountName),
    /// Re-wrap every file's key under the current KEK (`rewrap`) or re-encrypt every file
    /// (`reencrypt`); shows progress until the job ends (it survives restarts).
    Reprocess {
        #[command(flatten)]
        account: AccountName,
        /// rewrap or reencrypt.
        #[arg(long, default_value = "rewrap")]
        mode: String,
        /// Start the job and return without waiting.
        #[arg(long)]
        no_wait: bool,
    },
    /// Encryption settings.
    #[command(subcommand)]
    Encryption(EncryptionCommand),
    /// Request CMK for an approval-gated kind (SpeechServices, ContentModerator).
    CmkRequest {
        /// Kind.
        #[arg(long)]
        kind: String,
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Approve a subscription's CMK request (directory administrators).
    CmkApprove {
        /// Kind.
        #[arg(long)]
        kind: String,
        /// Subscription.
        #[arg(long)]
        subscription: Option<String>,
    },
}

/// `keyhold account encryption …`.
#[derive(Debug, Subcommand)]
pub enum EncryptionCommand {
    /// Use a customer-managed key (every CMK rule is checked first), or go back to
    /// Microsoft-managed keys with --microsoft-managed.
    Set {
        #[command(flatten)]
        account: AccountName,
        /// Vault URI (https://kv1.vault.localhost:8443/) or full key URI.
        #[arg(long, required_unless_present = "microsoft_managed")]
        key_vault_uri: Option<String>,
        /// Key name.
        #[arg(long)]
        key_name: Option<String>,
        /// Key version (omit to follow the newest).
        #[arg(long)]
        key_version: Option<String>,
        /// Client id of the user-assigned identity to use.
        #[arg(long)]
        identity_client_id: Option<String>,
        /// Switch to Microsoft-managed keys.
        #[arg(long, conflicts_with = "key_vault_uri")]
        microsoft_managed: bool,
    },
    /// Show the encryption setting.
    Show(AccountName),
}

fn path(ctx: &Context, account: &AccountName) -> Result<String, String> {
    let sub = ctx.subscription(account.subscription.as_deref())?;
    Ok(format!(
        "subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}?{API}",
        account.resource_group, account.name
    ))
}

fn action(ctx: &Context, account: &AccountName, action: &str) -> Result<String, String> {
    Ok(path(ctx, account)?.replace(&format!("?{API}"), &format!("/{action}?{API}")))
}

/// Runs `keyhold account …`.
pub fn run(command: AccountCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            AccountCommand::Create {
                account,
                kind,
                location,
                sku,
                no_identity,
                allow_project_management,
                restore,
            } => {
                let identity = if no_identity { "None" } else { "SystemAssigned" };
                let body = json!({
                    "location": location, "kind": kind, "sku": { "name": sku },
                    "identity": { "type": identity },
                    "properties": { "allowProjectManagement": allow_project_management, "restore": restore },
                });
                ctx.management_lro(Method::PUT, &path(&ctx, &account)?, Some(&body))
                    .await
            }
            AccountCommand::Show(account) => {
                ctx.management(Method::GET, &path(&ctx, &account)?, None)
                    .await
            }
            AccountCommand::List {
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
                        &format!("{scope}/providers/Microsoft.CognitiveServices/accounts?{API}"),
                        None,
                    )
                    .await?;
                Ok(list["value"].clone())
            }
            AccountCommand::Update { account, tags } => {
                let body = json!({ "tags": parse_tags(&tags)? });
                ctx.management_lro(Method::PATCH, &path(&ctx, &account)?, Some(&body))
                    .await
            }
            AccountCommand::Delete(account) => {
                ctx.management_lro(Method::DELETE, &path(&ctx, &account)?, None)
                    .await?;
                Ok(json!({ "deleted": account.name, "restorable": true }))
            }
            AccountCommand::Purge { account, location } => {
                let sub = ctx.subscription(account.subscription.as_deref())?;
                ctx.management(
                    Method::DELETE,
                    &format!(
                        "subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{location}/resourceGroups/{}/deletedAccounts/{}?{API}",
                        account.resource_group, account.name
                    ),
                    None,
                )
                .await?;
                Ok(json!({ "purged": account.name }))
            }
            AccountCommand::Keys(account) => {
                ctx.management(Method::POST, &action(&ctx, &account, "listKeys")?, None)
                    .await
            }
            AccountCommand::Reprocess {
                account,
                mode,
                no_wait,
            } => {
                let url = action(&ctx, &account, "reprocess")?;
                let mut job = ctx
                    .management(Method::POST, &url, Some(&json!({ "mode": mode })))
                    .await?;
                if no_wait {
                    return Ok(job);
                }
                let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                    indicatif::ProgressBar::new(job["total"].as_u64().unwrap_or(0))
                } else {
                    indicatif::ProgressBar::hidden()
                };
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:40}] {pos}/{len} files, eta {eta}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(mode.clone());
                while job["status"] == "Running" {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    job = ctx.management(Method::GET, &url, None).await?;
                    bar.set_length(job["total"].as_u64().unwrap_or(0));
                    bar.set_position(job["done"].as_u64().unwrap_or(0));
                }
                bar.finish_and_clear();
                if job["status"] != "Succeeded" {
                    return Err(format!(
                        "the {mode} job failed: {}",
                        job["error"].as_str().unwrap_or("unknown error")
                    ));
                }
                Ok(job)
            }
            AccountCommand::Encryption(EncryptionCommand::Show(account)) => {
                let a = ctx
                    .management(Method::GET, &path(&ctx, &account)?, None)
                    .await?;
                Ok(a["properties"]["encryption"].clone())
            }
            AccountCommand::Encryption(EncryptionCommand::Set {
                account,
                key_vault_uri,
                key_name,
                key_version,
                identity_client_id,
                microsoft_managed,
            }) => {
                let encryption = if microsoft_managed {
                    json!({ "keySource": "Microsoft.CognitiveServices" })
                } else {
                    json!({ "keySource": "Microsoft.KeyVault", "keyVaultProperties": {
                        "keyVaultUri": key_vault_uri, "keyName": key_name,
                        "keyVersion": key_version, "identityClientId": identity_client_id,
                    } })
                };
                let body = json!({ "properties": { "encryption": encryption } });
                let a = ctx
                    .management_lro(Method::PATCH, &path(&ctx, &account)?, Some(&body))
                    .await?;
                Ok(a["properties"]["encryption"].clone())
            }
            AccountCommand::CmkRequest { kind, subscription } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                ctx.management(
                    Method::PUT,
                    &format!("subscriptions/{sub}/providers/Microsoft.CognitiveServices/cmkRequests/{kind}?{API}"),
                    None,
                )
                .await
            }
            AccountCommand::CmkApprove { kind, subscription } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                ctx.management(
                    Method::POST,
                    &format!("subscriptions/{sub}/providers/Microsoft.CognitiveServices/cmkRequests/{kind}/approve?{API}"),
                    None,
                )
                .await
            }
        }
    })?;
    out.print(&value)
}
