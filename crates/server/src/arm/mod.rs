//! Azure Resource Manager handlers on the service host: subscriptions, tenants, resource
//! groups, user-assigned identities and role assignments. Every call authenticates with a
//! management-audience token, checks that the caller's tenant owns the subscription, and
//! authorizes the ARM action on the resource's scope.

mod account_body;
pub(crate) mod accounts;
mod authorization;
mod deployments;
pub(crate) mod error;
mod identities;
pub(crate) mod lro;
mod projects;
mod resource_groups;
pub mod routes;
pub(crate) mod routes_parse;
mod subscriptions;
pub mod vaults;
mod workspaces;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use keyhold_identity::{AuthenticatedPrincipal, Subscription, TokenError};

use crate::arm::routes::ArmRoute;
use crate::http::ApiError;
use crate::http::RequestHead;
use crate::http::auth::{Api, authenticate, challenge};
use crate::state::AppState;

/// Dispatches one ARM request.
pub async fn handle(state: &AppState, route: ArmRoute, request: Request) -> Response {
    let (request, body) = RequestHead::split(request);
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
    let operation = crate::http::audit_trail::operation_name(&route, request.method().as_str());
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
        return crate::http::audit_trail::record(state, request.headers(), operation, response)
            .await;
    }
    response
}

/// Authenticates a management call that targets `subscription`, whose tenant must be the
/// token's tenant.
pub(crate) async fn caller_for_subscription(
    state: &AppState,
    request: &RequestHead,
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
