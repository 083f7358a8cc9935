//! The ARM template language, as Azure Resource Manager's `Microsoft.Resources/deployments`
//! runs it: template model, expression parser and evaluator, parameters, dependency graph,
//! an async runner over a [`ResourceHost`], validate and what-if.
//!
//! No I/O happens here: every read and write of a resource goes through [`ResourceHost`], which
//! the server implements over its providers. Nested deployments are run by the engine itself
//! (their outcomes come back in [`DeploymentOutcome::nested`] for the server to store).
//!
//! # Wiring into the deployments API
//!
//! ```no_run
//! use keyhold_arm_template::{
//!     Deployment, DeploymentContext, DeploymentRequest, EnvironmentInfo, ResourceHost, TemplateError,
//! };
//!
//! # async fn put_deployment(host: &dyn ResourceHost, body: serde_json::Value) -> Result<(), TemplateError> {
//! // PUT /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Resources/deployments/{name}
//! let environment = EnvironmentInfo {
//!     keyvault_dns: ".vault.localhost:8443".into(),
//!     resource_manager: "https://localhost:8443/".into(),
//!     ..EnvironmentInfo::azure_cloud()
//! };
//! let ctx = DeploymentContext::new("tenant-id", "subscription-id", "rg1", "eastus2", "main")
//!     .with_environment(&environment);
//! // Errors here are ARM's synchronous 400s: answer `e.to_arm_error()` under `{"error": …}`.
//! let request = DeploymentRequest::from_properties(&body["properties"])?;
//! let deployment = Deployment::prepare(ctx, &request)?;
//! // POST …/validate answers `deployment.validate_response()`;
//! // POST …/whatIf answers `deployment.what_if(host).await?.to_json()`.
//! // PUT answers 201 (provisioningState Running), then runs in the background:
//! let outcome = deployment.run(host).await;
//! let properties = outcome.properties(); // GET …/deployments/{name} → {"properties": …}
//! for (deployment_id, operation) in outcome.all_operations() {
//!     let _listed = operation.to_json(deployment_id); // GET …/deployments/{name}/operations
//! }
//! # let _ = properties;
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! [`TemplateError::code`] is ARM's code. Template, parameter and expression problems are
//! `InvalidTemplate` (HTTP 400), as ARM answers them, with the template path in
//! `additionalInfo[].info.path`. A type the server does not host should be refused by the host
//! with [`HostError::no_registered_provider`] (`NoRegisteredProviderFound`, naming the type and
//! api-version); it then appears in the failed operation and in the deployment's
//! `DeploymentFailed` details, like any provider error.
//!
//! # Secure values
//!
//! `securestring`/`secureObject` parameters are held as [`SecureValue`]s and reach only the
//! host's `put`. Records, outputs, operations, what-if and `Debug` output never contain them
//! (see [`Redactor`]).
//!
//! # Not supported
//!
//! Mode `Complete`, `templateLink`/`parametersLink`, Key Vault parameter references,
//! `list*()` functions other than `listKeys()`, lambda functions, user-defined types
//! (`definitions`), deployments at management-group or tenant scope, and nested resources
//! under a parent that has a copy loop. Subscription-scope deployments
//! ([`DeploymentContext::at_subscription`]) deploy resource groups and nested deployments
//! into groups.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod context;
mod deployment;
mod error;
mod eval;
pub mod expr;
mod functions;
mod graph;
mod host;
mod params;
mod plan;
mod records;
mod resource_id;
mod runner;
mod secure;
mod template;
mod whatif;

pub use context::{
    Clock, DeploymentContext, EnvironmentInfo, FixedClock, ResourceGroupInfo, SystemClock,
};
pub use deployment::{Deployment, DeploymentMode, DeploymentRequest, ValidatedResource};
pub use error::{ArmError, TemplateError};
pub use functions::hash::{guid, unique_string};
pub use host::{HostError, ResourceHost, status_name};
pub use params::ParamType;
pub use records::{DeploymentOutcome, OperationRecord, ProvisioningState, rfc3339};
pub use resource_id::{InvalidResourceId, ResourceId};
pub use secure::{REDACTED, Redactor, SecureValue};
pub use template::{Template, UserFunctions};
pub use whatif::{ChangeType, PropertyChange, PropertyChangeType, WhatIfChange, WhatIfResult};
