//! The ARM route tables: every path shape, method and case rule of `arm/routes.rs`.

use axum::http::Method;

use super::*;
use crate::arm::routes_parse::{ASSIGNMENT_METHODS, RESOURCE_METHODS};
use crate::http::RouteError;

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
            format!("/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"),
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
            format!("/subscriptions/{s}/providers/microsoft.machinelearningservices/workspaces"),
            Some(Ok(ArmRoute::ListWorkspaces {
                subscription: s.into(),
                resource_group: None,
            })),
        ),
        (
            Method::PUT,
            format!(
                "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/keys/Cmk"
            ),
            Some(Ok(ArmRoute::VaultKey {
                subscription: s.into(),
                resource_group: "rg".into(),
                vault: "kv1".into(),
                name: "Cmk".into(),
                op: ResourceOp::Put,
            })),
        ),
        (
            Method::GET,
            format!(
                "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/KEYS"
            ),
            Some(Ok(ArmRoute::ListVaultKeys {
                subscription: s.into(),
                resource_group: "rg".into(),
                vault: "kv1".into(),
            })),
        ),
        (
            Method::DELETE,
            format!(
                "/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/keys/k"
            ),
            Some(Err(RouteError::MethodNotAllowed("GET, HEAD, PUT"))),
        ),
        (
            Method::GET,
            format!(
                "/subscriptions/{s}/resourcegroups/rg/providers/Microsoft.Resources/deployments/d"
            ),
            Some(Ok(ArmRoute::TemplateDeployments(
                crate::arm::template_deployments::routes::DeploymentsRoute::Deployment {
                    scope: crate::arm::template_deployments::routes::DeploymentScope {
                        subscription: s.into(),
                        resource_group: Some("rg".into()),
                    },
                    name: "d".into(),
                    op: ResourceOp::Get,
                },
            ))),
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

#[test]
fn listing_routes() {
    let s = "s1";
    let rows: Vec<(Method, String, Parsed)> = vec![
        (
            Method::GET,
            format!("/subscriptions/{s}/resources"),
            Some(Ok(ArmRoute::ListResources {
                subscription: s.into(),
                resource_group: None,
            })),
        ),
        (
            Method::GET,
            format!("/subscriptions/{s}/ResourceGroups/RG1/Resources"),
            Some(Ok(ArmRoute::ListResources {
                subscription: s.into(),
                resource_group: Some("RG1".into()),
            })),
        ),
        (
            Method::POST,
            format!("/subscriptions/{s}/resources"),
            Some(Err(RouteError::MethodNotAllowed("GET"))),
        ),
        (
            Method::GET,
            format!("/subscriptions/{s}/providers"),
            Some(Ok(ArmRoute::ListProviders {
                subscription: s.into(),
            })),
        ),
        (
            Method::GET,
            format!("/subscriptions/{s}/providers/microsoft.keyvault"),
            Some(Ok(ArmRoute::Provider {
                subscription: s.into(),
                namespace: "microsoft.keyvault".into(),
                register: false,
            })),
        ),
        (
            Method::POST,
            format!("/subscriptions/{s}/providers/Microsoft.KeyVault/register"),
            Some(Ok(ArmRoute::Provider {
                subscription: s.into(),
                namespace: "Microsoft.KeyVault".into(),
                register: true,
            })),
        ),
        (
            Method::GET,
            format!("/subscriptions/{s}/providers/Microsoft.KeyVault/register"),
            Some(Err(RouteError::MethodNotAllowed("POST"))),
        ),
        // Deeper provider paths are still the providers' own.
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
            format!("/subscriptions/{s}/providers/Microsoft.Authorization/roleAssignments"),
            Some(Ok(ArmRoute::ListRoleAssignments {
                scope: format!("/subscriptions/{s}"),
            })),
        ),
    ];
    for (method, path, expected) in rows {
        assert_eq!(run(method.clone(), &path), expected, "{method} {path}");
    }
}
