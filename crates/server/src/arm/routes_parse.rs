//! The ARM path parser: segments (original case) to [`ArmRoute`], matching keywords without
//! regard to case. The route enum and its meaning are in `arm/routes.rs`.

use axum::http::Method;

use super::routes::{ArmRoute, ResourceOp};
use crate::http::RouteError;

const GET: &str = "GET";
pub(crate) const RESOURCE_METHODS: &str = "GET, HEAD, PUT, PATCH, DELETE";
pub(crate) const ASSIGNMENT_METHODS: &str = "GET, PUT, DELETE";

fn list(method: &Method, route: ArmRoute) -> Result<ArmRoute, RouteError> {
    if method == Method::GET {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed(GET))
    }
}

fn resource_op(method: &Method) -> Result<ResourceOp, RouteError> {
    match *method {
        Method::GET => Ok(ResourceOp::Get),
        Method::HEAD => Ok(ResourceOp::Head),
        Method::PUT => Ok(ResourceOp::Put),
        Method::PATCH => Ok(ResourceOp::Patch),
        Method::DELETE => Ok(ResourceOp::Delete),
        _ => Err(RouteError::MethodNotAllowed(RESOURCE_METHODS)),
    }
}

fn assignment_op(method: &Method) -> Result<ResourceOp, RouteError> {
    match *method {
        Method::GET => Ok(ResourceOp::Get),
        Method::PUT => Ok(ResourceOp::Put),
        Method::DELETE => Ok(ResourceOp::Delete),
        _ => Err(RouteError::MethodNotAllowed(ASSIGNMENT_METHODS)),
    }
}

pub(crate) fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses ARM path segments (already split, original case). `None` when the path is not an
/// ARM path at all (so other service-host routes can be tried).
pub fn parse(method: &Method, segments: &[&str]) -> Option<Result<ArmRoute, RouteError>> {
    let first = segments.first()?;
    if eq(first, "tenants") {
        return Some(match segments.len() {
            1 => list(method, ArmRoute::ListTenants),
            _ => Err(RouteError::NotFound),
        });
    }
    if !eq(first, "subscriptions") {
        return None;
    }
    Some(parse_subscription(method, segments))
}

