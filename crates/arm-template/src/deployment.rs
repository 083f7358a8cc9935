//! The public entry point: a [`DeploymentRequest`] (what `PUT …/deployments/{name}` carries in
//! `properties`) is prepared into a [`Deployment`] — parameters bound, expressions checked,
//! resources planned and ordered — which the server can then `validate`, `what_if` or `run`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::context::DeploymentContext;
use crate::error::TemplateError;
use crate::expr::{TemplateString, classify};
use crate::host::ResourceHost;
use crate::params::Strictness;
use crate::plan::{Condition, Plan, plan};
use crate::records::DeploymentOutcome;
use crate::resource_id::ResourceId;
use crate::template::Template;
use crate::whatif::WhatIfResult;

/// `properties.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentMode {
    /// Add and update resources; leave others alone. The only mode this engine runs.
    Incremental,
    /// Also delete resources of the group that are not in the template (refused).
    Complete,
}

/// What a deployment PUT (or `validate`, `whatIf` POST) asks for. `Debug` shows parameter
/// names only (values may be secure).
#[derive(Clone)]
pub struct DeploymentRequest {
    /// The template (`properties.template`).
    pub template: Value,
    /// `properties.parameters`: `{"name": {"value": …}}`.
    pub parameters: Map<String, Value>,
    /// `properties.mode`.
    pub mode: DeploymentMode,
}

impl std::fmt::Debug for DeploymentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentRequest")
            .field("parameters", &self.parameters.keys().collect::<Vec<_>>())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Refuses any mode but `Incremental`.
pub(crate) fn check_mode(mode: &str) -> Result<DeploymentMode, TemplateError> {
    if mode.eq_ignore_ascii_case("incremental") {
        Ok(DeploymentMode::Incremental)
    } else if mode.eq_ignore_ascii_case("complete") {
        Err(TemplateError::Unsupported {
            code: "InvalidDeploymentMode",
            message: "The deployment mode 'Complete' is not supported: this deployment engine runs 'Incremental' deployments only, which never delete resources.".into(),
        })
    } else {
        Err(TemplateError::invalid(
            "properties.mode",
            format!(
                "The deployment mode '{mode}' is not valid. The supported modes are 'Incremental' and 'Complete'."
            ),
        ))
    }
}

impl DeploymentRequest {
    /// A request for `template` with `parameters`, which may be the `parameters` object itself
    /// or a whole parameters file (`{"$schema": …, "parameters": {…}}`).
    pub fn new(template: Value, parameters: Value) -> Result<Self, TemplateError> {
        let parameters = match parameters {
            Value::Null => Map::new(),
            Value::Object(mut m)
                if m.contains_key("$schema") || m.contains_key("contentVersion") =>
            {
                match m.remove("parameters") {
                    Some(Value::Object(p)) => p,
                    _ => Map::new(),
                }
            }
            Value::Object(m) => m,
            _ => {
                return Err(TemplateError::invalid(
                    "properties.parameters",
                    "The deployment parameters must be an object.",
                ));
            }
        };
        Ok(DeploymentRequest {
            template,
            parameters,
            mode: DeploymentMode::Incremental,
        })
    }

    /// Reads the `properties` of a deployment PUT body. `templateLink`, `parametersLink` and
    /// mode `Complete` are refused.
    pub fn from_properties(properties: &Value) -> Result<Self, TemplateError> {
        if properties.get("templateLink").is_some() {
            return Err(TemplateError::Unsupported {
                code: "InvalidTemplate",
                message: "'templateLink' is not supported: send the template inline in 'properties.template'.".into(),
            });
        }
        if properties.get("parametersLink").is_some() {
            return Err(TemplateError::Unsupported {
                code: "InvalidTemplate",
                message: "'parametersLink' is not supported: send the parameters inline in 'properties.parameters'.".into(),
            });
        }
        let Some(template) = properties.get("template").cloned() else {
            return Err(TemplateError::invalid(
                "properties.template",
                "The request content must have 'properties.template'.",
            ));
        };
        let mut request = DeploymentRequest::new(
            template,
            properties.get("parameters").cloned().unwrap_or(Value::Null),
        )?;
        request.mode = check_mode(
            properties
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("Incremental"),
        )?;
        Ok(request)
    }
}

