//! Azure Resource Manager handlers on the service host: subscriptions, tenants, resource
//! groups, user-assigned identities and role assignments. Every call authenticates with a
//! management-audience token, checks that the caller's tenant owns the subscription, and
//! authorizes the ARM action on the resource's scope.

mod account_body;
pub(crate) mod accounts;
mod authorization;
mod deployments;
mod identities;
mod projects;
mod resource_groups;
mod subscriptions;
pub mod vaults;
mod workspaces;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use keyhold_identity::{AuthenticatedPrincipal, Subscription, TokenError};
use serde::de::DeserializeOwned;

use crate::app::read_body;
use crate::auth::{Api, authenticate, challenge};
use crate::error::ApiError;
use crate::routes::ArmRoute;
use crate::state::AppState;

/// The head of a request (method, URI, headers): `Sync`, so handlers can hold a reference
/// to it across awaits (a request body cannot be shared that way).
pub struct Head(Parts);

impl Head {
    /// Splits a request into its head and body.
    pub fn split(request: Request) -> (Head, Body) {
        let (parts, body) = request.into_parts();
        (Head(parts), body)
    }
    /// The method.
    pub fn method(&self) -> &Method {
        &self.0.method
    }
    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.0.uri
    }
    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }
}

/// Dispatches one ARM request.
pub async fn handle(state: &AppState, route: ArmRoute, request: Request) -> Response {
    let (request, body) = Head::split(request);
    let request = &request;
    let audited_here = !matches!(
        route,
        ArmRoute::ListVaults { .. }
            | ArmRoute::Vault { .. }
            | ArmRoute::VaultAccessPolicies { .. }
            | ArmRoute::ListDeletedVaults { .. }
            | ArmRoute::DeletedVault { .. }
            | ArmRoute::PurgeDeletedVault { .. }
            | ArmRoute::CheckVaultName { .. }
    );
    let operation = crate::audit_trail::operation_name(&route, request.method().as_str());
    let result = match route {
        ArmRoute::ListTenants => subscriptions::list_tenants(state, request).await,
        ArmRoute::ListSubscriptions => subscriptions::list(state, request).await,
        ArmRoute::GetSubscription { subscription } => {
            subscriptions::get(state, request, &subscription).await
        }
        ArmRoute::ListResourceGroups { subscription } => {
            resource_groups::list(state, request, &subscription).await
        }
        ArmRoute::ResourceGroup {
            subscription,
            resource_group,
            op,
        } => {
            resource_groups::handle(state, request, body, &subscription, &resource_group, op).await
        }
        ArmRoute::ListUserAssignedIdentities {
            subscription,
            resource_group,
        } => identities::list(state, request, &subscription, resource_group.as_deref()).await,
        ArmRoute::UserAssignedIdentity {
            subscription,
            resource_group,
            name,
            op,
        } => {
            identities::handle(
                state,
                request,
                body,
                &subscription,
                &resource_group,
                &name,
                op,
            )
            .await
        }
        route @ (ArmRoute::ListVaults { .. }
        | ArmRoute::Vault { .. }
        | ArmRoute::VaultAccessPolicies { .. }
        | ArmRoute::ListDeletedVaults { .. }
        | ArmRoute::DeletedVault { .. }
        | ArmRoute::PurgeDeletedVault { .. }
        | ArmRoute::CheckVaultName { .. }) => vaults::handle(state, request, body, route).await,
        route @ (ArmRoute::ListWorkspaces { .. } | ArmRoute::Workspace { .. }) => {
            workspaces::handle(state, request, body, route).await
        }
        route @ (ArmRoute::ListAccounts { .. }
        | ArmRoute::Account { .. }
        | ArmRoute::AccountKeys { .. }
        | ArmRoute::AccountReprocess { .. }
        | ArmRoute::ListProjects { .. }
        | ArmRoute::Project { .. }
        | ArmRoute::ListDeployments { .. }
        | ArmRoute::Deployment { .. }
        | ArmRoute::AccountUsages { .. }
        | ArmRoute::ListDeletedAccounts { .. }
        | ArmRoute::DeletedAccount { .. }
        | ArmRoute::AccountOperation { .. }
        | ArmRoute::CmkRequest { .. }) => accounts::handle(state, request, body, route).await,
        ArmRoute::ListRoleAssignments { scope } => {
            authorization::list_assignments(state, request, &scope).await
        }
        ArmRoute::RoleAssignment { scope, name, op } => {
            authorization::assignment(state, request, body, &scope, &name, op).await
        }
        ArmRoute::ListRoleDefinitions { scope } => {
            authorization::list_definitions(state, request, &scope).await
        }
        ArmRoute::GetRoleDefinition { scope, id } => {
            authorization::get_definition(state, request, &scope, &id).await
        }
    };
    let response = result.unwrap_or_else(IntoResponse::into_response);
    if audited_here {
        return crate::audit_trail::record(state, request.headers(), operation, response).await;
    }
    response
}

/// Authenticates a management call that targets `subscription`, whose tenant must be the
/// token's tenant.
pub(crate) async fn caller_for_subscription(
    state: &AppState,
    request: &Head,
    subscription: &str,
) -> Result<(AuthenticatedPrincipal, Subscription), ApiError> {
    let caller = authenticate(state, request.headers(), Api::Management, None).await?;
    let sub = state.identity().subscription(subscription).await?;
    if sub.tenant_id != caller.principal.tenant_id {
        let err = TokenError::WrongTenant;
        return Err(ApiError::unauthorized(
            err.code(),
            format!(
                "The access token is from tenant '{}', but subscription '{subscription}' belongs to another tenant.",
                caller.principal.tenant_id
            ),
            challenge(state, Api::Management, sub.tenant_id, Some(&err)),
        ));
    }
    Ok((caller, sub))
}

/// The scope of a list by subscription or by one resource group.
pub(crate) fn list_scope(subscription: uuid::Uuid, group: Option<&str>) -> String {
    match group {
        Some(rg) => format!("/subscriptions/{subscription}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{subscription}"),
    }
}

/// Parses a JSON request body (bounded by the configured limit).
pub(crate) async fn json_body<T: DeserializeOwned>(
    state: &AppState,
    body: Body,
) -> Result<T, ApiError> {
    let bytes = read_body(body, state.config().max_body_bytes).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}"),
        )
    })
}

/// A JSON response with a status.
pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// RFC 3339 time of a unix timestamp.
pub(crate) fn rfc3339(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(0))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