fn parse_subscription(method: &Method, segments: &[&str]) -> Result<ArmRoute, RouteError> {
    if let Some(route) = super::template_deployments::routes::parse(method, segments) {
        return route.map(ArmRoute::TemplateDeployments);
    }
    if let Some(listing) = super::routes_listing::parse(method, segments) {
        return listing;
    }
    // Role assignments/definitions may hang under any scope: split at the last
    // `providers/Microsoft.Authorization`.
    if let Some(at) = segments
        .windows(2)
        .rposition(|w| eq(w[0], "providers") && eq(w[1], "Microsoft.Authorization"))
    {
        let scope = format!("/{}", segments[..at].join("/"));
        return parse_authorization(method, scope, &segments[at + 2..]);
    }
    if let [_, sub, p, ns, rest @ ..] = segments
        && eq(p, "providers")
        && eq(ns, "Microsoft.KeyVault")
    {
        return parse_key_vault(method, sub, None, rest);
    }
    if let [_, sub, rgs, rg, p, ns, rest @ ..] = segments
        && eq(rgs, "resourcegroups")
        && eq(p, "providers")
        && eq(ns, "Microsoft.KeyVault")
    {
        return parse_key_vault(method, sub, Some(rg), rest);
    }
    if let [_, sub, p, ns, rest @ ..] = segments
        && eq(p, "providers")
        && eq(ns, "Microsoft.MachineLearningServices")
    {
        return parse_workspaces(method, sub, None, rest);
    }
    if let [_, sub, rgs, rg, p, ns, rest @ ..] = segments
        && eq(rgs, "resourcegroups")
        && eq(p, "providers")
        && eq(ns, "Microsoft.MachineLearningServices")
    {
        return parse_workspaces(method, sub, Some(rg), rest);
    }
    if let [_, sub, p, ns, rest @ ..] = segments
        && eq(p, "providers")
        && eq(ns, "Microsoft.CognitiveServices")
    {
        return parse_cognitive(method, sub, None, rest);
    }
    if let [_, sub, rgs, rg, p, ns, rest @ ..] = segments
        && eq(rgs, "resourcegroups")
        && eq(p, "providers")
        && eq(ns, "Microsoft.CognitiveServices")
    {
        return parse_cognitive(method, sub, Some(rg), rest);
    }
    match segments {
        [_] => list(method, ArmRoute::ListSubscriptions),
        [_, sub] => list(
            method,
            ArmRoute::GetSubscription {
                subscription: (*sub).to_owned(),
            },
        ),
        [_, sub, rgs] if eq(rgs, "resourcegroups") => list(
            method,
            ArmRoute::ListResourceGroups {
                subscription: (*sub).to_owned(),
            },
        ),
        [_, sub, rgs, rg] if eq(rgs, "resourcegroups") => Ok(ArmRoute::ResourceGroup {
            subscription: (*sub).to_owned(),
            resource_group: (*rg).to_owned(),
            op: resource_op(method)?,
        }),
        [_, sub, p, ns, ty]
            if eq(p, "providers")
                && eq(ns, "Microsoft.ManagedIdentity")
                && eq(ty, "userAssignedIdentities") =>
        {
            list(
                method,
                ArmRoute::ListUserAssignedIdentities {
                    subscription: (*sub).to_owned(),
                    resource_group: None,
                },
            )
        }
        [_, sub, rgs, rg, p, ns, ty]
            if eq(rgs, "resourcegroups")
                && eq(p, "providers")
                && eq(ns, "Microsoft.ManagedIdentity")
                && eq(ty, "userAssignedIdentities") =>
        {
            list(
                method,
                ArmRoute::ListUserAssignedIdentities {
                    subscription: (*sub).to_owned(),
                    resource_group: Some((*rg).to_owned()),
                },
            )
        }
        [_, sub, rgs, rg, p, ns, ty, name]
            if eq(rgs, "resourcegroups")
                && eq(p, "providers")
                && eq(ns, "Microsoft.ManagedIdentity")
                && eq(ty, "userAssignedIdentities") =>
        {
            Ok(ArmRoute::UserAssignedIdentity {
                subscription: (*sub).to_owned(),
                resource_group: (*rg).to_owned(),
                name: (*name).to_owned(),
                op: resource_op(method)?,
            })
        }
        _ => Err(RouteError::NotFound),
    }
}

fn post(method: &Method, route: ArmRoute) -> Result<ArmRoute, RouteError> {
    if method == Method::POST {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed("POST"))
    }
}

