//! `keyhold identity create|list|show|delete` (user-assigned managed identities,
//! `Microsoft.ManagedIdentity/userAssignedIdentities`, like `az identity`) and
//! `keyhold identity binding create` (a workload binding: what a local process needs to get
//! managed-identity tokens the App Service way, `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`).

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Context, parse_tags, runtime, shell_quote};
use crate::output::Output;

const API: &str = "api-version=2023-01-31";

/// Options naming one user-assigned identity.
#[derive(Debug, Args)]
pub struct IdentityName {
    /// Identity name.
    #[arg(long, short = 'n')]
    name: String,
    /// Resource group.
    #[arg(long, short = 'g')]
    resource_group: String,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold identity create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    identity: IdentityName,
    /// Region (default: the resource group's).
    #[arg(long, short = 'l')]
    location: Option<String>,
    /// Tags as key=value.
    #[arg(long, num_args = 0..)]
    tags: Vec<String>,
}

/// `keyhold identity list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Resource group (default: the whole subscription).
    #[arg(long, short = 'g')]
    resource_group: Option<String>,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold identity binding …`.
#[derive(Debug, Subcommand)]
pub enum BindingCommand {
    /// Bind identities to a local workload: prints the identity endpoint and the secret header
    /// (shown only now) and, on stderr, the `export` lines for the workload's environment.
    Create {
        /// A user-assigned identity: its resource id, or its name with -g (repeatable).
        #[arg(long, required = true, num_args = 1..)]
        identity: Vec<String>,
        /// Resource group of identities given by name.
        #[arg(long, short = 'g')]
        resource_group: Option<String>,
        /// Subscription (default: the one saved by `keyhold login`).
        #[arg(long)]
        subscription: Option<String>,
        /// Print only the `export` lines, for `eval "$(keyhold identity binding create … --export)"`.
        #[arg(long)]
        export: bool,
    },
}

/// A user-assigned identity command.
#[derive(Debug)]
pub enum Command {
    /// Create.
    Create(CreateArgs),
    /// List.
    List(ListArgs),
    /// Show.
    Show(IdentityName),
    /// Delete.
    Delete(IdentityName),
    /// Workload bindings.
    Binding(BindingCommand),
}

fn group_scope(ctx: &Context, subscription: Option<&str>, rg: &str) -> Result<String, String> {
    let sub = ctx.subscription(subscription)?;
    Ok(format!("subscriptions/{sub}/resourceGroups/{rg}"))
}

fn path(ctx: &Context, id: &IdentityName) -> Result<String, String> {
    Ok(format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}?{API}",
        group_scope(ctx, id.subscription.as_deref(), &id.resource_group)?,
        id.name
    ))
}

/// An identity's resource id: given whole (or as an objectId), or built from name and group.
fn resource_id(
    ctx: &Context,
    identity: &str,
    rg: Option<&str>,
    subscription: Option<&str>,
) -> Result<String, String> {
    if identity.starts_with('/') || uuid::Uuid::parse_str(identity).is_ok() {
        return Ok(identity.to_owned());
    }
    let rg = rg.ok_or_else(|| {
        format!(
            "--identity {identity} is a name: give its resource group with -g, or its resource id"
        )
    })?;
    Ok(format!(
        "/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity}",
        group_scope(ctx, subscription, rg)?
    ))
}

/// The `export` lines a workload needs for a binding.
pub fn export_lines(binding: &Value) -> Result<String, String> {
    let endpoint = binding["identityEndpoint"]
        .as_str()
        .ok_or("the binding has no identityEndpoint")?;
    let header = binding["identityHeader"]
        .as_str()
        .ok_or("the binding has no identityHeader")?;
    Ok(format!(
        "export IDENTITY_ENDPOINT={}\nexport IDENTITY_HEADER={}\n",
        shell_quote(endpoint),
        shell_quote(header)
    ))
}

/// Creates a binding and prints it: the JSON on stdout and the `export` lines on stderr, or
/// (`--export`) only the `export` lines on stdout.
async fn bind(ctx: &Context, command: BindingCommand, out: &Output) -> Result<(), String> {
    let BindingCommand::Create {
        identity,
        resource_group,
        subscription,
        export,
    } = command;
    let ids = identity
        .iter()
        .map(|i| resource_id(ctx, i, resource_group.as_deref(), subscription.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let binding = ctx
        .management(
            Method::POST,
            "keyhold/v1/workloadBindings",
            Some(&json!({ "identities": ids })),
        )
        .await?;
    let lines = export_lines(&binding)?;
    if export {
        print!("{lines}");
        return Ok(());
    }
    out.print(&binding)?;
    eprint!("# For the workload's environment (the header is a secret, shown only now):\n{lines}");
    Ok(())
}

/// Runs a user-assigned identity or binding command.
pub fn run(command: Command, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    runtime()?.block_on(async {
        let value = match command {
            Command::Binding(binding) => return bind(&ctx, binding, out).await,
            Command::Create(args) => {
                let mut body = json!({ "tags": parse_tags(&args.tags)? });
                if let Some(location) = args.location {
                    body["location"] = location.into();
                }
                ctx.management(Method::PUT, &path(&ctx, &args.identity)?, Some(&body))
                    .await?
            }
            Command::List(args) => {
                let scope = match &args.resource_group {
                    Some(rg) => group_scope(&ctx, args.subscription.as_deref(), rg)?,
                    None => format!(
                        "subscriptions/{}",
                        ctx.subscription(args.subscription.as_deref())?
                    ),
                };
                let path = format!(
                    "{scope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?{API}"
                );
                ctx.management(Method::GET, &path, None).await?["value"].clone()
            }
            Command::Show(id) => ctx.management(Method::GET, &path(&ctx, &id)?, None).await?,
            Command::Delete(id) => {
                ctx.management(Method::DELETE, &path(&ctx, &id)?, None)
                    .await?;
                json!({ "deleted": id.name })
            }
        };
        out.print(&value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_are_quoted_for_the_shell() {
        let binding = json!({ "identityEndpoint": "https://localhost:8443/msi/token",
                              "identityHeader": "ab'c" });
        assert_eq!(
            export_lines(&binding).unwrap(),
            "export IDENTITY_ENDPOINT='https://localhost:8443/msi/token'\nexport IDENTITY_HEADER='ab'\\''c'\n"
        );
        assert!(export_lines(&json!({})).is_err());
    }
}
