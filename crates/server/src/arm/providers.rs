//! `GET /subscriptions/{s}/providers[/{namespace}]`: the resource providers this server
//! answers, each `Registered`, with its resource types and their api-versions from the one
//! api-version table (`http/api_version/table.rs`), newest first as ARM lists them.
//! `POST …/{namespace}/register` answers the provider as it is (registration is a no-op).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::arm::error::api_version;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{ApiError, RequestHead, json};

/// `(namespace, plane, resource types)`.
const PROVIDERS: &[(&str, Plane, &[&str])] = &[
    (
        "Microsoft.KeyVault",
        Plane::KeyVault,
        &[
            "vaults",
            "vaults/accessPolicies",
            "deletedVaults",
            "locations/deletedVaults",
            "checkNameAvailability",
        ],
    ),
    (
        "Microsoft.CognitiveServices",
        Plane::CognitiveServices,
        &[
            "accounts",
            "accounts/deployments",
            "accounts/projects",
            "deletedAccounts",
            "locations/resourceGroups/deletedAccounts",
            "locations/operationResults",
        ],
    ),
    (
        "Microsoft.MachineLearningServices",
        Plane::MachineLearningServices,
        &["workspaces"],
    ),
    (
        "Microsoft.ManagedIdentity",
        Plane::ManagedIdentity,
        &["userAssignedIdentities"],
    ),
    (
        "Microsoft.Authorization",
        Plane::Authorization,
        &["roleAssignments", "roleDefinitions"],
    ),
    (
        "Microsoft.Resources",
        Plane::Resources,
        &["subscriptions", "resourceGroups", "resources", "tenants"],
    ),
];

/// Regions offered for tracked resource types (keyhold stores any location it is given; these
/// are what clients that pick one from the provider see).
const LOCATIONS: &[&str] = &[
    "West Europe",
    "North Europe",
    "East US",
    "East US 2",
    "West US",
    "West US 2",
    "Sweden Central",
    "UK South",
];

fn provider_json(subscription: &str, namespace: &str, plane: Plane, types: &[&str]) -> Value {
    let mut versions: Vec<&str> = plane.versions().to_vec();
    versions.reverse();
    let resource_types: Vec<Value> = types
        .iter()
        .map(|t| {
            json!({
                "resourceType": t,
                "locations": LOCATIONS,
                "apiVersions": versions,
                "defaultApiVersion": plane.newest_stable(),
                "capabilities": "None",
            })
        })
        .collect();
    json!({
        "id": format!("/subscriptions/{subscription}/providers/{namespace}"),
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": resource_types,
    })
}

/// Every provider.
pub fn providers(request: &RequestHead, grant: &Grant) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let sub = grant.sub()?.id.to_string();
    let value: Vec<Value> = PROVIDERS
        .iter()
        .map(|(ns, plane, types)| provider_json(&sub, ns, *plane, types))
        .collect();
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

/// One provider by namespace (any case), or ARM's 404 for one this server does not have.
pub fn provider(
    request: &RequestHead,
    grant: &Grant,
    namespace: &str,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let sub = grant.sub()?.id.to_string();
    let Some((ns, plane, types)) = PROVIDERS
        .iter()
        .find(|(ns, _, _)| ns.eq_ignore_ascii_case(namespace))
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceNamespace",
            format!("The resource namespace '{namespace}' is invalid."),
        ));
    };
    Ok(json(StatusCode::OK, provider_json(&sub, ns, *plane, types)))
}
