//! The deployment engine's [`ResourceHost`]: every resource of a template goes through the
//! same code path as a direct ARM request. For each PUT, GET and `listKeys`, the host builds
//! the ARM path from the resource id and api-version, parses it with the ARM route parser,
//! and hands it to the ARM gate as the deployment's caller: the route table's action is
//! authorized at the path's scope with the caller's own grants, then the very handler a
//! direct request reaches runs (with its CMK rules, identity-assignment checks and object
//! scope checks), and the call is audited. A template can therefore do nothing its caller
//! could not do by hand.
//!
//! A type the route parser does not know answers `NoRegisteredProviderFound`, naming the type
//! and api-version.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use keyhold_arm_template::{
    ArmError, HostError, OperationRecord, ProvisioningState, ResourceHost, ResourceId, status_name,
};
use keyhold_identity::{AuthenticatedPrincipal, PrincipalKind};
use serde_json::Value;

use crate::arm::routes::{ArmRoute, parse};
use crate::http::{RequestHead, RouteError};
use crate::state::AppState;

/// Longest path and segment, as the router enforces for direct requests.
const MAX_PATH: usize = 8 * 1024;
const MAX_SEGMENT: usize = 1024;
/// Largest answer read back from a handler.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// A resource PUT made so far in a run (for the deployment's progress).
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    /// Operations, in completion order.
    pub operations: Vec<OperationRecord>,
}

/// Dispatches a deployment's resources through the ARM gate as its caller.
pub(crate) struct ArmHost {
    state: AppState,
    caller: Mutex<AuthenticatedPrincipal>,
    location: String,
    deployment_id: String,
    progress: Mutex<Progress>,
    /// PUTs working now, PUTs waiting for siblings, PUTs finished.
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    completed: AtomicUsize,
}

/// Why a call did not reach a handler.
pub(crate) enum Unrouted {
    /// No route for this type: no provider.
    NoProvider,
    /// The type exists but not with this method.
    MethodNotAllowed,
    /// The caller or the path cannot be used.
    Refused(HostError),
}

impl ArmHost {
    /// A host acting as `caller` for the deployment `deployment_id` in `location`.
    pub(crate) fn new(
        state: AppState,
        caller: AuthenticatedPrincipal,
        location: &str,
        deployment_id: &str,
    ) -> Self {
        ArmHost {
            state,
            caller: Mutex::new(caller),
            location: location.to_owned(),
            deployment_id: deployment_id.to_owned(),
            progress: Mutex::new(Progress {
                operations: Vec::new(),
            }),
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
        }
    }

    /// The PUTs made so far.
    pub(crate) fn progress(&self) -> Progress {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The caller as the directory knows it now: a local principal that was deleted or
    /// disabled since the deployment started stops acting, as its tokens would.
    async fn current_caller(&self) -> Result<AuthenticatedPrincipal, HostError> {
        let caller = self
            .caller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if matches!(caller.principal.kind, PrincipalKind::External { .. }) {
            return Ok(caller);
        }
        let now = self
            .state
            .identity()
            .principal(caller.principal.object_id)
            .await;
        match now {
            Ok(p) if p.enabled && p.tenant_id == caller.principal.tenant_id => {
                let refreshed = AuthenticatedPrincipal {
                    principal: p,
                    claims: caller.claims,
                };
                *self
                    .caller
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = refreshed.clone();
                Ok(refreshed)
            }
            Ok(_) => Err(HostError::new(
                401,
                "PrincipalDisabled",
                "The principal that started this deployment is disabled.",
            )),
            Err(keyhold_identity::IdentityError::PrincipalNotFound(_)) => Err(HostError::new(
                401,
                "PrincipalNotFound",
                "The principal that started this deployment no longer exists.",
            )),
            Err(_) => Err(HostError::new(
                503,
                "ServiceUnavailable",
                "The directory is temporarily unavailable.",
            )),
        }
    }

    /// One ARM call through the gate: `(status, body)` of the handler's answer.
    async fn call(
        &self,
        method: Method,
        id: &ResourceId,
        suffix: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), Unrouted> {
        let (path, route) = route_for(&method, id, suffix)?;
        let caller = self.current_caller().await.map_err(Unrouted::Refused)?;
        let uri = format!("{path}?api-version={}", encode_query(api_version));
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).unwrap_or_default(),
            None => Vec::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .map_err(|_| {
                Unrouted::Refused(HostError::new(
                    400,
                    "InvalidRequestUri",
                    format!(
                        "The resource id '{id}' or api-version '{api_version}' is not valid in a request."
                    ),
                ))
            })?;
        let (head, body) = RequestHead::split(request);
        let response = crate::arm::handle_as(&self.state, &caller, route, &head, body).await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER)
            .await
            .unwrap_or_default();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }

    fn no_provider(&self, id: &ResourceId, api_version: &str) -> HostError {
        HostError::no_registered_provider(id.resource_type(), api_version, &self.location)
    }

    fn record(&self, id: &ResourceId, started: i64, result: &Result<Value, HostError>) {
        let finished = keyhold_platform::Platform::now();
        let (state, status_code, error) = match result {
            Ok(_) => (ProvisioningState::Succeeded, "OK".to_owned(), None),
            Err(e) => (
                ProvisioningState::Failed,
                e.status_name(),
                Some(e.to_arm_error()),
            ),
        };
        let record = OperationRecord {
            operation_id: operation_id(&self.deployment_id, id.as_str()),
            resource_id: id.clone(),
            provisioning_operation: "Create",
            provisioning_state: state,
            status_code,
            error,
            started,
            finished: i64::try_from(finished).unwrap_or(started),
        };
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .operations
            .push(record);
    }
}

