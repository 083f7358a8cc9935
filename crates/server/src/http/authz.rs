//! The route-permission layer: every route declares, in its API's route table, what it needs
//! of its caller ([`Access`]), and this module enforces the management-plane part of it
//! before any handler runs.
//!
//! Security reasoning:
//! - **Authorize before lookup.** The scope of an action is built from the path alone (the
//!   subscription is the only thing read first, because its tenant decides whose token may
//!   act on it at all, as in ARM). A caller without rights at a path gets the same 403 whether
//!   or not anything exists there, so absent and forbidden look alike.
//! - **The object is authorized too.** A handler that loads an object by name or id (names of
//!   vaults and accounts are global; role assignments, operations and deleted items are found
//!   by id) compares the object's own subscription, resource group or scope with the path that
//!   was authorized here and answers as if it did not exist when they differ.
//! - **One table.** Routes declare their access in `*/routes.rs` of each API; the tests walk
//!   every route kind, so a route cannot be added without an entry.

use keyhold_identity::{AuthenticatedPrincipal, Subscription, TokenError};
use keyhold_vault::KeyPermission;

use super::auth::{Api, authenticate, authorize, challenge};
use super::error::ApiError;
use super::request::RequestHead;
use crate::state::AppState;

/// What a route requires of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Nobody to check: probes, OIDC discovery and signing keys, and the token endpoints
    /// (which verify the credentials they are sent themselves).
    Public,
    /// Any valid token for the API; the handler answers only with what is the caller's own
    /// (its identity, its tenants and subscriptions) or checks each object it is given.
    AnyCaller(Api),
    /// A management-plane action at a scope named by the path.
    Action {
        /// The ARM or keyhold action, e.g. `Microsoft.KeyVault/vaults/write`.
        action: &'static str,
        /// Where it is authorized.
        scope: Scope,
    },
    /// A key permission on the host's vault (its access policies, or on RBAC vaults the
    /// matching data action), checked by the vault gate after its firewall.
    VaultKeys(KeyPermission),
    /// A data action on the host's AI account (or one of the account's API keys).
    AiData(&'static str),
}

/// Where a management action is authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The directory root `/`: the operator's scope (its Owner covers every tenant).
    Root,
    /// A tenant's directory scope `/tenants/{id}`, from a path segment (id or name).
    Tenant(String),
    /// The caller's own tenant's directory scope, for APIs whose paths name no tenant
    /// (Microsoft Graph answers for the token's tenant only).
    CallerTenant,
    /// Within a subscription: `/subscriptions/{id}` followed by `rest` (empty, or starting
    /// with `/`). The subscription must belong to the caller's tenant.
    Subscription {
        /// The subscription id as the path names it.
        subscription: String,
        /// The rest of the scope (`/resourceGroups/rg/providers/…`).
        rest: String,
    },
}

impl Scope {
    /// A scope within `subscription` (`rest` empty or starting with `/`).
    pub fn subscription(subscription: &str, rest: impl Into<String>) -> Scope {
        Scope::Subscription {
            subscription: subscription.to_owned(),
            rest: rest.into(),
        }
    }
}

/// A management caller the route layer authorized.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The authenticated caller.
    pub caller: AuthenticatedPrincipal,
    /// The subscription the path names, when it names one (of the caller's tenant).
    pub subscription: Option<Subscription>,
    /// The scope the action was authorized at (`/subscriptions/{id}/…` with the stored id).
    pub scope: String,
}

impl Grant {
    /// The subscription of a route that names one; a route table that declared a
    /// subscription scope always has it.
    pub fn sub(&self) -> Result<&Subscription, ApiError> {
        self.subscription
            .as_ref()
            .ok_or_else(|| ApiError::internal(&"route without a subscription used as one"))
    }
}

