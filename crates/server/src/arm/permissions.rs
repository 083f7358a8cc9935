//! The ARM route table's permissions: for every [`ArmRoute`], the action it needs and the
//! scope it is authorized at, read from the path alone (see `http/authz.rs` for why), and the
//! subscription the path names. The gate in `arm/mod.rs` enforces this before any handler
//! runs; handlers then check that what they load lives at that scope.

use super::routes::{ArmRoute, ResourceOp};
use crate::http::auth::Api;
use crate::http::authz::{Access, Scope};

crate::route_kinds! {
    /// One kind per [`ArmRoute`] variant.
    pub enum ArmRouteKind {
        ListTenants, ListSubscriptions, GetSubscription, ListResourceGroups, ResourceGroup,
        ListUserAssignedIdentities, UserAssignedIdentity, ListVaults, Vault, VaultAccessPolicies,
        ListDeletedVaults, DeletedVault, PurgeDeletedVault, CheckVaultName, ListAccounts, Account,
        AccountKeys, AccountUsages, ListWorkspaces, Workspace, ListProjects, Project,
        ListDeployments, Deployment, AccountReprocess, ListDeletedAccounts, DeletedAccount,
        AccountOperation, CmkRequest, ListRoleAssignments, RoleAssignment, ListRoleDefinitions,
        GetRoleDefinition,
        ListTemplateDeployments, TemplateDeployment, ValidateDeployment, WhatIfDeployment,
        ExportDeploymentTemplate, CancelDeployment, ListDeploymentOperations, DeploymentOperation,
        DeploymentOperationStatus, ListVaultKeys, VaultKey,
        ListResources, ListProviders, Provider,
    }
}

const KV: &str = "Microsoft.KeyVault";
const CS: &str = "Microsoft.CognitiveServices";
const ML: &str = "Microsoft.MachineLearningServices";
const MI: &str = "Microsoft.ManagedIdentity";

/// `read`, `write` or `delete` of a resource type by method (HEAD reads).
fn crud(
    op: ResourceOp,
    read: &'static str,
    write: &'static str,
    delete: &'static str,
) -> &'static str {
    match op {
        ResourceOp::Get | ResourceOp::Head => read,
        ResourceOp::Put | ResourceOp::Patch => write,
        ResourceOp::Delete => delete,
    }
}

fn in_group(rg: &str, rest: &str) -> String {
    format!("/resourceGroups/{rg}{rest}")
}

fn list_rest(group: Option<&str>) -> String {
    group.map_or_else(String::new, |rg| in_group(rg, ""))
}

fn action(action: &'static str, subscription: &str, rest: impl Into<String>) -> Access {
    Access::Action {
        action,
        scope: Scope::subscription(subscription, rest),
    }
}

/// `(subscription segment, rest)` of a role-assignment scope (`/subscriptions/{s}{rest}`).
fn split_scope(scope: &str) -> (&str, &str) {
    let Some((_, after)) = scope.trim_start_matches('/').split_once('/') else {
        return ("", "");
    };
    match after.find('/') {
        Some(at) => (&after[..at], &after[at..]),
        None => (after, ""),
    }
}