/// The request path of `id` (plus `suffix`) and the ARM route it parses to, as the router
/// would parse a direct request for it.
pub(crate) fn route_for(
    method: &Method,
    id: &ResourceId,
    suffix: &str,
) -> Result<(String, ArmRoute), Unrouted> {
    let path = format!("{}{suffix}", encode_path(id.as_str()));
    if path.len() > MAX_PATH || path.split('/').any(|s| s.len() > MAX_SEGMENT) {
        return Err(Unrouted::Refused(HostError::new(
            400,
            "InvalidRequestUri",
            format!("The resource id of '{}' is too long.", id.name()),
        )));
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match parse(method, &segments) {
        None | Some(Err(RouteError::NotFound)) => Err(Unrouted::NoProvider),
        Some(Err(RouteError::MethodNotAllowed(_))) => Err(Unrouted::MethodNotAllowed),
        Some(Ok(route)) => Ok((path, route)),
    }
}

/// The provider's error in the handler's answer.
fn host_error(status: StatusCode, body: &Value) -> HostError {
    let error = &body["error"];
    let code = error["code"]
        .as_str()
        .map_or_else(|| status_name(status.as_u16()), str::to_owned);
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    let mut e = HostError::new(status.as_u16(), code, message);
    if let Some(details) = error["details"].as_array() {
        e.details = details
            .iter()
            .filter_map(|d| serde_json::from_value::<ArmError>(d.clone()).ok())
            .collect();
    }
    e
}

impl ArmHost {
    async fn put_once(
        &self,
        id: &ResourceId,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, HostError> {
        match self
            .call(Method::PUT, id, "", api_version, Some(body))
            .await
        {
            Ok((status, value)) if status.is_success() => Ok(value),
            Ok((status, value)) => Err(host_error(status, &value)),
            Err(Unrouted::NoProvider | Unrouted::MethodNotAllowed) => {
                Err(self.no_provider(id, api_version))
            }
            Err(Unrouted::Refused(e)) => Err(e),
        }
    }

    /// Waits until no other PUT of this run is working (those waiting here do not count);
    /// whether any PUT finished since `seen`.
    async fn settle(&self, seen: usize) -> bool {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + SETTLE_LIMIT;
        while self.in_flight.load(Ordering::SeqCst) > self.waiting.load(Ordering::SeqCst)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        self.completed.load(Ordering::SeqCst) != seen
    }
}

/// Errors that may depend on a sibling resource deployed at the same time (an access policy
/// deployed beside the account whose key check needs it).
fn may_depend_on_siblings(e: &HostError) -> bool {
    e.code == "CmkIdentityAccessDenied"
}

/// Longest wait for concurrently deployed siblings before a refusal stands.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

#[async_trait]
impl ResourceHost for ArmHost {
    /// PUT through the gate. A customer-managed-key check that found the key inaccessible is
    /// retried once the resources deployed concurrently with it have finished, if any did:
    /// in Azure the account's key check runs asynchronously after ARM accepted the PUT, so an
    /// access policy deployed in parallel (as the Foundry sample does, without `dependsOn`) is
    /// in place by then. Each attempt is the same request, authorized and audited.
    async fn put(
        &self,
        id: &ResourceId,
        api_version: &str,
        body: Value,
    ) -> Result<Value, HostError> {
        let started = i64::try_from(keyhold_platform::Platform::now()).unwrap_or(0);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut seen = self.completed.load(Ordering::SeqCst);
        let mut result = self.put_once(id, api_version, &body).await;
        for _ in 0..3 {
            match &result {
                Err(e) if may_depend_on_siblings(e) => {}
                _ => break,
            }
            if !self.settle(seen).await {
                break;
            }
            seen = self.completed.load(Ordering::SeqCst);
            result = self.put_once(id, api_version, &body).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.completed.fetch_add(1, Ordering::SeqCst);
        self.record(id, started, &result);
        result
    }

    async fn get(&self, id: &ResourceId, api_version: &str) -> Result<Option<Value>, HostError> {
        match self.call(Method::GET, id, "", api_version, None).await {
            Ok((status, value)) if status.is_success() => Ok(Some(value)),
            Ok((StatusCode::NOT_FOUND, _)) => Ok(None),
            Ok((status, value)) => Err(host_error(status, &value)),
            // A type that can be written but not read (access-policy edits) reads as absent.
            Err(Unrouted::MethodNotAllowed) => Ok(None),
            Err(Unrouted::NoProvider) => Err(self.no_provider(id, api_version)),
            Err(Unrouted::Refused(e)) => Err(e),
        }
    }

    async fn list_keys(&self, id: &ResourceId, api_version: &str) -> Result<Value, HostError> {
        match self
            .call(
                Method::POST,
                id,
                "/listKeys",
                api_version,
                Some(&Value::Null),
            )
            .await
        {
            Ok((status, value)) if status.is_success() => Ok(value),
            Ok((status, value)) => Err(host_error(status, &value)),
            Err(Unrouted::NoProvider | Unrouted::MethodNotAllowed) => {
                Err(self.no_provider(id, api_version))
            }
            Err(Unrouted::Refused(e)) => Err(e),
        }
    }
}

/// The engine's operation id of a resource in a deployment (the same formula as
/// `keyhold_arm_template`'s records, so progress and final operations share ids).
pub(crate) fn operation_id(deployment_id: &str, resource_id: &str) -> String {
    keyhold_arm_template::guid(&[deployment_id, resource_id])
        .replace('-', "")
        .to_uppercase()
        .chars()
        .take(16)
        .collect()
}

/// Percent-encodes what a URI path may not carry, as a client sending the id would.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_query(value: &str) -> String {
    encode_path(value).replace(['&', '=', '+'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_request_paths() {
        assert_eq!(
            encode_path("/subscriptions/s/resourceGroups/rg"),
            "/subscriptions/s/resourceGroups/rg"
        );
        assert_eq!(encode_path("/a b/ü"), "/a%20b/%C3%BC");
        assert_eq!(encode_query("2025-06-01"), "2025-06-01");
        assert_eq!(encode_query("x&y=1"), "x_y_1");
    }

    #[test]
    fn operation_ids_match_the_engine() {
        let id = operation_id("/d", "/r");
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
    }

    #[test]
    fn handler_errors_keep_their_code_and_details() {
        let body = serde_json::json!({"error": {"code": "CmkKeyDisabled", "message": "disabled",
            "details": [{"code": "Inner", "message": "m"}]}});
        let e = host_error(StatusCode::BAD_REQUEST, &body);
        assert_eq!(
            (e.status, e.code.as_str(), e.message.as_str()),
            (400, "CmkKeyDisabled", "disabled")
        );
        assert_eq!(e.details.len(), 1);
        let e = host_error(StatusCode::FORBIDDEN, &Value::Null);
        assert_eq!(e.code, "Forbidden");
    }
}