/// Enforces a management route's access: authenticates a management-audience token,
/// checks that the subscription the path names (if any) belongs to the caller's tenant, and
/// authorizes the declared action at its scope. `subscription` is the route's subscription
/// segment, also for actions authorized elsewhere (a CMK approval at `/`).
pub async fn management(
    state: &AppState,
    head: &RequestHead,
    access: &Access,
    subscription: Option<&str>,
) -> Result<Grant, ApiError> {
    for_api(state, head, access, subscription, Api::Management).await
}

/// [`management`] for another API whose routes declare management-style actions (Microsoft
/// Graph): a token for `api`, then the same checks.
pub async fn for_api(
    state: &AppState,
    head: &RequestHead,
    access: &Access,
    subscription: Option<&str>,
    api: Api,
) -> Result<Grant, ApiError> {
    let caller = authenticate(state, head.headers(), api, None).await?;
    authorize_caller(state, caller, access, subscription).await
}

/// The authorization half of [`management`], for a caller already authenticated: the
/// subscription's tenant and the declared action at its scope. A template deployment runs each
/// of its resources through this with the deployment's caller, exactly as a direct request.
pub async fn authorize_caller(
    state: &AppState,
    caller: AuthenticatedPrincipal,
    access: &Access,
    subscription: Option<&str>,
) -> Result<Grant, ApiError> {
    let subscription = match subscription {
        Some(segment) => Some(subscription_of_caller(state, &caller, segment).await?),
        None => None,
    };
    let scope = match access {
        Access::Public | Access::AnyCaller(_) => String::new(),
        Access::Action { action, scope } => {
            let scope = match scope {
                Scope::Root => "/".to_owned(),
                Scope::Tenant(segment) => tenant_scope_of_caller(state, &caller, segment).await?,
                Scope::CallerTenant => keyhold_identity::tenant_scope(caller.principal.tenant_id),
                Scope::Subscription {
                    subscription: s,
                    rest,
                } => {
                    let sub = match &subscription {
                        Some(sub) => sub.clone(),
                        None => subscription_of_caller(state, &caller, s).await?,
                    };
                    format!("/subscriptions/{}{rest}", sub.id)
                }
            };
            authorize(state, &caller, &scope, action).await?;
            scope
        }
        Access::VaultKeys(_) | Access::AiData(_) => {
            return Err(ApiError::internal(
                &"a data-plane route was sent to the management gate",
            ));
        }
    };
    Ok(Grant {
        caller,
        subscription,
        scope,
    })
}

/// The subscription `segment` names, which must belong to the caller's tenant (401 with a
/// challenge naming its own tenant otherwise, as ARM answers a token of another directory).
pub async fn subscription_of_caller(
    state: &AppState,
    caller: &AuthenticatedPrincipal,
    segment: &str,
) -> Result<Subscription, ApiError> {
    let sub = state.identity().subscription(segment).await?;
    if sub.tenant_id != caller.principal.tenant_id {
        let err = TokenError::WrongTenant;
        return Err(ApiError::unauthorized(
            err.code(),
            format!(
                "The access token is from tenant '{}', but subscription '{segment}' belongs to another tenant.",
                caller.principal.tenant_id
            ),
            challenge(state, Api::Management, sub.tenant_id, Some(&err)),
        ));
    }
    Ok(sub)
}

/// `/tenants/{id}` of the tenant `segment` names, which must be the caller's own: a token of
/// another tenant is refused the same way whether or not the segment names a tenant.
async fn tenant_scope_of_caller(
    state: &AppState,
    caller: &AuthenticatedPrincipal,
    segment: &str,
) -> Result<String, ApiError> {
    let own = caller.principal.tenant_id;
    let names_own = match uuid::Uuid::parse_str(segment) {
        Ok(id) => id == own,
        Err(_) => state
            .identity()
            .tenant_by_segment(segment)
            .await
            .is_ok_and(|t| t.id == own),
    };
    if !names_own {
        let err = TokenError::WrongTenant;
        return Err(ApiError::unauthorized(
            err.code(),
            "the token is for another tenant",
            challenge(state, Api::Management, own, Some(&err)),
        ));
    }
    Ok(keyhold_identity::tenant_scope(own))
}