impl ArmRoute {
    /// The route's kind.
    pub fn kind(&self) -> ArmRouteKind {
        use ArmRouteKind as K;
        match self {
            ArmRoute::ListTenants => K::ListTenants,
            ArmRoute::ListSubscriptions => K::ListSubscriptions,
            ArmRoute::GetSubscription { .. } => K::GetSubscription,
            ArmRoute::ListResourceGroups { .. } => K::ListResourceGroups,
            ArmRoute::ResourceGroup { .. } => K::ResourceGroup,
            ArmRoute::ListUserAssignedIdentities { .. } => K::ListUserAssignedIdentities,
            ArmRoute::UserAssignedIdentity { .. } => K::UserAssignedIdentity,
            ArmRoute::ListVaults { .. } => K::ListVaults,
            ArmRoute::Vault { .. } => K::Vault,
            ArmRoute::VaultAccessPolicies { .. } => K::VaultAccessPolicies,
            ArmRoute::ListDeletedVaults { .. } => K::ListDeletedVaults,
            ArmRoute::DeletedVault { .. } => K::DeletedVault,
            ArmRoute::PurgeDeletedVault { .. } => K::PurgeDeletedVault,
            ArmRoute::CheckVaultName { .. } => K::CheckVaultName,
            ArmRoute::ListAccounts { .. } => K::ListAccounts,
            ArmRoute::Account { .. } => K::Account,
            ArmRoute::AccountKeys { .. } => K::AccountKeys,
            ArmRoute::AccountUsages { .. } => K::AccountUsages,
            ArmRoute::ListWorkspaces { .. } => K::ListWorkspaces,
            ArmRoute::Workspace { .. } => K::Workspace,
            ArmRoute::ListProjects { .. } => K::ListProjects,
            ArmRoute::Project { .. } => K::Project,
            ArmRoute::ListDeployments { .. } => K::ListDeployments,
            ArmRoute::Deployment { .. } => K::Deployment,
            ArmRoute::AccountReprocess { .. } => K::AccountReprocess,
            ArmRoute::ListDeletedAccounts { .. } => K::ListDeletedAccounts,
            ArmRoute::DeletedAccount { .. } => K::DeletedAccount,
            ArmRoute::AccountOperation { .. } => K::AccountOperation,
            ArmRoute::CmkRequest { .. } => K::CmkRequest,
            ArmRoute::ListRoleAssignments { .. } => K::ListRoleAssignments,
            ArmRoute::RoleAssignment { .. } => K::RoleAssignment,
            ArmRoute::ListRoleDefinitions { .. } => K::ListRoleDefinitions,
            ArmRoute::GetRoleDefinition { .. } => K::GetRoleDefinition,
            ArmRoute::TemplateDeployments(r) => r.kind(),
            ArmRoute::ListVaultKeys { .. } => K::ListVaultKeys,
            ArmRoute::VaultKey { .. } => K::VaultKey,
            ArmRoute::ListResources { .. } => K::ListResources,
            ArmRoute::ListProviders { .. } => K::ListProviders,
            ArmRoute::Provider { .. } => K::Provider,
        }
    }

    /// The subscription segment the path names, if any.
    pub fn subscription(&self) -> Option<&str> {
        match self {
            ArmRoute::ListTenants | ArmRoute::ListSubscriptions => None,
            ArmRoute::GetSubscription { subscription }
            | ArmRoute::ListResourceGroups { subscription }
            | ArmRoute::ResourceGroup { subscription, .. }
            | ArmRoute::ListUserAssignedIdentities { subscription, .. }
            | ArmRoute::UserAssignedIdentity { subscription, .. }
            | ArmRoute::ListVaults { subscription, .. }
            | ArmRoute::Vault { subscription, .. }
            | ArmRoute::VaultAccessPolicies { subscription, .. }
            | ArmRoute::ListDeletedVaults { subscription }
            | ArmRoute::DeletedVault { subscription, .. }
            | ArmRoute::PurgeDeletedVault { subscription, .. }
            | ArmRoute::CheckVaultName { subscription }
            | ArmRoute::ListAccounts { subscription, .. }
            | ArmRoute::Account { subscription, .. }
            | ArmRoute::AccountKeys { subscription, .. }
            | ArmRoute::AccountUsages { subscription, .. }
            | ArmRoute::ListWorkspaces { subscription, .. }
            | ArmRoute::Workspace { subscription, .. }
            | ArmRoute::ListProjects { subscription, .. }
            | ArmRoute::Project { subscription, .. }
            | ArmRoute::ListDeployments { subscription, .. }
            | ArmRoute::Deployment { subscription, .. }
            | ArmRoute::AccountReprocess { subscription, .. }
            | ArmRoute::ListDeletedAccounts { subscription }
            | ArmRoute::DeletedAccount { subscription, .. }
            | ArmRoute::AccountOperation { subscription, .. }
            | ArmRoute::CmkRequest { subscription, .. }
            | ArmRoute::ListResources { subscription, .. }
            | ArmRoute::ListProviders { subscription }
            | ArmRoute::Provider { subscription, .. } => Some(subscription),
            ArmRoute::ListRoleAssignments { scope }
            | ArmRoute::RoleAssignment { scope, .. }
            | ArmRoute::ListRoleDefinitions { scope }
            | ArmRoute::GetRoleDefinition { scope, .. } => Some(split_scope(scope).0),
            ArmRoute::TemplateDeployments(r) => Some(&r.scope().subscription),
            ArmRoute::ListVaultKeys { subscription, .. }
            | ArmRoute::VaultKey { subscription, .. } => Some(subscription),
        }
    }

