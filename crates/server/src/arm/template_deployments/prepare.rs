//! From a request body to a prepared deployment, and the two dry runs: `validate` (the
//! engine's preflight, then each resource's route and permission checked as its PUT would be,
//! with the caller's grants) and `whatIf` (every resource read through the ARM gate as the
//! caller; nothing is written).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use keyhold_arm_template::{ArmError, Deployment, DeploymentRequest};
use keyhold_identity::{AuthenticatedPrincipal, Subscription};
use serde_json::Value;

use super::context::{Target, context, target};
use super::error::DeployError;
use super::host::{Unrouted, route_for};
use super::routes::DeploymentScope;
use crate::http::authz::authorize_caller;
use crate::http::{ApiError, read_body};
use crate::state::AppState;

/// A parsed, prepared deployment request.
pub(crate) struct Prepared {
    /// The deployment, ready to validate, what-if or run.
    pub deployment: Deployment,
    /// Where it goes.
    pub target: Target,
    /// The template as sent (kept for `exportTemplate`).
    pub template: Value,
    /// `location` of the body (subscription scope).
    pub location: Option<String>,
    /// `tags` of the body.
    pub tags: BTreeMap<String, String>,
}

/// ARM's rule for deployment names: 1–64 letters, digits, `-`, `.`, `_`, `(`, `)`.
pub(crate) fn check_name(name: &str) -> Result<(), DeployError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(DeployError::Api(ApiError::bad_request(
            "InvalidDeploymentName",
            format!(
                "The deployment name '{}' is invalid: use 1 to 64 letters, digits, '-', '.', '_', '(' and ')'.",
                name.chars().take(80).collect::<String>()
            ),
        )))
    }
}

/// Reads the body (`location`, `tags`, `properties`) and prepares the deployment: parameters
/// bound, expressions and dependencies checked. Template errors are ARM's synchronous 400s.
pub(crate) async fn prepare(
    state: &AppState,
    body: Body,
    sub: &Subscription,
    scope: &DeploymentScope,
    name: &str,
) -> Result<Prepared, DeployError> {
    check_name(name)?;
    let bytes = read_body(body, state.config().max_body_bytes).await?;
    let body = super::jsonc::parse(&bytes).map_err(|e| {
        DeployError::Api(ApiError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}"),
        ))
    })?;
    let location = body["location"].as_str().map(str::to_owned);
    let tags: BTreeMap<String, String> = match body.get("tags") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(t) => serde_json::from_value(t.clone()).map_err(|_| {
            DeployError::Api(ApiError::bad_request(
                "InvalidRequestContent",
                "tags must be an object of strings.",
            ))
        })?,
    };
    crate::arm::limits::check_tags(&tags)?;
    let properties = body.get("properties").cloned().unwrap_or(Value::Null);
    if !properties.is_object() {
        return Err(DeployError::Api(ApiError::bad_request(
            "InvalidRequestContent",
            "The request content must have 'properties'.",
        )));
    }
    let request = DeploymentRequest::from_properties(&properties)?;
    let target = target(state, sub, scope, location.as_deref()).await?;
    let ctx = context(state, sub, &target, name);
    let deployment = Deployment::prepare(ctx, &request)?;
    Ok(Prepared {
        deployment,
        target,
        template: request.template,
        location,
        tags,
    })
}

/// Preflight of `validate`: every resource of the template must be one keyhold hosts, and
/// the caller must hold the write permission its PUT would need, at its own scope. Nested
/// deployments are checked when they run (their resources depend on run-time values).
pub(crate) async fn preflight(
    state: &AppState,
    caller: &AuthenticatedPrincipal,
    prepared: &Prepared,
    name: &str,
) -> Result<(), DeployError> {
    let mut details = Vec::new();
    for resource in prepared.deployment.validated_resources() {
        let id = &resource.id;
        if id
            .resource_type()
            .eq_ignore_ascii_case("Microsoft.Resources/deployments")
        {
            continue;
        }
        let mut problem = |code: &str, message: String| {
            let mut e = ArmError::new(code, message);
            e.target = Some(id.to_string());
            details.push(e);
        };
        match route_for(&Method::PUT, id, "") {
            Ok((_, route)) => {
                let access = route.access();
                if let Err(e) =
                    authorize_caller(state, caller.clone(), &access, route.subscription()).await
                {
                    problem(e.code(), e.message().to_owned());
                }
            }
            Err(Unrouted::NoProvider | Unrouted::MethodNotAllowed) => {
                let e = keyhold_arm_template::HostError::no_registered_provider(
                    id.resource_type(),
                    &resource.api_version,
                    &prepared.target.location,
                );
                problem(&e.code, e.message);
            }
            Err(Unrouted::Refused(e)) => problem(&e.code, e.message),
        }
    }
    if details.is_empty() {
        return Ok(());
    }
    let mut error = ArmError::new(
        "InvalidTemplateDeployment",
        format!(
            "The template deployment '{name}' is not valid according to the validation procedure. See inner errors for details."
        ),
    );
    error.details = details;
    Err(DeployError::Arm(StatusCode::BAD_REQUEST, error))
}
