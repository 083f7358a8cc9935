//! The ARM template language, as Azure Resource Manager's `Microsoft.Resources/deployments`
//! runs it: template model, expression parser and evaluator, parameters, dependency graph,
//! an async runner over a [`ResourceHost`], validate and what-if.
//!
//! No I/O happens here: every read and write of a resource goes through [`ResourceHost`], which
//! the server implements over its providers.
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