    /// The vault a `Microsoft.KeyVault` route names (for the audit entry).
    pub fn vault_name(&self) -> Option<&str> {
        match self {
            ArmRoute::Vault { name, .. }
            | ArmRoute::VaultAccessPolicies { name, .. }
            | ArmRoute::DeletedVault { name, .. }
            | ArmRoute::PurgeDeletedVault { name, .. } => Some(name),
            ArmRoute::ListVaultKeys { vault, .. } | ArmRoute::VaultKey { vault, .. } => Some(vault),
            _ => None,
        }
    }

    /// What the route needs of its caller.
    pub fn access(&self) -> Access {
        match self {
            ArmRoute::ListTenants | ArmRoute::ListSubscriptions => {
                Access::AnyCaller(Api::Management)
            }
            ArmRoute::GetSubscription { subscription } => {
                action("Microsoft.Resources/subscriptions/read", subscription, "")
            }
            ArmRoute::ListResourceGroups { subscription } => action(
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                subscription,
                "",
            ),
            ArmRoute::ResourceGroup {
                subscription,
                resource_group,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    "Microsoft.Resources/subscriptions/resourceGroups/write",
                    "Microsoft.Resources/subscriptions/resourceGroups/delete",
                ),
                subscription,
                in_group(resource_group, ""),
            ),
            ArmRoute::ListUserAssignedIdentities {
                subscription,
                resource_group,
            } => action(
                "Microsoft.ManagedIdentity/userAssignedIdentities/read",
                subscription,
                list_rest(resource_group.as_deref()),
            ),
            ArmRoute::UserAssignedIdentity {
                subscription,
                resource_group,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
                    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
                    "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
                ),
                subscription,
                in_group(
                    resource_group,
                    &format!("/providers/{MI}/userAssignedIdentities/{name}"),
                ),
            ),
            ArmRoute::ListVaults {
                subscription,
                resource_group,
            } => action(
                "Microsoft.KeyVault/vaults/read",
                subscription,
                list_rest(resource_group.as_deref()),
            ),
            ArmRoute::Vault {
                subscription,
                resource_group,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.KeyVault/vaults/read",
                    "Microsoft.KeyVault/vaults/write",
                    "Microsoft.KeyVault/vaults/delete",
                ),
                subscription,
                in_group(resource_group, &format!("/providers/{KV}/vaults/{name}")),
            ),
            ArmRoute::VaultAccessPolicies {
                subscription,
                resource_group,
                name,
                ..
            } => action(
                "Microsoft.KeyVault/vaults/accessPolicies/write",
                subscription,
                in_group(resource_group, &format!("/providers/{KV}/vaults/{name}")),
            ),
            ArmRoute::ListDeletedVaults { subscription }
            | ArmRoute::DeletedVault { subscription, .. } => {
                action("Microsoft.KeyVault/deletedVaults/read", subscription, "")
            }
            ArmRoute::PurgeDeletedVault { subscription, .. } => action(
                "Microsoft.KeyVault/locations/deletedVaults/purge/action",
                subscription,
                "",
            ),
            ArmRoute::CheckVaultName { subscription } => action(
                "Microsoft.KeyVault/checkNameAvailability/read",
                subscription,
                "",
            ),
            ArmRoute::ListAccounts {
                subscription,
                resource_group,
            } => action(
                "Microsoft.CognitiveServices/accounts/read",
                subscription,
                list_rest(resource_group.as_deref()),
            ),
            ArmRoute::Account {
                subscription,
                resource_group,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.CognitiveServices/accounts/read",
                    "Microsoft.CognitiveServices/accounts/write",
                    "Microsoft.CognitiveServices/accounts/delete",
                ),
                subscription,
                account_rest(resource_group, name),
            ),
            ArmRoute::AccountKeys {
                subscription,
                resource_group,
                name,
                regenerate,
            } => action(
                if *regenerate {
                    "Microsoft.CognitiveServices/accounts/regenerateKey/action"
                } else {
                    "Microsoft.CognitiveServices/accounts/listKeys/action"
                },
                subscription,
                account_rest(resource_group, name),
            ),
            ArmRoute::AccountUsages {
                subscription,
                resource_group,
                name,
            } => action(
                "Microsoft.CognitiveServices/accounts/usages/read",
                subscription,
                account_rest(resource_group, name),
            ),
            ArmRoute::AccountReprocess {
                subscription,
                resource_group,
                name,
                start,
            } => action(
                if *start {
                    "Microsoft.CognitiveServices/accounts/write"
                } else {
                    "Microsoft.CognitiveServices/accounts/read"
                },
                subscription,
                account_rest(resource_group, name),
            ),
            ArmRoute::ListWorkspaces {
                subscription,
                resource_group,
            } => action(
                "Microsoft.MachineLearningServices/workspaces/read",
                subscription,
                list_rest(resource_group.as_deref()),
            ),
            ArmRoute::Workspace {
                subscription,
                resource_group,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.MachineLearningServices/workspaces/read",
                    "Microsoft.MachineLearningServices/workspaces/write",
                    "Microsoft.MachineLearningServices/workspaces/delete",
                ),
                subscription,
                in_group(
                    resource_group,
                    &format!("/providers/{ML}/workspaces/{name}"),
                ),
            ),
            ArmRoute::ListProjects {
                subscription,
                resource_group,
                account,
            } => action(
                "Microsoft.CognitiveServices/accounts/projects/read",
                subscription,
                account_rest(resource_group, account),
            ),
            ArmRoute::Project {
                subscription,
                resource_group,
                account,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.CognitiveServices/accounts/projects/read",
                    "Microsoft.CognitiveServices/accounts/projects/write",
                    "Microsoft.CognitiveServices/accounts/projects/delete",
                ),
                subscription,
                format!("{}/projects/{name}", account_rest(resource_group, account)),
            ),
            ArmRoute::ListDeployments {
                subscription,
                resource_group,
                account,
            } => action(
                "Microsoft.CognitiveServices/accounts/deployments/read",
                subscription,
                account_rest(resource_group, account),
            ),
            ArmRoute::Deployment {
                subscription,
                resource_group,
                account,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.CognitiveServices/accounts/deployments/read",
                    "Microsoft.CognitiveServices/accounts/deployments/write",
                    "Microsoft.CognitiveServices/accounts/deployments/delete",
                ),
                subscription,
                format!(
                    "{}/deployments/{name}",
                    account_rest(resource_group, account)
                ),
            ),
            ArmRoute::ListDeletedAccounts { subscription } => action(
                "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/read",
                subscription,
                "",
            ),
            ArmRoute::DeletedAccount {
                subscription, op, ..
            } => action(
                if *op == ResourceOp::Delete {
                    "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete"
                } else {
                    "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/read"
                },
                subscription,
                "",
            ),
            ArmRoute::AccountOperation { subscription, .. } => action(
                "Microsoft.CognitiveServices/locations/operationResults/read",
                subscription,
                "",
            ),
            ArmRoute::CmkRequest {
                subscription,
                approve,
                ..
            } => {
                if *approve {
                    Access::Action {
                        action: "Keyhold.Directory/cmkRequests/approve",
                        scope: Scope::Root,
                    }
                } else {
                    action(
                        "Microsoft.CognitiveServices/accounts/write",
                        subscription,
                        "",
                    )
                }
            }
            ArmRoute::ListRoleAssignments { scope } => {
                scoped("Microsoft.Authorization/roleAssignments/read", scope)
            }
            ArmRoute::RoleAssignment { scope, op, .. } => scoped(
                crud(
                    *op,
                    "Microsoft.Authorization/roleAssignments/read",
                    "Microsoft.Authorization/roleAssignments/write",
                    "Microsoft.Authorization/roleAssignments/delete",
                ),
                scope,
            ),
            ArmRoute::ListRoleDefinitions { scope } | ArmRoute::GetRoleDefinition { scope, .. } => {
                scoped("Microsoft.Authorization/roleDefinitions/read", scope)
            }
            ArmRoute::TemplateDeployments(r) => r.access(),
            ArmRoute::ListVaultKeys {
                subscription,
                resource_group,
                vault,
            } => action(
                "Microsoft.KeyVault/vaults/keys/read",
                subscription,
                in_group(resource_group, &format!("/providers/{KV}/vaults/{vault}")),
            ),
            ArmRoute::VaultKey {
                subscription,
                resource_group,
                vault,
                name,
                op,
            } => action(
                crud(
                    *op,
                    "Microsoft.KeyVault/vaults/keys/read",
                    "Microsoft.KeyVault/vaults/keys/write",
                    "Microsoft.KeyVault/vaults/keys/delete",
                ),
                subscription,
                in_group(
                    resource_group,
                    &format!("/providers/{KV}/vaults/{vault}/keys/{name}"),
                ),
            ),
            // Any caller of the subscription's tenant (the gate checks the tenant); the list
            // is filtered per item by the item type's own read action at the item's id, as
            // ARM does, so a Contributor of one group sees that group's resources only.
            ArmRoute::ListResources { .. } => Access::AnyCaller(Api::Management),
            // The same for every caller of the tenant: the namespaces, types and api-versions
            // this server answers (registration is a no-op: everything is registered).
            ArmRoute::ListProviders { .. } | ArmRoute::Provider { .. } => {
                Access::AnyCaller(Api::Management)
            }
        }
    }
}