/// `Microsoft.KeyVault` paths: `rest` follows `providers/Microsoft.KeyVault`.
fn parse_key_vault(
    method: &Method,
    subscription: &str,
    group: Option<&str>,
    rest: &[&str],
) -> Result<ArmRoute, RouteError> {
    let subscription = subscription.to_owned();
    match (group, rest) {
        (_, [ty]) if eq(ty, "vaults") => list(
            method,
            ArmRoute::ListVaults {
                subscription,
                resource_group: group.map(str::to_owned),
            },
        ),
        (Some(rg), [ty, name]) if eq(ty, "vaults") => Ok(ArmRoute::Vault {
            subscription,
            resource_group: rg.to_owned(),
            name: (*name).to_owned(),
            op: resource_op(method)?,
        }),
        (Some(rg), [ty, name, ap, kind]) if eq(ty, "vaults") && eq(ap, "accessPolicies") => {
            if method == Method::PUT {
                Ok(ArmRoute::VaultAccessPolicies {
                    subscription,
                    resource_group: rg.to_owned(),
                    name: (*name).to_owned(),
                    kind: (*kind).to_owned(),
                })
            } else {
                Err(RouteError::MethodNotAllowed("PUT"))
            }
        }
        (Some(rg), [ty, vault, k]) if eq(ty, "vaults") && eq(k, "keys") => list(
            method,
            ArmRoute::ListVaultKeys {
                subscription,
                resource_group: rg.to_owned(),
                vault: (*vault).to_owned(),
            },
        ),
        (Some(rg), [ty, vault, k, name]) if eq(ty, "vaults") && eq(k, "keys") => {
            let op = match *method {
                Method::GET => ResourceOp::Get,
                Method::HEAD => ResourceOp::Head,
                Method::PUT => ResourceOp::Put,
                _ => return Err(RouteError::MethodNotAllowed("GET, HEAD, PUT")),
            };
            Ok(ArmRoute::VaultKey {
                subscription,
                resource_group: rg.to_owned(),
                vault: (*vault).to_owned(),
                name: (*name).to_owned(),
                op,
            })
        }
        (None, [ty]) if eq(ty, "deletedVaults") => {
            list(method, ArmRoute::ListDeletedVaults { subscription })
        }
        (None, [l, location, ty, name]) if eq(l, "locations") && eq(ty, "deletedVaults") => list(
            method,
            ArmRoute::DeletedVault {
                subscription,
                location: (*location).to_owned(),
                name: (*name).to_owned(),
            },
        ),
        (None, [l, location, ty, name, purge])
            if eq(l, "locations") && eq(ty, "deletedVaults") && eq(purge, "purge") =>
        {
            post(
                method,
                ArmRoute::PurgeDeletedVault {
                    subscription,
                    location: (*location).to_owned(),
                    name: (*name).to_owned(),
                },
            )
        }
        (None, [ty]) if eq(ty, "checkNameAvailability") => {
            post(method, ArmRoute::CheckVaultName { subscription })
        }
        _ => Err(RouteError::NotFound),
    }
}

