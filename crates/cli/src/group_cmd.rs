//! `keyhold group …`: resource groups through the ARM API
//! (`/subscriptions/{s}/resourcegroups/{rg}`), mirroring `az group` verbs. Every vault,
//! account and identity lives in one.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::json;

use crate::common::{Context, parse_tags, runtime};
use crate::output::Output;

const API: &str = "api-version=2024-11-01";

/// Options naming one resource group.
#[derive(Debug, Args)]
pub struct GroupName {
    /// Resource group name.
    #[arg(long, short = 'n')]
    name: String,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold group …`.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a resource group (or update its tags).
    Create {
        #[command(flatten)]
        group: GroupName,
        /// Region.
        #[arg(long, short = 'l', default_value = "westeurope")]
        location: String,
        /// Tags as key=value.
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
    },
    /// List the subscription's resource groups.
    List {
        /// Subscription (default: the one saved by `keyhold login`).
        #[arg(long)]
        subscription: Option<String>,
    },
    /// Show a resource group.
    Show(GroupName),
    /// Delete a resource group (with the user-assigned identities in it).
    Delete(GroupName),
}

fn path(ctx: &Context, subscription: Option<&str>, name: &str) -> Result<String, String> {
    let sub = ctx.subscription(subscription)?;
    Ok(format!("subscriptions/{sub}/resourcegroups/{name}?{API}"))
}

/// Runs `keyhold group …`.
pub fn run(command: GroupCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            GroupCommand::Create {
                group,
                location,
                tags,
            } => {
                let body = json!({ "location": location, "tags": parse_tags(&tags)? });
                let url = path(&ctx, group.subscription.as_deref(), &group.name)?;
                ctx.management(Method::PUT, &url, Some(&body)).await
            }
            GroupCommand::List { subscription } => {
                let sub = ctx.subscription(subscription.as_deref())?;
                let list = ctx
                    .management(
                        Method::GET,
                        &format!("subscriptions/{sub}/resourcegroups?{API}"),
                        None,
                    )
                    .await?;
                Ok(list["value"].clone())
            }
            GroupCommand::Show(group) => {
                let url = path(&ctx, group.subscription.as_deref(), &group.name)?;
                ctx.management(Method::GET, &url, None).await
            }
            GroupCommand::Delete(group) => {
                let url = path(&ctx, group.subscription.as_deref(), &group.name)?;
                ctx.management_lro(Method::DELETE, &url, None).await?;
                Ok(json!({ "deleted": group.name }))
            }
        }
    })?;
    out.print(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse() {
        assert_eq!(parse_tags(&[]).unwrap(), json!({}));
        assert_eq!(
            parse_tags(&["env=dev".into(), "team=a=b".into()]).unwrap(),
            json!({ "env": "dev", "team": "a=b" })
        );
        assert!(parse_tags(&["nope".into()]).is_err());
    }
}
