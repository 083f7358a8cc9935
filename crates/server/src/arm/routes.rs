//! Azure Resource Manager paths on the service host, parsed into [`ArmRoute`].
//!
//! ARM matches keywords (`resourceGroups`, provider namespaces, resource types) without regard
//! to case; names keep the case the client sent. Role assignments hang under any scope:
//! `/{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.

pub use super::routes_parse::parse;

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
    /// `Microsoft.Resources/deployments`: template deployments at resource-group or
    /// subscription scope (`arm/template_deployments/`).
    TemplateDeployments(super::template_deployments::routes::DeploymentsRoute),
    /// `GET …/vaults/{vault}/keys`: control-plane keys of a vault.
    ListVaultKeys {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Vault name.
        vault: String,
    },
    /// `GET|PUT …/vaults/{vault}/keys/{name}`: a control-plane key (`Microsoft.KeyVault/vaults/keys`).
    VaultKey {
        /// Subscription id.
        subscription: String,
        /// Resource group.
        resource_group: String,
        /// Vault name.
        vault: String,
        /// Key name.
        name: String,
        /// Get, Head or Put.
        op: ResourceOp,
    },
    // Listing routes (issue 17): parsed in `routes_listing.rs`.
    /// `GET /subscriptions/{sub}[/resourceGroups/{rg}]/resources` with an optional `$filter`.
    ListResources {
        /// Subscription id.
        subscription: String,
        /// Resource group, when listing one group.
        resource_group: Option<String>,
    },
    /// `GET /subscriptions/{sub}/providers`
    ListProviders {
        /// Subscription id.
        subscription: String,
    },
    /// `GET /subscriptions/{sub}/providers/{namespace}`, or `POST …/{namespace}/register`.
    Provider {
        /// Subscription id.
        subscription: String,
        /// Provider namespace as sent.
        namespace: String,
        /// True for `POST …/register` (every provider is registered already).
        register: bool,
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

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
