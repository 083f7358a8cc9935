//! `keyhold tenant …` and `keyhold subscription …`: more tenants and subscriptions, and moving
//! a subscription to another tenant, over the directory API. Results are JSON on stdout; a new
//! tenant's administrator secret appears once.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{client, describe, runtime};
use crate::output::Output;

/// `keyhold tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with its own administrator; prints the administrator's credentials once.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List the tenants (directory administrators only).
    List,
}

/// `keyhold subscription …`.
#[derive(Debug, Subcommand)]
pub enum SubscriptionCommand {
    /// Create a subscription in your tenant, owned by you (or by --owner).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Object id of the owner (a principal of your tenant).
        #[arg(long)]
        owner: Option<String>,
    },
    /// List your tenant's subscriptions.
    List,
    /// Move a subscription to another tenant. Its role assignments are removed, its vaults
    /// answer to the new tenant with empty access policies, and its resources' managed
    /// identities stay behind: customer-managed keys stop working until each resource's
    /// identity is switched on again and granted access in the new tenant. Data is kept.
    Move {
        /// Subscription id.
        #[arg(long)]
        subscription: String,
        /// Target tenant id.
        #[arg(long)]
        to_tenant: String,
        /// Object id of the principal of the target tenant that becomes Owner.
        #[arg(long)]
        owner: String,
    },
}

fn call(method: Method, path: String, body: Option<Value>) -> Result<Value, String> {
    let client = client()?;
    let scope = client
        .credentials()
        .ok_or("no credentials")?
        .management_scope
        .clone();
    runtime()?.block_on(async {
        client
            .request_json(method, &path, &scope, body.as_ref())
            .await
            .map_err(|e| describe(&client, &e))
    })
}

fn own_tenant() -> Result<String, String> {
    Ok(client()?
        .credentials()
        .ok_or("no credentials")?
        .tenant_id
        .clone())
}

/// Runs `keyhold tenant …`.
pub fn run_tenant(command: TenantCommand, out: &Output) -> Result<(), String> {
    let value = match command {
        TenantCommand::Create { name } => call(
            Method::POST,
            "keyhold/v1/tenants".into(),
            Some(json!({ "displayName": name })),
        )?,
        TenantCommand::List => call(Method::GET, "keyhold/v1/tenants".into(), None)?,
    };
    out.print(&value)
}

/// Runs `keyhold subscription …`.
pub fn run_subscription(command: SubscriptionCommand, out: &Output) -> Result<(), String> {
    let value = match command {
        SubscriptionCommand::Create { name, owner } => {
            let mut body = json!({ "displayName": name });
            if let Some(owner) = owner {
                body["ownerObjectId"] = json!(owner);
            }
            call(
                Method::POST,
                format!("keyhold/v1/tenants/{}/subscriptions", own_tenant()?),
                Some(body),
            )?
        }
        SubscriptionCommand::List => call(
            Method::GET,
            format!("keyhold/v1/tenants/{}/subscriptions", own_tenant()?),
            None,
        )?,
        SubscriptionCommand::Move {
            subscription,
            to_tenant,
            owner,
        } => call(
            Method::POST,
            format!("keyhold/v1/subscriptions/{subscription}/changeTenant"),
            Some(json!({ "targetTenantId": to_tenant, "ownerObjectId": owner })),
        )?,
    };
    out.print(&value)
}
