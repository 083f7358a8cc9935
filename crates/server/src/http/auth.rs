//! Bearer authentication for every API, and management-plane authorization.
//!
//! A request's token is validated by the identity service (signature, issuer, audience,
//! expiry, tenant, principal still present and enabled). Failures answer 401 with a
//! `WWW-Authenticate` challenge naming the authority and resource, and an error code saying
//! which check failed; the token itself is never echoed or logged.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use keyhold_identity::{AuthenticatedPrincipal, Expectation, TokenError};
use uuid::Uuid;

use crate::http::ApiError;
use crate::state::AppState;

/// Which API a token must be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The management plane (ARM and keyhold's directory API).
    Management,
    /// Vault data planes.
    Vault,
    /// AI data planes.
    Ai,
    /// The Microsoft Graph subset (`/v1.0/…`).
    Graph,
}

impl Api {
    /// The audience tokens for this API carry.
    pub fn audience(self, state: &AppState) -> String {
        let config = state.config();
        match self {
            Api::Management => config.management_audience.clone(),
            Api::Vault => config.vault_audience(),
            Api::Ai => config.ai_audience.clone(),
            Api::Graph => config.graph_audience.clone(),
        }
    }

    /// The resource a 401 challenge names. For vaults on a port other than 443 it carries the
    /// port: the Key Vault SDKs accept a challenge only if the vault's `host:port` ends with
    /// `.{resource host:port}`, so `https://vault.localhost` alone would fail their check on
    /// `kv1.vault.localhost:8443`. Tokens for either form are accepted.
    pub fn challenge_resource(self, state: &AppState) -> String {
        match self {
            Api::Vault => {
                vault_audience_with_port(&state.config().vault_audience(), state.public_port())
            }
            _ => self.audience(state),
        }
    }

    /// Every audience a token for this API may carry.
    pub fn accepted_audiences(self, state: &AppState) -> Vec<String> {
        self.accepted_audiences_for(state.config(), state.public_port())
    }

    /// [`Api::accepted_audiences`] from the configuration and public port (before the state
    /// exists).
    pub fn accepted_audiences_for(self, config: &crate::config::Config, port: u16) -> Vec<String> {
        let main = match self {
            Api::Management => config.management_audience.clone(),
            Api::Vault => config.vault_audience(),
            Api::Ai => config.ai_audience.clone(),
            Api::Graph => config.graph_audience.clone(),
        };
        let challenge = match self {
            // The Azure CLI uses the Graph endpoint as the Graph resource, port included.
            Api::Vault | Api::Graph => with_port(&main, port),
            _ => main.clone(),
        };
        if challenge == main {
            vec![main]
        } else {
            vec![main, challenge]
        }
    }
}

/// The challenge for `api`, naming the tenant's authority and the resource to ask for.
pub fn challenge(state: &AppState, api: Api, tenant: Uuid, error: Option<&TokenError>) -> String {
    let authority = format!("{}/{tenant}", state.service_url());
    let resource = api.challenge_resource(state);
    let mut value = match api {
        Api::Management | Api::Graph => format!("Bearer authorization_uri=\"{authority}\""),
        Api::Vault | Api::Ai => {
            format!("Bearer authorization=\"{authority}\", resource=\"{resource}\"")
        }
    };
    if let Some(err) = error {
        value.push_str(&format!(
            ", error=\"invalid_token\", error_description=\"{err}\""
        ));
    }
    value
}

/// `https://{vault-domain}:{port}`, or the plain audience on port 443.
pub fn vault_audience_with_port(audience: &str, port: u16) -> String {
    with_port(audience, port)
}

/// `{audience}:{port}`, or the plain audience on port 443.
pub fn with_port(audience: &str, port: u16) -> String {
    if port == 443 {
        audience.to_owned()
    } else {
        format!("{audience}:{port}")
    }
}

/// Extracts the bearer token, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates a request for `api`. `tenant` is the tenant of the target resource when known.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    api: Api,
    tenant: Option<Uuid>,
) -> Result<AuthenticatedPrincipal, ApiError> {
    let challenge_tenant = tenant.unwrap_or(state.default_tenant());
    let Some(token) = bearer(headers) else {
        return Err(ApiError::unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or is not a Bearer token.",
            challenge(state, api, challenge_tenant, None),
        ));
    };
    let audiences = api.accepted_audiences(state);
    let expectation = Expectation {
        audiences: &audiences,
        tenant,
    };
    match state.identity().validate_token(token, &expectation).await {
        Ok(principal) => Ok(principal),
        Err(TokenError::Unavailable) => Err(ApiError::unavailable(
            "token validation is temporarily unavailable; retry",
            1,
        )),
        Err(err) => {
            tracing::info!(code = err.code(), "rejected bearer token");
            Err(ApiError::unauthorized(
                err.code(),
                err.to_string(),
                challenge(state, api, challenge_tenant, Some(&err)),
            ))
        }
    }
}

/// 403 unless `caller` may perform `action` on `scope` (management plane).
pub async fn authorize(
    state: &AppState,
    caller: &AuthenticatedPrincipal,
    scope: &str,
    action: &str,
) -> Result<(), ApiError> {
    deny_in_managed_group(state, scope, action).await?;
    let allowed = state
        .identity()
        .check_access(caller.principal.object_id, scope, action)
        .await
        .map_err(ApiError::from)?;
    if allowed {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "AuthorizationFailed",
        format!(
            "The client '{}' with object id '{}' does not have authorization to perform action \
             '{action}' over scope '{scope}' or the scope is invalid.",
            caller.principal.client_id, caller.principal.object_id
        ),
    ))
}

/// A managed resource group (a legacy hub's) is read-only to users: only keyhold changes what
/// is in it, and it goes away with the hub that owns it.
async fn deny_in_managed_group(
    state: &AppState,
    scope: &str,
    action: &str,
) -> Result<(), ApiError> {
    if action.ends_with("/read") {
        return Ok(());
    }
    let parts: Vec<&str> = scope.split('/').filter(|p| !p.is_empty()).collect();
    let (Some(sub), Some(at)) = (
        parts.get(1),
        parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("resourceGroups")),
    ) else {
        return Ok(());
    };
    let Some(group) = parts.get(at + 1) else {
        return Ok(());
    };
    let Ok(sub) = Uuid::parse_str(sub) else {
        return Ok(());
    };
    if let Ok(rg) = state.identity().resource_group(sub, group).await
        && let Some(owner) = rg.managed_by
    {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "DenyAssignmentAuthorizationFailed",
            format!(
                "Resource group '{group}' is managed by {owner} and is read-only: action '{action}' is denied."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "bearer  xyz ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("xyz"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
