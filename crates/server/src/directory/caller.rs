//! Who may call the directory API: the tenant check and the `Keyhold.Directory/*` actions.

use keyhold_identity::{AuthenticatedPrincipal, TokenError};

use crate::http::auth::{Api, authenticate, authorize, challenge};
use crate::http::{ApiError, RequestHead};
use crate::state::AppState;

/// Authenticates a directory call and authorizes `action`: at the tenant's directory scope
/// `/tenants/{t}` (from a token of that tenant) when the path names a tenant, else at the
/// directory root `/`. The first start's administrator is Owner at `/`, which covers every
/// tenant; a tenant made later has an administrator of its own, Owner at its scope only.
pub(crate) async fn directory_caller(
    state: &AppState,
    request: &RequestHead,
    tenant_segment: Option<&str>,
    action: &str,
) -> Result<AuthenticatedPrincipal, ApiError> {
    let caller = authenticate(state, request.headers(), Api::Management, None).await?;
    let mut scope = "/".to_owned();
    if let Some(segment) = tenant_segment {
        let tenant = state.identity().tenant_by_segment(segment).await?;
        if tenant.id != caller.principal.tenant_id {
            let err = TokenError::WrongTenant;
            return Err(ApiError::unauthorized(
                err.code(),
                "the token is for another tenant",
                challenge(state, Api::Management, tenant.id, Some(&err)),
            ));
        }
        scope = keyhold_identity::tenant_scope(tenant.id);
    }
    authorize(state, &caller, &scope, action).await?;
    Ok(caller)
}

pub(crate) fn method_not_allowed(request: &RequestHead, allow: &'static str) -> ApiError {
    ApiError::method_not_allowed(request.method().as_str(), allow)
}
