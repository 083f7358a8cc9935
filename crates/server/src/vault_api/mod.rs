//! The Key Vault keys data plane on `https://{vault}.{vault-domain}:{port}`.
//!
//! Every request goes through the same gate, in this order, so that nothing about a vault
//! leaks to a caller who may not see it:
//! 1. `api-version` is one the SDKs send;
//! 2. the bearer token is valid for the vault audience and the vault's tenant (401 with the
//!    challenge `authorization="https://localhost:{port}/{tenant}", resource="https://{vault-domain}"`
//!    otherwise — the SDKs' challenge-resource check passes because the vault host ends with
//!    the resource's host);
//! 3. the firewall admits the client address (or the call is keyhold's own, made in process
//!    on behalf of an account's managed identity, and the vault lets trusted services bypass);
//! 4. the caller holds the operation's key permission: through an access policy for its
//!    object id, or, on RBAC vaults, through a role assignment with the matching data action.
//!
//! Every outcome, allowed or refused, is appended to the audit log before the answer leaves.

mod error;
mod keys;
pub mod routes;
mod shapes;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyhold_identity::{AuthenticatedPrincipal, PrincipalKind};
use keyhold_vault::{AuditEvent, KeyPermission, Vault};

use crate::http::ApiError;
use crate::http::RequestHead;
use crate::http::auth::{Api, authenticate};
use crate::http::authz::Access;
use crate::state::AppState;
use crate::vault_api::routes::VaultRoute;

pub(crate) use error::vault_error;

/// Largest request body of the vault data plane (keys and payloads are small).
const MAX_VAULT_BODY: u64 = 256 * 1024;

/// The caller of an authorized request.
pub(crate) struct Caller {
    pub principal: AuthenticatedPrincipal,
    pub client_ip: Option<IpAddr>,
}

/// Dispatches one vault data-plane request.
pub async fn handle(
    state: &AppState,
    vault_name: &str,
    route: VaultRoute,
    request: Request,
) -> Response {
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (head, body) = RequestHead::split(request);
    let operation = keys::operation_name(&route);
    let mut event = AuditEvent {
        caller: "anonymous".into(),
        operation: operation.into(),
        vault: Some(vault_name.to_owned()),
        key: keys::key_name(&route).map(str::to_owned),
        client_ip: client_ip.map(|ip| ip.to_string()),
        ..AuditEvent::default()
    };
    let result = async {
        error::api_version(head.uri())?;
        let vault = state.vaults().vault(vault_name).await;
        let tenant = vault.as_ref().ok().map(|v| v.tenant_id);
        let principal = authenticate(state, head.headers(), Api::Vault, tenant).await?;
        event.caller = principal.principal.object_id.to_string();
        let vault = vault.map_err(vault_error)?;
        let caller = Caller {
            principal,
            client_ip,
        };
        check_firewall(&vault, &caller)?;
        let Access::VaultKeys(permission) = route.access() else {
            return Err(ApiError::internal(
                &"a vault route declared a non-vault permission",
            ));
        };
        check_permission(state, &vault, &caller, permission).await?;
        keys::handle(state, &vault, route, &head, body, &mut event).await
    }
    .await;
    let response = result.unwrap_or_else(|err| {
        event.result = format!("{} {}", err.status().as_u16(), err.code());
        err.into_response()
    });
    if event.result.is_empty() {
        event.result = response.status().as_u16().to_string();
    }
    if let Err(err) = state.audit().append(event).await {
        // An operation that cannot be audited is not acknowledged.
        return ApiError::from(err).into_response();
    }
    response
}

/// Reads a bounded JSON body.
pub(crate) async fn body_json<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = crate::http::read_body(body, MAX_VAULT_BODY).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "BadParameter",
            format!("The request body is not valid JSON for this operation: {e}"),
        )
    })
}

fn check_firewall(vault: &Vault, caller: &Caller) -> Result<(), ApiError> {
    // Trusted services are keyhold's own in-process calls on behalf of an account's managed
    // identity (their tokens carry the service marker, which no token endpoint issues). A
    // workload holding a managed identity's token from the identity endpoint is a client
    // like any other and must pass the firewall.
    let trusted = caller.principal.claims.keyhold_service
        && matches!(
            caller.principal.principal.kind,
            PrincipalKind::SystemAssigned { .. } | PrincipalKind::UserAssigned { .. }
        );
    let ip = caller
        .client_ip
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if keyhold_vault::firewall_allows(vault, ip, trusted) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "Client address is not authorized and caller is not a trusted service.\r\nClient address: {ip}\r\nCaller: oid={}\r\nVault: {};location={}",
            caller.principal.principal.object_id, vault.name, vault.location
        ),
    )
    .with_inner_code("ForbiddenByFirewall"))
}

async fn check_permission(
    state: &AppState,
    vault: &Vault,
    caller: &Caller,
    permission: KeyPermission,
) -> Result<(), ApiError> {
    let principal = &caller.principal.principal;
    let allowed = if vault.rbac_authorization {
        state
            .identity()
            .check_data_access(
                principal.object_id,
                &vault.resource_id(),
                permission.data_action(),
            )
            .await?
    } else {
        keyhold_vault::policy_allows(vault, principal.tenant_id, principal.object_id, permission)
    };
    if allowed {
        return Ok(());
    }
    let message = if vault.rbac_authorization {
        format!(
            "Caller is not authorized to perform action on resource.\r\nIf role assignments were recently changed, please wait several minutes for role assignments to become effective.\r\nCaller: appid={};oid={}\r\nAction: '{}'\r\nResource: '{}'\r\nAssignment: (not found)\r\nVault: {};location={}",
            principal.client_id,
            principal.object_id,
            permission.data_action(),
            vault.resource_id().to_ascii_lowercase(),
            vault.name,
            vault.location
        )
    } else {
        format!(
            "The user, group or application 'appid={};oid={}' does not have keys {} permission on key vault '{};location={}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
            principal.client_id,
            principal.object_id,
            permission.name().to_ascii_lowercase(),
            vault.name,
            vault.location
        )
    };
    let inner = if vault.rbac_authorization {
        "ForbiddenByRbac"
    } else {
        "AccessDenied"
    };
    Err(ApiError::new(StatusCode::FORBIDDEN, "Forbidden", message).with_inner_code(inner))
}
