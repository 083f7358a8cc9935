//! Wire shapes of the deployments API: a deployment (`id`, `name`, `type`, `location`,
//! `tags`, `properties` with `provisioningState`, `correlationId`, `templateHash`, outputs,
//! `outputResources`, `error`), and the `Azure-AsyncOperation` status record.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::store::{DeploymentRecord, states};
use crate::http::rfc3339;
use crate::state::AppState;

fn duration(seconds: u64) -> String {
    format!("PT{seconds}S")
}

/// The ARM shape of a deployment.
pub(crate) fn deployment_json(r: &DeploymentRecord) -> Value {
    let now = keyhold_platform::Platform::now();
    let mut properties = match &r.properties {
        Some(p) => p.clone(),
        None => json!({
            "timestamp": rfc3339(r.finished.unwrap_or(now)),
            "duration": duration(r.finished.unwrap_or(now).saturating_sub(r.started)),
            "mode": "Incremental",
            "parameters": r.parameters,
            "outputResources": r.output_resources.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        }),
    };
    properties["provisioningState"] = json!(r.state);
    properties["correlationId"] = json!(r.correlation_id);
    properties["templateHash"] = json!(r.template_hash);
    if let Some(e) = &r.error {
        properties["error"] = e.clone();
    }
    let mut out = json!({
        "id": r.id,
        "name": r.name,
        "type": "Microsoft.Resources/deployments",
        "tags": r.tags,
        "properties": properties,
    });
    if let Some(location) = &r.location {
        out["location"] = json!(location);
    }
    out
}

/// The status an `Azure-AsyncOperation` poll reads (`Accepted`, `Running`, `Succeeded`,
/// `Failed` with the deployment's error, `Canceled`).
pub(crate) fn status_json(path: &str, r: &DeploymentRecord) -> Value {
    let mut out = json!({
        "id": path,
        "name": r.operation_id,
        "status": r.state,
        "startTime": rfc3339(r.started),
    });
    if let Some(end) = r.finished {
        out["endTime"] = json!(rfc3339(end));
    }
    if r.state == states::FAILED
        && let Some(e) = &r.error
    {
        out["error"] = e.clone();
    }
    out
}

/// Adds `Azure-AsyncOperation` (the deployment's status record) and `Retry-After: 1` (a
/// missing value makes the SDK pollers wait 30 s).
pub(crate) fn with_async_operation(
    state: &AppState,
    r: &DeploymentRecord,
    api_version: &str,
    mut response: Response,
) -> Response {
    let url = format!(
        "{}{}/operationStatuses/{}?api-version={api_version}",
        state.service_url(),
        r.id,
        r.operation_id
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&url) {
        headers.insert("azure-asyncoperation", value);
    }
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// A JSON answer that polls again in a second while the deployment is not finished.
pub(crate) fn polled(value: Value, active: bool) -> Response {
    let mut response = crate::http::json(StatusCode::OK, value);
    if active {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

/// ARM's `templateHash`: a decimal digest of the template text.
pub(crate) fn template_hash(template: &Value) -> String {
    let text = template.to_string();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first).to_string()
}
