//! Azure Resource Manager paths on the service host, parsed into [`ArmRoute`].
//!
//! ARM matches keywords (`resourceGroups`, provider namespaces, resource types) without regard
//! to case; names keep the case the client sent. Role assignments hang under any scope:
//! `/{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.

use axum::http::Method;

use super::RouteError;

/// The method class of an operation on one ARM resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceOp {
    /// GET
    Get,
    /// HEAD (existence check)
    Head,
    /// PUT (create or replace)
    Put,
    /// PATCH (update)
    Patch,
    /// DELETE
    Delete,
}

/// A parsed ARM request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmRoute {
    /// `GET /tenants`
    ListTenants,
    /// `GET /subscriptions`
    ListSubscriptions,
    /// `GET /subscriptions/{sub}`
    GetSubscription {
        /// Subscription id as sent.
        subscription: String,
    },
    /// `GET /subscriptions/{sub}/resourcegroups`
    ListResourceGroups {
        /// Subscription id.
        subscription: String,
    },
    /// `/subscriptions/{sub}/resourcegroups/{rg}`
    ResourceGroup {
        /// Subscription id.
        subscription: String,
        /// Resource group name.
        resource_group: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `GET …/providers/Microsoft.ManagedIdentity/userAssignedIdentities` (by subscription or group)
    ListUserAssignedIdentities {
        /// Subscription id.
        subscription: String,
        /// Resource group, when listing one group.
        resource_group: Option<String>,
    },
    /// `…/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`
    UserAssignedIdentity {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Identity name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `GET …/providers/Microsoft.KeyVault/vaults` (by subscription or resource group)
    ListVaults {
        /// Subscription id.
        subscription: String,
        /// Resource group, when listing one group.
        resource_group: Option<String>,
    },
    /// `…/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`
    Vault {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Vault name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `PUT …/vaults/{name}/accessPolicies/{add|remove|replace}`
    VaultAccessPolicies {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Vault name.
        name: String,
        /// `add`, `remove` or `replace` as sent.
        kind: String,
    },
    /// `GET /subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults`
    ListDeletedVaults {
        /// Subscription id.
        subscription: String,
    },
    /// `GET /subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{loc}/deletedVaults/{name}`
    DeletedVault {
        /// Subscription id.
        subscription: String,
        /// Location.
        location: String,
        /// Vault name.
        name: String,
    },
    /// `POST …/locations/{loc}/deletedVaults/{name}/purge`
    PurgeDeletedVault {
        /// Subscription id.
        subscription: String,
        /// Location.
        location: String,
        /// Vault name.
        name: String,
    },
    /// `POST /subscriptions/{sub}/providers/Microsoft.KeyVault/checkNameAvailability`
    CheckVaultName {
        /// Subscription id.
        subscription: String,
    },
    /// `GET …/providers/Microsoft.CognitiveServices/accounts` (by subscription or group)
    ListAccounts {
        /// Subscription id.
        subscription: String,
        /// Resource group, when listing one group.
        resource_group: Option<String>,
    },
    /// `…/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}`
    Account {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `POST …/accounts/{name}/listKeys` or `…/regenerateKey`
    AccountKeys {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        name: String,
        /// True for `regenerateKey`.
        regenerate: bool,
    },
    /// `GET …/accounts/{name}/usages`: the account's metering.
    AccountUsages {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        name: String,
    },
    /// `GET …/providers/Microsoft.MachineLearningServices/workspaces` (by subscription or group)
    ListWorkspaces {
        /// Subscription id.
        subscription: String,
        /// Resource group, when listing one group.
        resource_group: Option<String>,
    },
    /// `…/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}`
    Workspace {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Workspace name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `GET …/accounts/{account}/projects`
    ListProjects {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        account: String,
    },
    /// `…/accounts/{account}/projects/{name}`
    Project {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        account: String,
        /// Project name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `GET …/accounts/{account}/deployments`
    ListDeployments {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        account: String,
    },
    /// `…/accounts/{account}/deployments/{name}`
    Deployment {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        account: String,
        /// Deployment name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `POST …/accounts/{name}/reprocess` (start) or `GET` (progress).
    AccountReprocess {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        name: String,
        /// True for POST.
        start: bool,
    },
    /// `GET /subscriptions/{sub}/providers/Microsoft.CognitiveServices/deletedAccounts`
    ListDeletedAccounts {
        /// Subscription id.
        subscription: String,
    },
    /// `GET|DELETE …/locations/{loc}/resourceGroups/{rg}/deletedAccounts/{name}`
    DeletedAccount {
        /// Subscription id.
        subscription: String,
        /// Location.
        location: String,
        /// Resource group.
        resource_group: String,
        /// Account name.
        name: String,
        /// Get or Delete (purge).
        op: ResourceOp,
    },
    /// `GET …/Microsoft.CognitiveServices/locations/{loc}/operationResults/{id}`
    AccountOperation {
        /// Subscription id.
        subscription: String,
        /// Operation id.
        id: String,
    },
    /// `PUT …/Microsoft.CognitiveServices/cmkRequests/{kind}` (request), `POST …/approve`.
    CmkRequest {
        /// Subscription id.
        subscription: String,
        /// Kind.
        kind: String,
        /// True for `approve`.
        approve: bool,
    },
    /// `GET /{scope}/providers/Microsoft.Authorization/roleAssignments`
    ListRoleAssignments {
        /// The scope (an ARM id prefix, starting with `/subscriptions/`).
        scope: String,
    },
    /// `/{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`
    RoleAssignment {
        /// The scope.
        scope: String,
        /// Assignment name (a GUID).
        name: String,
        /// Operation (GET, PUT, DELETE).
        op: ResourceOp,
    },
    /// `GET /{scope}/providers/Microsoft.Authorization/roleDefinitions`
    ListRoleDefinitions {
        /// The scope.
        scope: String,
    },
    /// `GET /{scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`
    GetRoleDefinition {
        /// The scope.
        scope: String,
        /// Role definition GUID.
        id: String,
    },
}

impl ArmRoute {
    /// `(resource group, account)` of a route to a resource under an AI account (projects,
    /// deployments); `None` for other routes.
    pub fn parent_account(&self) -> Option<(&str, &str)> {
        match self {
            ArmRoute::ListProjects {
                resource_group,
                account,
                ..
            }
            | ArmRoute::Project {
                resource_group,
                account,
                ..
            }
            | ArmRoute::ListDeployments {
                resource_group,
                account,
                ..
            }
            | ArmRoute::Deployment {
                resource_group,
                account,
                ..
            } => Some((resource_group, account)),
            _ => None,
        }
    }
}

const GET: &str = "GET";
const RESOURCE_METHODS: &str = "GET, HEAD, PUT, PATCH, DELETE";
const ASSIGNMENT_METHODS: &str = "GET, PUT, DELETE";

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

fn eq(a: &str, b: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<Result<ArmRoute, RouteError>>;

    fn run(method: Method, path: &str) -> Parsed {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        parse(&method, &segments)
    }

    #[test]
    fn parent_account_of_child_routes() {
        let s = "00000000-0000-0000-0000-000000000001";
        let acct = format!(
            "/subscriptions/{s}/resourceGroups/rg1/providers/Microsoft.CognitiveServices/accounts/acct1"
        );
        for (method, path, expected) in [
            (
                Method::GET,
                format!("{acct}/projects"),
                Some(("rg1", "acct1")),
            ),
            (
                Method::PUT,
                format!("{acct}/projects/p1"),
                Some(("rg1", "acct1")),
            ),
            (
                Method::GET,
                format!("{acct}/deployments"),
                Some(("rg1", "acct1")),
            ),
            (
                Method::DELETE,
                format!("{acct}/deployments/d1"),
                Some(("rg1", "acct1")),
            ),
            (Method::GET, acct.clone(), None),
            (Method::GET, format!("{acct}/usages"), None),
        ] {
            let route = run(method, &path).unwrap().unwrap();
            assert_eq!(route.parent_account(), expected, "{path}");
        }
    }

    #[test]
    fn arm_table() {
        let s = "00000000-0000-0000-0000-000000000001";
        let rows: Vec<(Method, String, Parsed)> = vec![
            (
                Method::GET,
                "/tenants".into(),
                Some(Ok(ArmRoute::ListTenants)),
            ),
            (
                Method::GET,
                "/subscriptions".into(),
                Some(Ok(ArmRoute::ListSubscriptions)),
            ),
            (
                Method::POST,
                "/subscriptions".into(),
                Some(Err(RouteError::MethodNotAllowed("GET"))),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}"),
                Some(Ok(ArmRoute::GetSubscription {
                    subscription: s.into(),
                })),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/resourcegroups"),
                Some(Ok(ArmRoute::ListResourceGroups {
                    subscription: s.into(),
                })),
            ),
            (
                Method::PUT,
                format!("/subscriptions/{s}/resourceGroups/My-RG"),
                Some(Ok(ArmRoute::ResourceGroup {
                    subscription: s.into(),
                    resource_group: "My-RG".into(),
                    op: ResourceOp::Put,
                })),
            ),
            (
                Method::HEAD,
                format!("/subscriptions/{s}/RESOURCEGROUPS/rg"),
                Some(Ok(ArmRoute::ResourceGroup {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    op: ResourceOp::Head,
                })),
            ),
            (
                Method::POST,
                format!("/subscriptions/{s}/resourceGroups/rg"),
                Some(Err(RouteError::MethodNotAllowed(RESOURCE_METHODS))),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
                ),
                Some(Ok(ArmRoute::ListUserAssignedIdentities {
                    subscription: s.into(),
                    resource_group: None,
                })),
            ),
            (
                Method::DELETE,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/microsoft.managedidentity/userassignedidentities/id1"
                ),
                Some(Ok(ArmRoute::UserAssignedIdentity {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "id1".into(),
                    op: ResourceOp::Delete,
                })),
            ),
            (
                Method::PUT,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/providers/Microsoft.Authorization/roleAssignments/abc"
                ),
                Some(Ok(ArmRoute::RoleAssignment {
                    scope: format!(
                        "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
                    ),
                    name: "abc".into(),
                    op: ResourceOp::Put,
                })),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments"),
                Some(Ok(ArmRoute::ListRoleAssignments {
                    scope: format!("/subscriptions/{s}"),
                })),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/xyz"),
                Some(Ok(ArmRoute::GetRoleDefinition {
                    scope: format!("/subscriptions/{s}"),
                    id: "xyz".into(),
                })),
            ),
            (
                Method::PATCH,
                format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments/a"),
                Some(Err(RouteError::MethodNotAllowed(ASSIGNMENT_METHODS))),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/resourceGroups/rg/unknown"),
                Some(Err(RouteError::NotFound)),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/providers/Microsoft.KeyVault/vaults"),
                Some(Ok(ArmRoute::ListVaults {
                    subscription: s.into(),
                    resource_group: None,
                })),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/resourceGroups/rg/providers/microsoft.keyvault/VAULTS"),
                Some(Ok(ArmRoute::ListVaults {
                    subscription: s.into(),
                    resource_group: Some("rg".into()),
                })),
            ),
            (
                Method::PATCH,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
                ),
                Some(Ok(ArmRoute::Vault {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "kv1".into(),
                    op: ResourceOp::Patch,
                })),
            ),
            (
                Method::PUT,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/accessPolicies/add"
                ),
                Some(Ok(ArmRoute::VaultAccessPolicies {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "kv1".into(),
                    kind: "add".into(),
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/accessPolicies/add"
                ),
                Some(Err(RouteError::MethodNotAllowed("PUT"))),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults"),
                Some(Ok(ArmRoute::ListDeletedVaults {
                    subscription: s.into(),
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1"
                ),
                Some(Ok(ArmRoute::DeletedVault {
                    subscription: s.into(),
                    location: "westeurope".into(),
                    name: "kv1".into(),
                })),
            ),
            (
                Method::POST,
                format!(
                    "/subscriptions/{s}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv1/purge"
                ),
                Some(Ok(ArmRoute::PurgeDeletedVault {
                    subscription: s.into(),
                    location: "westeurope".into(),
                    name: "kv1".into(),
                })),
            ),
            (
                Method::POST,
                format!("/subscriptions/{s}/providers/Microsoft.KeyVault/checkNameAvailability"),
                Some(Ok(ArmRoute::CheckVaultName {
                    subscription: s.into(),
                })),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/providers/Microsoft.KeyVault/vaults/kv1"),
                Some(Err(RouteError::NotFound)),
            ),
            (
                Method::PUT,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct1"
                ),
                Some(Ok(ArmRoute::Account {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "acct1".into(),
                    op: ResourceOp::Put,
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct1/usages"
                ),
                Some(Ok(ArmRoute::AccountUsages {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "acct1".into(),
                })),
            ),
            (
                Method::DELETE,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct1/deployments/d1"
                ),
                Some(Ok(ArmRoute::Deployment {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    account: "acct1".into(),
                    name: "d1".into(),
                    op: ResourceOp::Delete,
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct1/deployments"
                ),
                Some(Ok(ArmRoute::ListDeployments {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    account: "acct1".into(),
                })),
            ),
            (
                Method::GET,
                format!("/subscriptions/{s}/providers/microsoft.cognitiveservices/accounts"),
                Some(Ok(ArmRoute::ListAccounts {
                    subscription: s.into(),
                    resource_group: None,
                })),
            ),
            (
                Method::POST,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/listKeys"
                ),
                Some(Ok(ArmRoute::AccountKeys {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "a".into(),
                    regenerate: false,
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/regenerateKey"
                ),
                Some(Err(RouteError::MethodNotAllowed("POST"))),
            ),
            (
                Method::DELETE,
                format!(
                    "/subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/rg/deletedAccounts/a"
                ),
                Some(Ok(ArmRoute::DeletedAccount {
                    subscription: s.into(),
                    location: "westus".into(),
                    resource_group: "rg".into(),
                    name: "a".into(),
                    op: ResourceOp::Delete,
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/westus/operationResults/op1"
                ),
                Some(Ok(ArmRoute::AccountOperation {
                    subscription: s.into(),
                    id: "op1".into(),
                })),
            ),
            (
                Method::POST,
                format!(
                    "/subscriptions/{s}/providers/Microsoft.CognitiveServices/cmkRequests/SpeechServices/approve"
                ),
                Some(Ok(ArmRoute::CmkRequest {
                    subscription: s.into(),
                    kind: "SpeechServices".into(),
                    approve: true,
                })),
            ),
            (
                Method::PUT,
                format!(
                    "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/hub1"
                ),
                Some(Ok(ArmRoute::Workspace {
                    subscription: s.into(),
                    resource_group: "rg".into(),
                    name: "hub1".into(),
                    op: ResourceOp::Put,
                })),
            ),
            (
                Method::GET,
                format!(
                    "/subscriptions/{s}/providers/microsoft.machinelearningservices/workspaces"
                ),
                Some(Ok(ArmRoute::ListWorkspaces {
                    subscription: s.into(),
                    resource_group: None,
                })),
            ),
            (Method::GET, "/healthz".into(), None),
            (
                Method::GET,
                "/tenants/x".into(),
                Some(Err(RouteError::NotFound)),
            ),
        ];
        for (method, path, expected) in rows {
            assert_eq!(run(method.clone(), &path), expected, "{method} {path}");
        }
    }
}
