//! `keyhold role …`: role assignments (`Microsoft.Authorization/roleAssignments`), like
//! `az role assignment`. A role is named as az names it ("Key Vault Crypto User") or by its
//! GUID; the assignee is an appId (resolved to its objectId through the directory API) or an
//! objectId; the scope is given whole (`--scope`) or built from `-g`, `--vault`, `--account`
//! (default: the subscription). Results have az's flat shape, with `roleDefinitionName`.

use clap::{Args, Subcommand};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::common::{Context, runtime};
use crate::output::Output;

const API: &str = "api-version=2022-04-01";
const VAULT_API: &str = "api-version=2025-05-01";
const ACCOUNT_API: &str = "api-version=2025-09-01";

/// Where an assignment applies.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// The whole scope, e.g. /subscriptions/{id}/resourceGroups/rg1.
    #[arg(long, conflicts_with_all = ["resource_group", "vault", "account"])]
    scope: Option<String>,
    /// A resource group (alone: the group's scope).
    #[arg(long, short = 'g')]
    resource_group: Option<String>,
    /// A key vault (in -g, or found in the subscription).
    #[arg(long, conflicts_with = "account")]
    vault: Option<String>,
    /// An AI account (in -g, or found in the subscription).
    #[arg(long)]
    account: Option<String>,
    /// Subscription (default: the one saved by `keyhold login`).
    #[arg(long)]
    subscription: Option<String>,
}

/// `keyhold role …`.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Assign a role to a principal at a scope.
    Assign {
        /// appId (client id) or objectId of the principal.
        #[arg(long)]
        assignee: String,
        /// Role name (e.g. "Key Vault Crypto User", Contributor) or role definition GUID.
        #[arg(long)]
        role: String,
        /// principalType (ServicePrincipal, User, Group): lets a principal that is not in this
        /// directory (a trusted external issuer's) be assigned, as in ARM.
        #[arg(long)]
        assignee_principal_type: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// List the assignments at a scope (and below it).
    List {
        /// Only this principal's (appId or objectId).
        #[arg(long)]
        assignee: Option<String>,
        /// Only this role's (name or GUID).
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Delete an assignment by name, or every assignment of --assignee (and --role) at the scope.
    Delete {
        /// The assignment's name (a GUID).
        #[arg(long, required_unless_present_any = ["assignee", "role"])]
        name: Option<String>,
        /// appId or objectId.
        #[arg(long)]
        assignee: Option<String>,
        /// Role name or GUID.
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

/// True for a GUID (8-4-4-4-12 hex digits).
fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok() && text.len() == 36
}

/// The id of a vault or account called `name` in the subscription.
async fn find_resource(
    ctx: &Context,
    sub: &str,
    provider: &str,
    api: &str,
    name: &str,
) -> Result<String, String> {
    let list = ctx
        .management(
            Method::GET,
            &format!("subscriptions/{sub}/providers/{provider}?{api}"),
            None,
        )
        .await?;
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|r| r["id"].as_str().map(str::to_owned))
        .ok_or_else(|| format!("{provider} {name} not found in subscription {sub}; give -g"))
}

/// The scope the options name.
async fn resolve_scope(ctx: &Context, args: &ScopeArgs) -> Result<String, String> {
    if let Some(scope) = &args.scope {
        return Ok(scope.trim_end_matches('/').to_owned());
    }
    let sub = ctx.subscription(args.subscription.as_deref())?;
    let resource = match (&args.vault, &args.account) {
        (Some(vault), _) => Some(("Microsoft.KeyVault/vaults", VAULT_API, vault)),
        (None, Some(account)) => {
            Some(("Microsoft.CognitiveServices/accounts", ACCOUNT_API, account))
        }
        (None, None) => None,
    };
    match (resource, &args.resource_group) {
        (Some((provider, _, name)), Some(rg)) => Ok(format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{name}"
        )),
        (Some((provider, api, name)), None) => find_resource(ctx, &sub, provider, api, name).await,
        (None, Some(rg)) => Ok(format!("/subscriptions/{sub}/resourceGroups/{rg}")),
        (None, None) => Ok(format!("/subscriptions/{sub}")),
    }
}