/// `Microsoft.CognitiveServices` paths: `rest` follows `providers/Microsoft.CognitiveServices`.
fn parse_cognitive(
    method: &Method,
    subscription: &str,
    group: Option<&str>,
    rest: &[&str],
) -> Result<ArmRoute, RouteError> {
    let subscription = subscription.to_owned();
    let own = |s: &&str| (*s).to_owned();
    match (group, rest) {
        (_, [ty]) if eq(ty, "accounts") => list(
            method,
            ArmRoute::ListAccounts {
                subscription,
                resource_group: group.map(str::to_owned),
            },
        ),
        (Some(rg), [ty, name]) if eq(ty, "accounts") => Ok(ArmRoute::Account {
            subscription,
            resource_group: rg.to_owned(),
            name: own(name),
            op: resource_op(method)?,
        }),
        (Some(rg), [ty, name, action])
            if eq(ty, "accounts") && (eq(action, "listKeys") || eq(action, "regenerateKey")) =>
        {
            post(
                method,
                ArmRoute::AccountKeys {
                    subscription,
                    resource_group: rg.to_owned(),
                    name: own(name),
                    regenerate: eq(action, "regenerateKey"),
                },
            )
        }
        (Some(rg), [ty, account, p]) if eq(ty, "accounts") && eq(p, "projects") => list(
            method,
            ArmRoute::ListProjects {
                subscription,
                resource_group: rg.to_owned(),
                account: own(account),
            },
        ),
        (Some(rg), [ty, account, p, name]) if eq(ty, "accounts") && eq(p, "projects") => {
            Ok(ArmRoute::Project {
                subscription,
                resource_group: rg.to_owned(),
                account: own(account),
                name: own(name),
                op: resource_op(method)?,
            })
        }
        (Some(rg), [ty, name, u]) if eq(ty, "accounts") && eq(u, "usages") => list(
            method,
            ArmRoute::AccountUsages {
                subscription,
                resource_group: rg.to_owned(),
                name: own(name),
            },
        ),
        (Some(rg), [ty, account, p]) if eq(ty, "accounts") && eq(p, "deployments") => list(
            method,
            ArmRoute::ListDeployments {
                subscription,
                resource_group: rg.to_owned(),
                account: own(account),
            },
        ),
        (Some(rg), [ty, account, p, name]) if eq(ty, "accounts") && eq(p, "deployments") => {
            Ok(ArmRoute::Deployment {
                subscription,
                resource_group: rg.to_owned(),
                account: own(account),
                name: own(name),
                op: resource_op(method)?,
            })
        }
        (Some(rg), [ty, name, action]) if eq(ty, "accounts") && eq(action, "reprocess") => {
            let start = match *method {
                Method::POST => true,
                Method::GET => false,
                _ => return Err(RouteError::MethodNotAllowed("GET, POST")),
            };
            Ok(ArmRoute::AccountReprocess {
                subscription,
                resource_group: rg.to_owned(),
                name: own(name),
                start,
            })
        }
        (None, [ty]) if eq(ty, "deletedAccounts") => {
            list(method, ArmRoute::ListDeletedAccounts { subscription })
        }
        (None, [l, location, rgs, rg, ty, name])
            if eq(l, "locations") && eq(rgs, "resourceGroups") && eq(ty, "deletedAccounts") =>
        {
            let op = match *method {
                Method::GET => ResourceOp::Get,
                Method::DELETE => ResourceOp::Delete,
                _ => return Err(RouteError::MethodNotAllowed("GET, DELETE")),
            };
            Ok(ArmRoute::DeletedAccount {
                subscription,
                location: own(location),
                resource_group: own(rg),
                name: own(name),
                op,
            })
        }
        (None, [l, _, ty, id]) if eq(l, "locations") && eq(ty, "operationResults") => list(
            method,
            ArmRoute::AccountOperation {
                subscription,
                id: own(id),
            },
        ),
        (None, [ty, kind]) if eq(ty, "cmkRequests") => {
            if method == Method::PUT {
                Ok(ArmRoute::CmkRequest {
                    subscription,
                    kind: own(kind),
                    approve: false,
                })
            } else {
                Err(RouteError::MethodNotAllowed("PUT"))
            }
        }
        (None, [ty, kind, approve]) if eq(ty, "cmkRequests") && eq(approve, "approve") => post(
            method,
            ArmRoute::CmkRequest {
                subscription,
                kind: own(kind),
                approve: true,
            },
        ),
        _ => Err(RouteError::NotFound),
    }
}

/// `Microsoft.MachineLearningServices` paths (hub and project workspaces).
fn parse_workspaces(
    method: &Method,
    subscription: &str,
    group: Option<&str>,
    rest: &[&str],
) -> Result<ArmRoute, RouteError> {
    let subscription = subscription.to_owned();
    match (group, rest) {
        (_, [ty]) if eq(ty, "workspaces") => list(
            method,
            ArmRoute::ListWorkspaces {
                subscription,
                resource_group: group.map(str::to_owned),
            },
        ),
        (Some(rg), [ty, name]) if eq(ty, "workspaces") => Ok(ArmRoute::Workspace {
            subscription,
            resource_group: rg.to_owned(),
            name: (*name).to_owned(),
            op: resource_op(method)?,
        }),
        _ => Err(RouteError::NotFound),
    }
}

fn parse_authorization(
    method: &Method,
    scope: String,
    rest: &[&str],
) -> Result<ArmRoute, RouteError> {
    match rest {
        [ty] if eq(ty, "roleAssignments") => list(method, ArmRoute::ListRoleAssignments { scope }),
        [ty, name] if eq(ty, "roleAssignments") => Ok(ArmRoute::RoleAssignment {
            scope,
            name: (*name).to_owned(),
            op: assignment_op(method)?,
        }),
        [ty] if eq(ty, "roleDefinitions") => list(method, ArmRoute::ListRoleDefinitions { scope }),
        [ty, id] if eq(ty, "roleDefinitions") => list(
            method,
            ArmRoute::GetRoleDefinition {
                scope,
                id: (*id).to_owned(),
            },
        ),
        _ => Err(RouteError::NotFound),
    }
}
