//! Auditing of management calls that have no vault-specific handler (resource groups,
//! identities, role assignments, the directory API). The vault plane and `Microsoft.KeyVault`
//! audit themselves with richer fields.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use keyhold_vault::AuditEvent;

use crate::http::ApiError;
use crate::http::auth::{Api, authenticate};
use crate::state::AppState;

/// The variant name of a route's `Debug` form (`ResourceGroup { .. }` → `ResourceGroup`).
pub fn operation_name(route: &impl std::fmt::Debug, method: &str) -> String {
    let debug = format!("{route:?}");
    let name = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("Unknown");
    format!("{name} {method}")
}

/// Appends the outcome of a management call; a call that cannot be audited is not
/// acknowledged (the answer becomes the storage error).
pub async fn record(
    state: &AppState,
    headers: &HeaderMap,
    operation: String,
    response: Response,
) -> Response {
    let caller = match authenticate(state, headers, Api::Management, None).await {
        Ok(p) => p.principal.object_id.to_string(),
        Err(_) => "anonymous".to_owned(),
    };
    let event = AuditEvent {
        caller,
        operation,
        result: response.status().as_u16().to_string(),
        ..AuditEvent::default()
    };
    match state.audit().append(event).await {
        Ok(_) => response,
        Err(err) => ApiError::from(err).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)]
    enum R {
        ResourceGroup { name: String },
        ListTenants,
    }

    #[test]
    fn names() {
        assert_eq!(
            operation_name(&R::ResourceGroup { name: "x".into() }, "PUT"),
            "ResourceGroup PUT"
        );
        assert_eq!(operation_name(&R::ListTenants, "GET"), "ListTenants GET");
    }
}
