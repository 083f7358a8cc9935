//! The seam to the resources themselves: [`ResourceHost`], which the server implements over its
//! resource providers, and [`HostError`], a provider's refusal in ARM terms.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::ArmError;
use crate::resource_id::ResourceId;

/// A resource provider's error: HTTP status, ARM code and message, as the provider would
/// answer a direct request. It becomes the failed operation's `statusMessage` and one entry of
/// the deployment's `DeploymentFailed` details.
///
/// A type the server does not host should answer
/// [`HostError::no_registered_provider`] (`NoRegisteredProviderFound`, 400), as ARM does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct HostError {
    /// HTTP status the provider answered (400, 404, 409, …).
    pub status: u16,
    /// ARM error code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Nested errors, if the provider gave any.
    pub details: Vec<ArmError>,
}

impl HostError {
    /// An error with status, code and message.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        HostError {
            status,
            code: code.into(),
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// ARM's answer for a resource type (or api-version) no provider serves:
    /// `NoRegisteredProviderFound`, naming the type and api-version.
    pub fn no_registered_provider(resource_type: &str, api_version: &str, location: &str) -> Self {
        let short_type = resource_type
            .split_once('/')
            .map_or(resource_type, |(_, t)| t);
        HostError::new(
            400,
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version '{api_version}' for type '{short_type}'."
            ),
        )
    }

    /// The error in ARM's wire shape.
    pub fn to_arm_error(&self) -> ArmError {
        let mut e = ArmError::new(&self.code, &self.message);
        e.details = self.details.clone();
        e
    }

    /// The status as ARM names it in an operation's `statusCode` (`BadRequest`, `Conflict`…).
    pub fn status_name(&self) -> String {
        status_name(self.status)
    }
}

/// ARM's name for an HTTP status, as in operation `statusCode`.
pub fn status_name(status: u16) -> String {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        412 => "PreconditionFailed",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        other => return other.to_string(),
    }
    .to_string()
}

/// What a deployment does to resources. The server implements it over its providers; tests use
/// an in-memory fake.
///
/// Calls for independent resources run concurrently, so implementations must be safe to call
/// from several tasks at once. Long-running provider operations are the host's business: `put`
/// returns once the resource is in a terminal state.
#[async_trait]
pub trait ResourceHost: Send + Sync {
    /// PUT one resource (full ARM id, api-version, the evaluated body: `location`, `tags`,
    /// `sku`, `kind`, `identity`, `properties`… exactly as ARM would send them). Returns the
    /// resource as GET would, or the provider's error.
    async fn put(
        &self,
        id: &ResourceId,
        api_version: &str,
        body: Value,
    ) -> Result<Value, HostError>;

    /// GET one resource; `Ok(None)` when it does not exist. Used by `reference()`, `existing`
    /// resources and what-if. Resource group ids (`/subscriptions/{s}/resourceGroups/{g}`) are
    /// asked for when a nested deployment targets another group.
    async fn get(&self, id: &ResourceId, api_version: &str) -> Result<Option<Value>, HostError>;

    /// POST `{id}/listKeys`: the resource's keys (`listKeys()`).
    async fn list_keys(&self, id: &ResourceId, api_version: &str) -> Result<Value, HostError>;
}
