//! The runner: deploys a plan's resources through a [`ResourceHost`] in dependency order,
//! independent ones concurrently (at most `max_parallel` at once), runs nested deployments
//! itself, records one operation per resource, and evaluates outputs at the end.
//!
//! As in ARM, a failed resource stops only what depends on it; independent resources still
//! run, and the deployment ends `Failed` with a `DeploymentFailed` error whose details are the
//! failed resources' own errors.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value, json};

use crate::error::{ArmError, TemplateError};
use crate::eval::{EvalError, EvalResult, Evaluator, Fetch, Loops, Site, join};
use crate::host::{HostError, ResourceHost};
use crate::plan::{Condition, Plan};
use crate::records::{DeploymentOutcome, OperationRecord, ProvisioningState, deployment_failed};
use crate::resource_id::ResourceId;
use crate::secure::Redactor;

mod nested;
mod refs;

use refs::{RunRefs, redact};

/// Keys of a resource declaration that are template syntax, not part of the PUT body.
const NOT_IN_BODY: &[&str] = &[
    "type",
    "apiVersion",
    "name",
    "dependsOn",
    "copy",
    "condition",
    "comments",
    "existing",
    "scope",
    "resourceGroup",
    "subscriptionId",
    "metadata",
];

/// Reads the evaluator may ask for before giving up (per expression tree).
const MAX_FETCHES: usize = 256;

type FetchKey = (bool, String, String);

#[derive(Default)]
struct State {
    /// GET bodies of resources this run wrote or read, by lower-cased id.
    deployed: HashMap<String, Value>,
    /// Reads made for expressions: (is listKeys, id key, api-version) → body.
    fetched: HashMap<FetchKey, Option<Value>>,
}

pub(crate) struct Runner<'h> {
    host: &'h dyn ResourceHost,
    state: Mutex<State>,
    redactor: Mutex<Redactor>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
    Blocked,
}

struct NodeResult {
    status: Status,
    record: Option<OperationRecord>,
    error: Option<ArmError>,
    nested: Option<DeploymentOutcome>,
}

type NodeFuture<'a> = Pin<Box<dyn Future<Output = (usize, NodeResult)> + Send + 'a>>;

