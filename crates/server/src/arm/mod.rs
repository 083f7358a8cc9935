//! Azure Resource Manager on the service host: subscriptions, tenants, resource groups,
//! user-assigned identities, role assignments, vaults, AI accounts and their children, hubs.
//! Every call goes through one gate (`handle`): a management-audience token, a subscription
//! of the caller's tenant, and the action the route table (`permissions.rs`) declares,
//! authorized at the scope the path names, before any handler runs.

mod account_body;
pub(crate) mod accounts;
mod authorization;
mod deployments;
pub(crate) mod error;
mod identities;
pub(crate) mod limits;
pub(crate) mod lro;
pub mod permissions;
mod projects;
mod providers;
mod resource_groups;
mod resources;
pub mod routes;
pub(crate) mod routes_listing;
pub(crate) mod routes_parse;
mod subscriptions;
pub mod template_deployments;
mod vault_keys;
pub mod vaults;
mod workspaces;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use keyhold_vault::AuditEvent;

use keyhold_identity::AuthenticatedPrincipal;

use crate::arm::routes::ArmRoute;
use crate::http::auth::{Api, authenticate};
use crate::http::authz::{self, Grant};
use crate::http::{ApiError, RequestHead};
use crate::state::AppState;

/// Dispatches one ARM request: the route table's permission is enforced first (before any
/// lookup), then the handler runs, and the outcome, refusals included, is audited before the
/// answer leaves.
pub async fn handle(state: &AppState, route: ArmRoute, request: Request) -> Response {
    let (head, body) = RequestHead::split(request);
    let caller = authenticate(state, head.headers(), Api::Management, None).await;
    gate(state, caller, route, &head, body).await
}

/// One ARM request made on behalf of `caller`, who was authenticated earlier: a template
/// deployment's resources take this path, so each is authorized (the route table's action at
/// the path's scope, with the caller's own grants), handled and audited exactly as the same
/// request sent directly would be.
pub(crate) async fn handle_as(
    state: &AppState,
    caller: &AuthenticatedPrincipal,
    route: ArmRoute,
    head: &RequestHead,
    body: Body,
) -> Response {
    gate(state, Ok(caller.clone()), route, head, body).await
}

async fn gate(
    state: &AppState,
    caller: Result<AuthenticatedPrincipal, ApiError>,
    route: ArmRoute,
    head: &RequestHead,
    body: Body,
) -> Response {
    let mut event = AuditEvent {
        caller: "anonymous".into(),
        operation: format!("{} {}", route.kind().name(), head.method()),
        vault: route.vault_name().map(str::to_ascii_lowercase),
        ..AuditEvent::default()
    };
    let result = async {
        let caller = caller?;
        event.caller = caller.principal.object_id.to_string();
        let access = route.access();
        let grant = authz::authorize_caller(state, caller, &access, route.subscription()).await?;
        dispatch(state, head, body, route, &grant).await
    }
    .await;
    let response = match result {
        Ok(response) => {
            event.result = response.status().as_u16().to_string();
            response
        }
        Err(err) => {
            event.result = format!("{} {}", err.status().as_u16(), err.code());
            err.into_response()
        }
    };
    if let Err(err) = state.audit().append(event).await {
        // A management call that cannot be audited is not acknowledged.
        return ApiError::from(err).into_response();
    }
    response
}

async fn dispatch(
    state: &AppState,
    head: &RequestHead,
    body: Body,
    route: ArmRoute,
    grant: &Grant,
) -> Result<Response, ApiError> {
    match route {
        ArmRoute::ListTenants => subscriptions::list_tenants(state, head, grant).await,
        ArmRoute::ListSubscriptions => subscriptions::list(state, head, grant).await,
        ArmRoute::GetSubscription { .. } => subscriptions::get(state, head, grant).await,
        ArmRoute::ListResourceGroups { .. } => resource_groups::list(state, head, grant).await,
        ArmRoute::ResourceGroup {
            resource_group, op, ..
        } => resource_groups::handle(state, head, body, grant, &resource_group, op).await,
        ArmRoute::ListUserAssignedIdentities { resource_group, .. } => {
            identities::list(state, head, grant, resource_group.as_deref()).await
        }
        ArmRoute::UserAssignedIdentity {
            resource_group,
            name,
            op,
            ..
        } => identities::handle(state, head, body, grant, &resource_group, &name, op).await,
        route @ (ArmRoute::ListVaults { .. }
        | ArmRoute::Vault { .. }
        | ArmRoute::VaultAccessPolicies { .. }
        | ArmRoute::ListDeletedVaults { .. }
        | ArmRoute::DeletedVault { .. }
        | ArmRoute::PurgeDeletedVault { .. }
        | ArmRoute::CheckVaultName { .. }) => vaults::handle(state, head, body, route, grant).await,
        route @ (ArmRoute::ListWorkspaces { .. } | ArmRoute::Workspace { .. }) => {
            workspaces::handle(state, head, body, route, grant).await
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
        | ArmRoute::CmkRequest { .. }) => accounts::handle(state, head, body, route, grant).await,
        ArmRoute::ListRoleAssignments { scope } => {
            authorization::list_assignments(state, head, grant, &scope).await
        }
        ArmRoute::RoleAssignment { name, op, .. } => {
            authorization::assignment(state, head, body, grant, &name, op).await
        }
        ArmRoute::ListRoleDefinitions { .. } => {
            authorization::list_definitions(state, head, grant).await
        }
        ArmRoute::GetRoleDefinition { id, .. } => {
            authorization::get_definition(state, head, grant, &id).await
        }
        ArmRoute::TemplateDeployments(route) => {
            template_deployments::handle(state, head, body, route, grant).await
        }
        route @ (ArmRoute::ListVaultKeys { .. } | ArmRoute::VaultKey { .. }) => {
            vault_keys::handle(state, head, body, route, grant).await
        }
        ArmRoute::ListResources { resource_group, .. } => {
            resources::list(state, head, grant, resource_group.as_deref()).await
        }
        ArmRoute::ListProviders { .. } => resources::providers(head, grant),
        ArmRoute::Provider { namespace, .. } => resources::provider(head, grant, &namespace),
    }
}

/// The scope of a list by subscription or by one resource group.
pub(crate) fn list_scope(subscription: uuid::Uuid, group: Option<&str>) -> String {
    match group {
        Some(rg) => format!("/subscriptions/{subscription}/resourceGroups/{rg}"),
        None => format!("/subscriptions/{subscription}"),
    }
}