/// The objectId of an appId or objectId: an appId the directory knows becomes its
/// principal's objectId; anything else is taken as an objectId.
async fn resolve_assignee(ctx: &Context, assignee: &str) -> Result<String, String> {
    if !is_guid(assignee) {
        return Err(format!(
            "--assignee {assignee:?} is not an appId or objectId (a GUID)"
        ));
    }
    let path = format!("servicePrincipals/{assignee}");
    match ctx.directory(Method::GET, &path, None).await {
        Ok(principal) => Ok(principal["id"].as_str().unwrap_or(assignee).to_owned()),
        // Not an appId of this directory (or no right to look): an objectId, as given.
        Err(_) => Ok(assignee.to_owned()),
    }
}

/// Role definitions visible at `scope`: (id, name) pairs.
async fn definitions(
    ctx: &Context,
    scope: &str,
    name: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let filter = name.map_or_else(String::new, |n| {
        let value = format!("roleName eq '{n}'");
        format!("&$filter={}", utf8_percent_encode(&value, NON_ALPHANUMERIC))
    });
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions?{API}{filter}",
        scope.trim_start_matches('/')
    );
    let list = ctx.management(Method::GET, &path, None).await?;
    Ok(list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some((
                d["id"].as_str()?.to_owned(),
                d["properties"]["roleName"].as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// The role definition id of a role name or GUID.
async fn resolve_role(ctx: &Context, scope: &str, role: &str) -> Result<String, String> {
    let sub = scope.split('/').nth(2).unwrap_or_default();
    if is_guid(role) {
        return Ok(format!(
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        ));
    }
    if let Some((id, _)) = definitions(ctx, scope, Some(role))
        .await?
        .into_iter()
        .next()
    {
        return Ok(id);
    }
    let known: Vec<String> = definitions(ctx, scope, None)
        .await?
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    Err(format!(
        "no role named {role:?}; the roles are: {}",
        known.join(", ")
    ))
}

/// The last path segment (a role definition's GUID).
fn guid_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// az's flat shape: `properties` lifted to the top, plus `roleDefinitionName`.
fn flatten(assignment: &Value, names: &[(String, String)]) -> Value {
    let mut flat = Map::new();
    for key in ["id", "name", "type"] {
        flat.insert(key.to_owned(), assignment[key].clone());
    }
    if let Some(properties) = assignment["properties"].as_object() {
        for (k, v) in properties {
            flat.insert(k.clone(), v.clone());
        }
    }
    let role_id = assignment["properties"]["roleDefinitionId"]
        .as_str()
        .unwrap_or_default();
    let name = names
        .iter()
        .find(|(id, _)| guid_of(id).eq_ignore_ascii_case(guid_of(role_id)))
        .map(|(_, n)| n.clone());
    flat.insert("roleDefinitionName".into(), json!(name));
    Value::Object(flat)
}

/// The assignments at `scope`, flattened, filtered by principal and role.
async fn list(
    ctx: &Context,
    scope: &str,
    principal: Option<&str>,
    role_id: Option<&str>,
) -> Result<Vec<Value>, String> {
    let names = definitions(ctx, scope, None).await?;
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?{API}",
        scope.trim_start_matches('/')
    );
    let answer = ctx.management(Method::GET, &path, None).await?;
    Ok(answer["value"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| flatten(a, &names))
        .filter(|a| principal.is_none_or(|p| a["principalId"].as_str() == Some(p)))
        .filter(|a| {
            role_id.is_none_or(|r| {
                a["roleDefinitionId"]
                    .as_str()
                    .is_some_and(|id| guid_of(id).eq_ignore_ascii_case(guid_of(r)))
            })
        })
        .collect())
}

async fn run_command(ctx: &Context, command: RoleCommand) -> Result<Value, String> {
    match command {
        RoleCommand::Assign {
            assignee,
            role,
            assignee_principal_type,
            scope,
        } => {
            let scope = resolve_scope(ctx, &scope).await?;
            let role_id = resolve_role(ctx, &scope, &role).await?;
            let principal = resolve_assignee(ctx, &assignee).await?;
            let mut properties = json!({ "roleDefinitionId": role_id, "principalId": principal });
            if let Some(kind) = assignee_principal_type {
                properties["principalType"] = kind.into();
            }
            let name = uuid::Uuid::new_v4();
            let path = format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{name}?{API}",
                scope.trim_start_matches('/')
            );
            let created = ctx
                .management(
                    Method::PUT,
                    &path,
                    Some(&json!({ "properties": properties })),
                )
                .await
                .map_err(|e| {
                    if e.contains("PrincipalNotFound") && principal == assignee {
                        format!(
                            "{e}\nhint: {assignee} is neither an appId this login may look up \
                             nor an objectId of the directory; check it with \
                             `keyhold identity sp show --app-id {assignee}`"
                        )
                    } else {
                        e
                    }
                })?;
            Ok(flatten(&created, &definitions(ctx, &scope, None).await?))
        }
        RoleCommand::List {
            assignee,
            role,
            scope,
        } => {
            let scope = resolve_scope(ctx, &scope).await?;
            let principal = match assignee {
                Some(a) => Some(resolve_assignee(ctx, &a).await?),
                None => None,
            };
            let role_id = match role {
                Some(r) => Some(resolve_role(ctx, &scope, &r).await?),
                None => None,
            };
            Ok(Value::Array(
                list(ctx, &scope, principal.as_deref(), role_id.as_deref()).await?,
            ))
        }
        RoleCommand::Delete {
            name,
            assignee,
            role,
            scope,
        } => {
            let scope = resolve_scope(ctx, &scope).await?;
            let names: Vec<String> = match name {
                Some(name) => vec![name],
                None => {
                    let principal = match assignee {
                        Some(a) => Some(resolve_assignee(ctx, &a).await?),
                        None => None,
                    };
                    let role_id = match role {
                        Some(r) => Some(resolve_role(ctx, &scope, &r).await?),
                        None => None,
                    };
                    list(ctx, &scope, principal.as_deref(), role_id.as_deref())
                        .await?
                        .into_iter()
                        .filter(|a| {
                            a["scope"]
                                .as_str()
                                .is_some_and(|s| s.eq_ignore_ascii_case(&scope))
                        })
                        .filter_map(|a| a["name"].as_str().map(str::to_owned))
                        .collect()
                }
            };
            if names.is_empty() {
                return Err(format!("no matching role assignment at {scope}"));
            }
            for name in &names {
                let path = format!(
                    "{}/providers/Microsoft.Authorization/roleAssignments/{name}?{API}",
                    scope.trim_start_matches('/')
                );
                ctx.management(Method::DELETE, &path, None).await?;
            }
            Ok(json!({ "deleted": names }))
        }
    }
}

/// Runs `keyhold role …`.
pub fn run(command: RoleCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(run_command(&ctx, command))?;
    out.print(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("12345678-1234-1234-1234-123456789abc"));
        assert!(!is_guid("12345678123412341234123456789abc"));
        assert!(!is_guid("Key Vault Crypto User"));
    }

    #[test]
    fn flat_like_az() {
        let a = json!({
            "id": "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n1",
            "name": "n1", "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/R-1",
                "principalId": "p1", "scope": "/subscriptions/s",
            }
        });
        let names = vec![(
            "/subscriptions/other/providers/Microsoft.Authorization/roleDefinitions/r-1".to_owned(),
            "Reader".to_owned(),
        )];
        let flat = flatten(&a, &names);
        assert_eq!(flat["principalId"], "p1");
        assert_eq!(flat["scope"], "/subscriptions/s");
        assert_eq!(flat["roleDefinitionName"], "Reader");
        assert_eq!(flat["name"], "n1");
        assert!(flat.get("properties").is_none());
    }
}