impl<'h> Runner<'h> {
    pub(crate) fn new(host: &'h dyn ResourceHost) -> Self {
        Runner {
            host,
            state: Mutex::new(State::default()),
            redactor: Mutex::new(Redactor::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs a plan to its end; the outcome is redacted.
    pub(crate) async fn run(&self, plan: &Plan) -> DeploymentOutcome {
        let outcome = self.run_plan(plan).await;
        let redactor = self
            .redactor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        redact(outcome, &redactor)
    }

    fn run_plan<'a>(
        &'a self,
        plan: &'a Plan,
    ) -> Pin<Box<dyn Future<Output = DeploymentOutcome> + Send + 'a>> {
        Box::pin(async move {
            self.redactor
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(&plan.scope.redactor);
            let started = plan.ctx.clock.now();
            let n = plan.nodes.len();
            let mut status = vec![Status::Pending; n];
            let mut operations = Vec::new();
            let mut nested = Vec::new();
            let mut failures = Vec::new();
            let mut output_resources = Vec::new();
            let mut running: FuturesUnordered<NodeFuture<'a>> = FuturesUnordered::new();
            let limit = plan.ctx.max_parallel.max(1);
            loop {
                let mut changed = true;
                while changed {
                    changed = false;
                    for i in 0..n {
                        if status[i] != Status::Pending {
                            continue;
                        }
                        let deps = &plan.nodes[i].depends_on;
                        if deps
                            .iter()
                            .any(|&d| matches!(status[d], Status::Failed | Status::Blocked))
                        {
                            status[i] = Status::Blocked;
                            changed = true;
                        } else if running.len() < limit
                            && deps
                                .iter()
                                .all(|&d| matches!(status[d], Status::Done | Status::Skipped))
                        {
                            status[i] = Status::Running;
                            running
                                .push(Box::pin(async move { (i, self.run_node(plan, i).await) }));
                        }
                    }
                }
                let Some((i, result)) = running.next().await else {
                    break;
                };
                status[i] = result.status;
                if result.status == Status::Done {
                    output_resources.push(plan.nodes[i].id.clone());
                }
                operations.extend(result.record);
                failures.extend(result.error);
                nested.extend(result.nested);
            }
            let mut outcome = DeploymentOutcome {
                id: plan.ctx.deployment_id(),
                name: plan.ctx.deployment_name.clone(),
                provisioning_state: ProvisioningState::Succeeded,
                outputs: Map::new(),
                output_resources,
                parameters: plan.scope.display_parameters(),
                dependencies: crate::graph::dependencies_json(plan),
                error: None,
                operations,
                nested,
                started,
                finished: started,
            };
            if failures.is_empty() {
                match self.outputs(plan).await {
                    Ok(outputs) => outcome.outputs = outputs,
                    Err(e) => {
                        let mut error = ArmError::new(
                            "DeploymentOutputEvaluationFailed",
                            "Unable to evaluate template outputs. Please see error details and deployment operations. Please see https://aka.ms/arm-common-errors for usage details.",
                        );
                        error.details.push(e.to_arm_error());
                        outcome.error = Some(error);
                    }
                }
            } else {
                outcome.error = Some(deployment_failed(failures));
            }
            if outcome.error.is_some() {
                outcome.provisioning_state = ProvisioningState::Failed;
            }
            outcome.finished = plan.ctx.clock.now();
            outcome
        })
    }

    async fn run_node(&self, plan: &Plan, i: usize) -> NodeResult {
        let node = &plan.nodes[i];
        let started = plan.ctx.clock.now();
        let result = self.deploy_node(plan, i).await;
        let finished = plan.ctx.clock.now();
        let record = |state, status_code: String, error: Option<ArmError>| OperationRecord {
            operation_id: operation_id(&plan.ctx.deployment_id(), node.id.as_str()),
            resource_id: node.id.clone(),
            provisioning_operation: "Create",
            provisioning_state: state,
            status_code,
            error,
            started,
            finished,
        };
        match result {
            Ok(None) => NodeResult {
                status: Status::Skipped,
                record: None,
                error: None,
                nested: None,
            },
            Ok(Some(nested)) => NodeResult {
                status: Status::Done,
                record: (!node.existing)
                    .then(|| record(ProvisioningState::Succeeded, "OK".into(), None)),
                error: None,
                nested,
            },
            Err(e) => {
                let (status_code, nested, mut wire) = match e {
                    NodeError::Template(TemplateError::Host(h)) => {
                        (h.status_name(), None, h.to_arm_error())
                    }
                    NodeError::Template(other) => {
                        ("BadRequest".to_string(), None, other.to_arm_error())
                    }
                    NodeError::Nested(o) => {
                        let wire = o
                            .error
                            .clone()
                            .unwrap_or_else(|| deployment_failed(Vec::new()));
                        ("Conflict".to_string(), Some(*o), wire)
                    }
                };
                wire.target.get_or_insert_with(|| node.id.to_string());
                NodeResult {
                    status: Status::Failed,
                    record: Some(record(
                        ProvisioningState::Failed,
                        status_code,
                        Some(wire.clone()),
                    )),
                    error: Some(wire),
                    nested,
                }
            }
        }
    }

    /// `Ok(None)`: skipped by its condition. `Ok(Some(nested))`: done (with the nested
    /// deployment's outcome for a nested deployment).
    async fn deploy_node(
        &self,
        plan: &Plan,
        i: usize,
    ) -> Result<Option<Option<DeploymentOutcome>>, NodeError> {
        let node = &plan.nodes[i];
        let decl = &plan.template.resources[node.decl];
        if node.condition == Condition::False {
            return Ok(None);
        }
        if node.condition == Condition::Deferred {
            let cpath = join(&node.path, "condition");
            let raw = decl
                .raw
                .get("condition")
                .cloned()
                .unwrap_or(Value::Bool(true));
            let c = self
                .evaluate(plan, node.copy.clone(), Site::ResourceBody, |ev| {
                    ev.value(&raw, &cpath)
                })
                .await
                .map_err(|e| expression_failure(&node.id, e))?;
            if c != Value::Bool(true) {
                return Ok(None);
            }
        }
        if node.existing {
            let got = self
                .host
                .get(&node.id, &node.api_version)
                .await
                .map_err(TemplateError::Host)?;
            let body = got.ok_or_else(|| not_found(&node.id))?;
            self.lock().deployed.insert(node.id.key(), body);
            return Ok(Some(None));
        }
        if node.is_deployment() {
            return self.run_nested(plan, i).await.map(|o| Some(Some(o)));
        }
        let raw = Value::Object(
            decl.raw
                .iter()
                .filter(|(k, _)| !NOT_IN_BODY.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        let body = self
            .evaluate(plan, node.copy.clone(), Site::ResourceBody, |ev| {
                ev.value(&raw, &node.path)
            })
            .await
            .map_err(|e| expression_failure(&node.id, e))?;
        let got = self
            .host
            .put(&node.id, &node.api_version, body)
            .await
            .map_err(TemplateError::Host)?;
        self.lock().deployed.insert(node.id.key(), got);
        Ok(Some(None))
    }

    async fn outputs(&self, plan: &Plan) -> Result<Map<String, Value>, TemplateError> {
        let mut out = Map::new();
        for def in &plan.template.outputs {
            let path = join(&plan.template.path, &format!("outputs.{}", def.name));
            if let Some(c) = def.raw.get("condition") {
                let cpath = join(&path, "condition");
                if self
                    .evaluate(plan, None, Site::Output, |ev| ev.value(c, &cpath))
                    .await?
                    != Value::Bool(true)
                {
                    continue;
                }
            }
            let value = if let Some(copy) = def.raw.get("copy") {
                let wrapped = json!({"copy": [{"name": def.name, "count": copy.get("count"), "input": copy.get("input")}]});
                let v = self
                    .evaluate(plan, None, Site::Output, |ev| ev.value(&wrapped, &path))
                    .await?;
                v.get(&def.name).cloned().unwrap_or(Value::Null)
            } else {
                let raw = def.raw.get("value").cloned().unwrap_or(Value::Null);
                let vpath = join(&path, "value");
                self.evaluate(plan, None, Site::Output, |ev| ev.value(&raw, &vpath))
                    .await?
            };
            if !def.ty.accepts(&value) {
                return Err(TemplateError::invalid(
                    path,
                    format!(
                        "The template output '{}' is not valid: the value is of type '{}', but the output type is '{}'.",
                        def.name,
                        crate::eval::type_name(&value),
                        def.ty.wire_name()
                    ),
                ));
            }
            let entry = if def.ty.is_secure() {
                json!({"type": def.ty.wire_name()})
            } else {
                json!({"type": def.ty.wire_name(), "value": value})
            };
            out.insert(def.name.clone(), entry);
        }
        Ok(out)
    }

    /// Evaluates with `f`, making the reads it asks for, until it needs none.
    async fn evaluate(
        &self,
        plan: &Plan,
        copy: Option<(String, i64)>,
        site: Site,
        f: impl Fn(&Evaluator<'_>) -> EvalResult,
    ) -> Result<Value, TemplateError> {
        for _ in 0..MAX_FETCHES {
            let step = {
                let env = plan.env();
                let refs = RunRefs { plan, runner: self };
                let ev = Evaluator {
                    env: &env,
                    names: &plan.scope,
                    refs: &refs,
                    site,
                    loops: Loops {
                        resource: copy.clone(),
                        properties: Vec::new(),
                    },
                    lenient: false,
                };
                f(&ev)
            };
            match step {
                Ok(v) => return Ok(v),
                Err(EvalError::Template(e)) => return Err(e),
                Err(EvalError::Unresolved) => {
                    return Err(TemplateError::eval(
                        "The expression depends on a value that is not available.",
                    ));
                }
                Err(EvalError::Pending(fetch)) => self.fetch(*fetch).await?,
            }
        }
        Err(TemplateError::eval(
            "The expression needs too many resource reads.",
        ))
    }

    async fn fetch(&self, fetch: Fetch) -> Result<(), TemplateError> {
        let (key, value) = match fetch {
            Fetch::Get { id, api_version } => {
                let got = self
                    .host
                    .get(&id, &api_version)
                    .await
                    .map_err(TemplateError::Host)?;
                ((false, id.key(), api_version), got)
            }
            Fetch::ListKeys { id, api_version } => {
                let got = self
                    .host
                    .list_keys(&id, &api_version)
                    .await
                    .map_err(TemplateError::Host)?;
                ((true, id.key(), api_version), Some(got))
            }
        };
        self.lock().fetched.insert(key, value);
        Ok(())
    }
}

enum NodeError {
    Template(TemplateError),
    Nested(Box<DeploymentOutcome>),
}

impl From<TemplateError> for NodeError {
    fn from(e: TemplateError) -> Self {
        NodeError::Template(e)
    }
}

impl From<HostError> for NodeError {
    fn from(e: HostError) -> Self {
        NodeError::Template(TemplateError::Host(e))
    }
}

/// A stable 16-hex-digit operation id for a resource in a deployment.
pub(crate) fn operation_id(deployment_id: &str, resource_id: &str) -> String {
    let g = crate::functions::hash::guid(&[deployment_id, resource_id])
        .replace('-', "")
        .to_uppercase();
    g.chars().take(16).collect()
}

/// ARM's wrapping of an expression error raised while deploying a resource.
fn expression_failure(id: &ResourceId, e: TemplateError) -> TemplateError {
    match e {
        TemplateError::Host(_) | TemplateError::ResourceNotFound { .. } => e,
        other => TemplateError::InvalidTemplate {
            path: other.path().unwrap_or_default().to_string(),
            message: format!(
                "Unable to process template language expressions for resource '{id}'. '{other}'"
            ),
        },
    }
}

fn not_found(id: &ResourceId) -> TemplateError {
    TemplateError::ResourceNotFound {
        id: id.to_string(),
        resource_type: id.resource_type().to_string(),
        name: id.name().to_string(),
        resource_group: id.resource_group().unwrap_or_default().to_string(),
    }
}
