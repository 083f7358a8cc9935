//! What a run produces: one [`OperationRecord`] per resource attempted, and the
//! [`DeploymentOutcome`] (outputs or the `DeploymentFailed` error). Both render to ARM's JSON
//! shapes; secure values never appear in them.

use serde_json::{Map, Value, json};

use crate::error::ArmError;
use crate::resource_id::ResourceId;

/// A resource's or deployment's terminal state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisioningState {
    /// Done.
    Succeeded,
    /// Failed; see the error.
    Failed,
}

impl ProvisioningState {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisioningState::Succeeded => "Succeeded",
            ProvisioningState::Failed => "Failed",
        }
    }
}

/// One deployment operation: the PUT of one resource (or the run of a nested deployment).
#[derive(Clone, Debug, PartialEq)]
pub struct OperationRecord {
    /// Operation id, stable for a given deployment and resource.
    pub operation_id: String,
    /// The resource.
    pub resource_id: ResourceId,
    /// `Create` (ARM's name for a PUT in incremental mode).
    pub provisioning_operation: &'static str,
    /// Outcome.
    pub provisioning_state: ProvisioningState,
    /// ARM's status name (`OK`, `BadRequest`, `Conflict`, …).
    pub status_code: String,
    /// The provider's error, when the operation failed (secure values redacted).
    pub error: Option<ArmError>,
    /// Unix seconds when the operation started.
    pub started: i64,
    /// Unix seconds when it ended.
    pub finished: i64,
}

impl OperationRecord {
    /// ARM's shape, as `GET …/deployments/{name}/operations` lists it (`deployment_id` is the
    /// id of the deployment the operation belongs to).
    pub fn to_json(&self, deployment_id: &str) -> Value {
        let mut properties = json!({
            "provisioningOperation": self.provisioning_operation,
            "provisioningState": self.provisioning_state.as_str(),
            "timestamp": rfc3339(self.finished),
            "duration": duration(self.finished - self.started),
            "statusCode": self.status_code,
            "targetResource": {
                "id": self.resource_id.as_str(),
                "resourceType": self.resource_id.resource_type(),
                "resourceName": self.resource_id.name(),
            },
        });
        if let Some(e) = &self.error {
            properties["statusMessage"] = json!({"status": "Failed", "error": e});
        }
        json!({
            "id": format!("{deployment_id}/operations/{}", self.operation_id),
            "operationId": self.operation_id,
            "properties": properties,
        })
    }
}

/// The result of running one deployment (nested ones carry their own).
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentOutcome {
    /// The deployment's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `Succeeded` or `Failed`.
    pub provisioning_state: ProvisioningState,
    /// ARM's `outputs`: `{name: {"type": "String", "value": …}}`; secure outputs carry their
    /// type only.
    pub outputs: Map<String, Value>,
    /// Resources written (or read, for `existing`), in completion order.
    pub output_resources: Vec<ResourceId>,
    /// ARM's `parameters` echo, secure ones with their type only.
    pub parameters: Value,
    /// ARM's `dependencies`.
    pub dependencies: Value,
    /// `DeploymentFailed` (with one detail per failed resource) or
    /// `DeploymentOutputEvaluationFailed`.
    pub error: Option<ArmError>,
    /// This deployment's operations, in completion order.
    pub operations: Vec<OperationRecord>,
    /// Nested deployments run on the way, each with its own outcome.
    pub nested: Vec<DeploymentOutcome>,
    /// Unix seconds.
    pub started: i64,
    /// Unix seconds.
    pub finished: i64,
}

impl DeploymentOutcome {
    /// ARM's `properties` of the deployment resource.
    pub fn properties(&self) -> Value {
        let mut p = json!({
            "provisioningState": self.provisioning_state.as_str(),
            "timestamp": rfc3339(self.finished),
            "duration": duration(self.finished - self.started),
            "mode": "Incremental",
            "parameters": self.parameters,
            "outputs": self.outputs,
            "dependencies": self.dependencies,
            "outputResources": self.output_resources.iter().map(|r| json!({"id": r.as_str()})).collect::<Vec<_>>(),
        });
        if let Some(e) = &self.error {
            p["error"] = json!(e);
        }
        p
    }

    /// The output `name`'s value (`None` for a secure or missing output).
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name).and_then(|o| o.get("value"))
    }

    /// This deployment's operations and those of its nested deployments, each with the id of
    /// the deployment it belongs to.
    pub fn all_operations(&self) -> Vec<(&str, &OperationRecord)> {
        let mut out: Vec<(&str, &OperationRecord)> = self
            .operations
            .iter()
            .map(|o| (self.id.as_str(), o))
            .collect();
        for n in &self.nested {
            out.extend(n.all_operations());
        }
        out
    }
}

/// ARM's `DeploymentFailed` error over the failed resources' own errors.
pub(crate) fn deployment_failed(details: Vec<ArmError>) -> ArmError {
    let mut e = ArmError::new(
        "DeploymentFailed",
        "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
    );
    e.details = details;
    e
}

/// Unix seconds as RFC 3339 (`2024-01-02T03:04:05Z`).
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| crate::functions::dotnet_date(t, "yyyy-MM-ddTHH:mm:ssZ"))
        .unwrap_or_default()
}

fn duration(seconds: i64) -> String {
    format!("PT{}S", seconds.max(0))
}