/// A resource of a validated deployment, as `validate` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedResource {
    /// Full id.
    pub id: ResourceId,
    /// api-version it will be written with.
    pub api_version: String,
    /// Ids it waits for.
    pub depends_on: Vec<ResourceId>,
}

/// A deployment ready to validate, what-if or run.
#[derive(Debug)]
pub struct Deployment {
    plan: Plan,
}

impl Deployment {
    /// Preflight: parses the template, checks every expression parses and names a known
    /// function, binds parameters (types, rules, defaults), expands copy loops and orders the
    /// resources. An error here is ARM's synchronous 400 (`InvalidTemplate`, …).
    pub fn prepare(
        ctx: DeploymentContext,
        request: &DeploymentRequest,
    ) -> Result<Self, TemplateError> {
        if request.mode == DeploymentMode::Complete {
            check_mode("Complete")?;
        }
        let template = Template::parse_at(&request.template, "")?;
        check_expressions(&request.template, "")?;
        let plan = plan(
            Arc::new(template),
            &request.parameters,
            ctx,
            Strictness::Strict,
            None,
        )?;
        Ok(Deployment { plan })
    }

    /// The resources that would be deployed (conditions known to be false left out).
    pub fn validated_resources(&self) -> Vec<ValidatedResource> {
        self.plan
            .nodes
            .iter()
            .filter(|n| n.condition != Condition::False && !n.existing)
            .map(|n| ValidatedResource {
                id: n.id.clone(),
                api_version: n.api_version.clone(),
                depends_on: n
                    .depends_on
                    .iter()
                    .map(|&d| self.plan.nodes[d].id.clone())
                    .collect(),
            })
            .collect()
    }

    /// ARM's `parameters` echo (secure values with their type only).
    pub fn parameters(&self) -> Value {
        self.plan.scope.display_parameters()
    }

    /// The body `POST …/deployments/{name}/validate` answers with on success.
    pub fn validate_response(&self) -> Value {
        json!({
            "id": self.plan.ctx.deployment_id(),
            "name": self.plan.ctx.deployment_name,
            "type": crate::plan::DEPLOYMENTS,
            "properties": {
                "provisioningState": "Succeeded",
                "mode": "Incremental",
                "parameters": self.parameters(),
                "dependencies": crate::graph::dependencies_json(&self.plan),
                "validatedResources": self.validated_resources().iter().map(|r| json!({"id": r.id.as_str()})).collect::<Vec<_>>(),
            },
        })
    }

    /// Runs the deployment to its end through `host`.
    pub async fn run(&self, host: &dyn ResourceHost) -> DeploymentOutcome {
        crate::runner::Runner::new(host).run(&self.plan).await
    }

    /// What the deployment would change, reading through `host` and writing nothing.
    pub async fn what_if(&self, host: &dyn ResourceHost) -> Result<WhatIfResult, TemplateError> {
        crate::whatif::what_if(&self.plan, host).await
    }
}

/// Parses every expression of the template (nested templates included) and checks that each
/// function it calls exists.
fn check_expressions(v: &Value, path: &str) -> Result<(), TemplateError> {
    match v {
        Value::String(s) => match classify(s) {
            Ok(TemplateString::Expression(e)) => {
                for (name, _) in e.calls() {
                    if !crate::functions::is_known(name) && !name.contains('.') {
                        return Err(TemplateError::UnknownFunction {
                            path: path.to_string(),
                            name: name.to_string(),
                        });
                    }
                }
                Ok(())
            }
            Ok(TemplateString::Literal(_)) => Ok(()),
            Err(p) => Err(TemplateError::ExpressionParse {
                path: path.to_string(),
                expression: s[1..s.len() - 1].to_string(),
                position: p.pos,
                message: p.message,
            }),
        },
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_expressions(item, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().try_for_each(|(k, item)| {
            let child = crate::eval::join(path, k);
            check_expressions(&Value::String(k.clone()), &child)?;
            check_expressions(item, &child)
        }),
        _ => Ok(()),
    }
}