fn account_rest(rg: &str, name: &str) -> String {
    in_group(rg, &format!("/providers/{CS}/accounts/{name}"))
}

/// An action at a role-assignment scope (`/subscriptions/{s}/…`).
fn scoped(action_name: &'static str, scope: &str) -> Access {
    let (subscription, rest) = split_scope(scope);
    action(action_name, subscription, rest.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::http::Method;

    use super::*;

    /// One row per route kind: method, path, the action and the scope it is authorized at
    /// (`{s}` for the path's subscription, `/` for the root), or `None` for routes any
    /// authenticated caller may call.
    /// `(method, path, (action, scope) or None)`.
    type Row = (Method, &'static str, Option<(&'static str, &'static str)>);

    fn rows() -> Vec<Row> {
        vec![
            // Filtered per item by its own read action (see `access`).
            (Method::GET, "/subscriptions/s1/resources", None),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/resources",
                None,
            ),
            (Method::GET, "/subscriptions/s1/providers", None),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.KeyVault",
                None,
            ),
            (
                Method::POST,
                "/subscriptions/s1/providers/Microsoft.KeyVault/register",
                None,
            ),
            (Method::GET, "/tenants", None),
            (Method::GET, "/subscriptions", None),
            (
                Method::GET,
                "/subscriptions/s1",
                Some(("Microsoft.Resources/subscriptions/read", "{s}")),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups",
                Some((
                    "Microsoft.Resources/subscriptions/resourceGroups/read",
                    "{s}",
                )),
            ),
            (
                Method::DELETE,
                "/subscriptions/s1/resourceGroups/rg",
                Some((
                    "Microsoft.Resources/subscriptions/resourceGroups/delete",
                    "{s}/resourceGroups/rg",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                Some((
                    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
                    "{s}",
                )),
            ),
            (
                Method::PUT,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u",
                Some((
                    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults",
                Some(("Microsoft.KeyVault/vaults/read", "{s}/resourceGroups/rg")),
            ),
            (
                Method::HEAD,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                Some((
                    "Microsoft.KeyVault/vaults/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                )),
            ),
            (
                Method::PUT,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/accessPolicies/add",
                Some((
                    "Microsoft.KeyVault/vaults/accessPolicies/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.KeyVault/deletedVaults",
                Some(("Microsoft.KeyVault/deletedVaults/read", "{s}")),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv",
                Some(("Microsoft.KeyVault/deletedVaults/read", "{s}")),
            ),
            (
                Method::POST,
                "/subscriptions/s1/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kv/purge",
                Some((
                    "Microsoft.KeyVault/locations/deletedVaults/purge/action",
                    "{s}",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/providers/Microsoft.KeyVault/checkNameAvailability",
                Some(("Microsoft.KeyVault/checkNameAvailability/read", "{s}")),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.CognitiveServices/accounts",
                Some(("Microsoft.CognitiveServices/accounts/read", "{s}")),
            ),
            (
                Method::PATCH,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                Some((
                    "Microsoft.CognitiveServices/accounts/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/regenerateKey",
                Some((
                    "Microsoft.CognitiveServices/accounts/regenerateKey/action",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/usages",
                Some((
                    "Microsoft.CognitiveServices/accounts/usages/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.MachineLearningServices/workspaces",
                Some(("Microsoft.MachineLearningServices/workspaces/read", "{s}")),
            ),
            (
                Method::DELETE,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/h",
                Some((
                    "Microsoft.MachineLearningServices/workspaces/delete",
                    "{s}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/h",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/projects",
                Some((
                    "Microsoft.CognitiveServices/accounts/projects/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                )),
            ),
            (
                Method::PUT,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/projects/p",
                Some((
                    "Microsoft.CognitiveServices/accounts/projects/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/projects/p",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/deployments",
                Some((
                    "Microsoft.CognitiveServices/accounts/deployments/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                )),
            ),
            (
                Method::DELETE,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/deployments/d",
                Some((
                    "Microsoft.CognitiveServices/accounts/deployments/delete",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/deployments/d",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/reprocess",
                Some((
                    "Microsoft.CognitiveServices/accounts/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.CognitiveServices/deletedAccounts",
                Some((
                    "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/read",
                    "{s}",
                )),
            ),
            (
                Method::DELETE,
                "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/westeurope/resourceGroups/rg/deletedAccounts/a",
                Some((
                    "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete",
                    "{s}",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.CognitiveServices/locations/westeurope/operationResults/op1",
                Some((
                    "Microsoft.CognitiveServices/locations/operationResults/read",
                    "{s}",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/providers/Microsoft.CognitiveServices/cmkRequests/SpeechServices/approve",
                Some(("Keyhold.Directory/cmkRequests/approve", "/")),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments",
                Some((
                    "Microsoft.Authorization/roleAssignments/read",
                    "{s}/resourceGroups/rg",
                )),
            ),
            (
                Method::DELETE,
                "/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/ra",
                Some(("Microsoft.Authorization/roleAssignments/delete", "{s}")),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions",
                Some(("Microsoft.Authorization/roleDefinitions/read", "{s}")),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleDefinitions/r1",
                Some((
                    "Microsoft.Authorization/roleDefinitions/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                )),
            ),
            // Template deployments (ARM's own actions, at the deployment's scope).
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments",
                Some((
                    "Microsoft.Resources/deployments/read",
                    "{s}/resourceGroups/rg",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.Resources/deployments",
                Some(("Microsoft.Resources/deployments/read", "{s}")),
            ),
            (
                Method::PUT,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments/d",
                Some((
                    "Microsoft.Resources/deployments/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::DELETE,
                "/subscriptions/s1/providers/Microsoft.Resources/deployments/d",
                Some((
                    "Microsoft.Resources/deployments/delete",
                    "{s}/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/validate",
                Some((
                    "Microsoft.Resources/deployments/validate/action",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/whatIf",
                Some((
                    "Microsoft.Resources/deployments/whatIf/action",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/exportTemplate",
                Some((
                    "Microsoft.Resources/deployments/exportTemplate/action",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::POST,
                "/subscriptions/s1/providers/Microsoft.Resources/deployments/d/cancel",
                Some((
                    "Microsoft.Resources/deployments/cancel/action",
                    "{s}/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups/rg/deployments/d/operations",
                Some((
                    "Microsoft.Resources/deployments/operations/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/operations/0A1B",
                Some((
                    "Microsoft.Resources/deployments/operations/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/operationStatuses/op1",
                Some((
                    "Microsoft.Resources/deployments/operationstatuses/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.Resources/deployments/d",
                )),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/keys",
                Some((
                    "Microsoft.KeyVault/vaults/keys/read",
                    "{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                )),
            ),
            (
                Method::PUT,
                "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/keys/k",
                Some((
                    "Microsoft.KeyVault/vaults/keys/write",
                    "{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/keys/k",
                )),
            ),
        ]
    }

    #[test]
    fn every_arm_route_kind_declares_its_permission() {
        let mut seen = BTreeSet::new();
        for (method, path, expected) in rows() {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let route = super::super::routes::parse(&method, &segments)
                .unwrap_or_else(|| panic!("{path} is not ARM"))
                .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
            seen.insert(route.kind());
            let got = match route.access() {
                Access::AnyCaller(Api::Management) => None,
                Access::Action { action, scope } => Some((
                    action,
                    match scope {
                        Scope::Root => "/".to_owned(),
                        Scope::Tenant(t) => format!("/tenants/{t}"),
                        Scope::CallerTenant => "/tenants/{caller}".to_owned(),
                        Scope::Subscription { subscription, rest } => {
                            assert_eq!(subscription, "s1", "{path}");
                            format!("{{s}}{rest}")
                        }
                    },
                )),
                other => panic!("{path}: unexpected {other:?}"),
            };
            let expected = expected.map(|(a, s)| (a, s.to_owned()));
            assert_eq!(got, expected, "{method} {path}");
            if expected.is_some() || path.starts_with("/subscriptions/s1") {
                assert_eq!(route.subscription(), Some("s1"), "{path}");
            }
        }
        let missing: Vec<&str> = ArmRouteKind::ALL
            .iter()
            .filter(|k| !seen.contains(k))
            .map(|k| k.name())
            .collect();
        assert!(
            missing.is_empty(),
            "ARM routes without a permission row: {missing:?}"
        );
    }

    #[test]
    fn role_assignment_scopes_split_at_the_subscription() {
        assert_eq!(split_scope("/subscriptions/s1"), ("s1", ""));
        assert_eq!(
            split_scope("/subscriptions/s1/resourceGroups/rg"),
            ("s1", "/resourceGroups/rg")
        );
    }
}
