//! Planning: binding parameters, expanding `copy` loops into resource instances, evaluating
//! each instance's type, name, id, api-version and condition, and building the dependency
//! graph ([`crate::graph`]). A plan is what `validate` checks and what the runner executes.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::context::DeploymentContext;
use crate::error::TemplateError;
use crate::eval::{Env, EvalError, Evaluator, Loops, NoReferences, Site, copy_count, join};
use crate::params::{Scope, Strictness, bind};
use crate::resource_id::ResourceId;
use crate::template::Template;

/// `Microsoft.Resources/deployments`: nested deployments, run by this engine itself.
pub(crate) const DEPLOYMENTS: &str = "Microsoft.Resources/deployments";

/// Whether a resource is deployed, skipped, or decided at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    True,
    False,
    /// The condition calls `reference()`; evaluated just before the resource would run.
    Deferred,
}

/// One resource instance (a declaration, or one iteration of its copy loop).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Index of the declaration in `template.resources`.
    pub decl: usize,
    /// The resource's copy loop and this instance's index.
    pub copy: Option<(String, i64)>,
    /// Template path (`resources[2]`, `resources[2][copy 1]`).
    pub path: String,
    pub id: ResourceId,
    pub api_version: String,
    pub condition: Condition,
    pub existing: bool,
    /// Nodes this one waits for.
    pub depends_on: Vec<usize>,
}

impl Node {
    pub(crate) fn is_deployment(&self) -> bool {
        self.id.resource_type().eq_ignore_ascii_case(DEPLOYMENTS)
    }
}

/// A planned (nested or top-level) template.
#[derive(Debug)]
pub(crate) struct Plan {
    pub template: Arc<Template>,
    pub scope: Scope,
    pub ctx: DeploymentContext,
    /// What `deployment()` returns.
    pub deployment: Value,
    pub nodes: Vec<Node>,
    pub strictness: Strictness,
}

/// Whether an error only says a value is unknown in this phase (what-if planning skips what it
/// cannot name yet).
fn is_unknown(e: &TemplateError) -> bool {
    matches!(e, TemplateError::FunctionNotAllowed { name, .. } if name == "reference")
}

/// Plans a template against supplied parameters.
pub(crate) fn plan(
    template: Arc<Template>,
    supplied: &Map<String, Value>,
    ctx: DeploymentContext,
    strictness: Strictness,
    outer: Option<&Scope>,
) -> Result<Plan, TemplateError> {
    let deployment = json!({
        "name": ctx.deployment_name,
        "properties": {
            "template": {
                "contentVersion": template.content_version.clone().unwrap_or_else(|| "1.0.0.0".into()),
                "metadata": template.metadata.clone().unwrap_or(Value::Null),
            },
            "templateHash": "",
            "parameters": {},
            "mode": "Incremental",
            "provisioningState": "Accepted",
        },
    });
    let mut deployment = deployment;
    if ctx.at_subscription {
        deployment["location"] = json!(ctx.resource_group.location);
    }
    let scope = {
        let env = Env {
            ctx: &ctx,
            deployment: &deployment,
            functions: &template.functions,
        };
        match outer {
            Some(parent) => parent.clone(),
            None => bind(&template, supplied, &env, strictness)?,
        }
    };
    let mut plan = Plan {
        template,
        scope,
        ctx,
        deployment,
        nodes: Vec::new(),
        strictness,
    };
    expand(&mut plan)?;
    crate::graph::link(&mut plan)?;
    Ok(plan)
}

impl Plan {
    pub(crate) fn env(&self) -> Env<'_> {
        Env {
            ctx: &self.ctx,
            deployment: &self.deployment,
            functions: &self.template.functions,
        }
    }

    /// Nodes whose declaration has this lower-cased symbolic name, copy-loop name, id or
    /// (`type/`)name. Used by `dependsOn` and `reference()`.
    pub(crate) fn find(&self, target: &str) -> Vec<usize> {
        let t = target.to_ascii_lowercase();
        let by_id = ResourceId::parse(target).ok().map(|id| id.key());
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                let decl = &self.template.resources[n.decl];
                let symbolic = decl
                    .symbolic
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(target));
                let loop_name = n
                    .copy
                    .as_ref()
                    .is_some_and(|(l, _)| l.to_ascii_lowercase() == t);
                let id = by_id.as_ref().is_some_and(|k| *k == n.id.key());
                let name = n.id.name().to_ascii_lowercase() == t;
                let typed =
                    format!("{}/{}", n.id.resource_type(), n.id.name()).to_ascii_lowercase() == t;
                symbolic || loop_name || id || name || typed
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// An evaluator at header sites (no references) for a node's loop.
    pub(crate) fn header_evaluator<'a>(
        &'a self,
        env: &'a Env<'a>,
        copy: Option<(String, i64)>,
    ) -> Evaluator<'a> {
        Evaluator {
            env,
            names: &self.scope,
            refs: &NoReferences,
            site: Site::ResourceHeader,
            loops: Loops {
                resource: copy,
                properties: Vec::new(),
            },
            lenient: false,
        }
    }
}

fn expand(plan: &mut Plan) -> Result<(), TemplateError> {
    let template = Arc::clone(&plan.template);
    let env_ctx = plan.ctx.clone();
    let deployment = plan.deployment.clone();
    let env = Env {
        ctx: &env_ctx,
        deployment: &deployment,
        functions: &template.functions,
    };
    let mut nodes = Vec::new();
    for (index, decl) in template.resources.iter().enumerate() {
        let ev = plan.header_evaluator(&env, None);
        let (loop_name, count) = match decl.raw.get("copy") {
            None | Some(Value::Null) => (None, 1),
            Some(copy) => {
                let cpath = format!("{}.copy", decl.path);
                let name = match copy.get("name").map(|n| ev.value(n, &join(&cpath, "name"))) {
                    Some(Ok(Value::String(n))) => n,
                    Some(Err(e)) => return Err(unwrap(e, &cpath)),
                    _ => {
                        return Err(TemplateError::invalid(
                            cpath,
                            "The copy property must have a 'name' of type string.",
                        ));
                    }
                };
                let count = match copy_count(&ev, copy.get("count"), &cpath, &name)
                    .map_err(|e| unwrap(e, &cpath))
                {
                    Err(e) if plan.strictness == Strictness::Lenient && is_unknown(&e) => continue,
                    other => other?,
                };
                (Some(name), count)
            }
        };
        if decl
            .parent
            .is_some_and(|p| template.resources[p].raw.contains_key("copy"))
        {
            return Err(TemplateError::Unsupported {
                code: "InvalidTemplate",
                message: format!(
                    "The template resource at '{}' is nested in a resource with a copy loop; declare it at the top level with its own copy loop instead.",
                    decl.path
                ),
            });
        }
        for i in 0..count {
            let copy = loop_name
                .clone()
                .map(|n| (n, i64::try_from(i).unwrap_or(0)));
            let path = match &copy {
                Some(_) => format!("{}[copy {i}]", decl.path),
                None => decl.path.clone(),
            };
            match instance(plan, &env, index, copy, &path, &nodes) {
                Ok(node) => nodes.push(node),
                Err(e) if plan.strictness == Strictness::Lenient && is_unknown(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    plan.nodes = nodes;
    Ok(())
}

pub(crate) fn unwrap(e: EvalError, path: &str) -> TemplateError {
    match e {
        EvalError::Template(t) => t.at(path),
        EvalError::Pending(_) | EvalError::Unresolved => TemplateError::FunctionNotAllowed {
            path: path.to_string(),
            name: "reference".into(),
        },
    }
}

fn string_field(
    ev: &Evaluator<'_>,
    raw: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, TemplateError> {
    let Some(v) = raw.get(key) else {
        return Ok(None);
    };
    let fpath = join(path, key);
    match ev.value(v, &fpath).map_err(|e| unwrap(e, &fpath))? {
        Value::String(s) => Ok(Some(s)),
        other => Err(TemplateError::invalid(
            fpath,
            format!(
                "The template resource property '{key}' must be a string, not '{}'.",
                crate::eval::type_name(&other)
            ),
        )),
    }
}

fn instance(
    plan: &Plan,
    env: &Env<'_>,
    index: usize,
    copy: Option<(String, i64)>,
    path: &str,
    earlier: &[Node],
) -> Result<Node, TemplateError> {
    let decl = &plan.template.resources[index];
    let ev = plan.header_evaluator(env, copy.clone());
    let mut resource_type = string_field(&ev, &decl.raw, "type", path)?.unwrap_or_default();
    let mut name = string_field(&ev, &decl.raw, "name", path)?.unwrap_or_default();
    let api_version = string_field(&ev, &decl.raw, "apiVersion", path)?.unwrap_or_default();
    if let Some(parent) = decl
        .parent
        .and_then(|p| earlier.iter().find(|n| n.decl == p))
    {
        if !resource_type.contains('/')
            || !resource_type
                .to_ascii_lowercase()
                .starts_with(&parent.id.resource_type().to_ascii_lowercase())
        {
            resource_type = format!("{}/{resource_type}", parent.id.resource_type());
        }
        if name.split('/').count() + 1 < resource_type.split('/').count() {
            name = format!("{}/{name}", parent.id.name());
        }
    }
    let segments = resource_type.split('/').count();
    if name.split('/').count() + 1 != segments {
        return Err(TemplateError::invalid(
            path,
            format!(
                "The template resource '{name}' for type '{resource_type}' at '{path}' has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name."
            ),
        ));
    }
    let names: Vec<&str> = name.split('/').collect();
    let ctx = &plan.ctx;
    let is_deployment = resource_type.eq_ignore_ascii_case(DEPLOYMENTS);
    let scope_id = match string_field(&ev, &decl.raw, "scope", path)? {
        Some(scope) if scope.starts_with('/') => scope,
        Some(relative) => {
            let parts: Vec<&str> = relative.split('/').collect();
            let (rtype, rnames) = split_relative(&parts);
            ResourceId::under(&ctx.scope_id(), &rtype, &rnames)
                .map_err(|e| TemplateError::invalid(join(path, "scope"), e.0))?
                .to_string()
        }
        None if is_deployment => {
            let sub = string_field(&ev, &decl.raw, "subscriptionId", path)?
                .unwrap_or_else(|| ctx.subscription_id.clone());
            let group = string_field(&ev, &decl.raw, "resourceGroup", path)?
                .or_else(|| (!ctx.at_subscription).then(|| ctx.resource_group.name.clone()));
            match group {
                Some(group) => ResourceId::resource_group_id(&sub, &group).to_string(),
                // A nested deployment of a subscription deployment without a group stays at
                // the subscription.
                None => format!("/subscriptions/{sub}"),
            }
        }
        None => ctx.scope_id(),
    };
    let id = ResourceId::under(&scope_id, &resource_type, &names)
        .map_err(|e| TemplateError::invalid(path, e.0))?;
    let condition = match decl.raw.get("condition") {
        None => Condition::True,
        Some(c) => {
            let cpath = join(path, "condition");
            let mut cev = plan.header_evaluator(env, copy.clone());
            cev.site = Site::ResourceBody;
            match cev.value(c, &cpath) {
                Ok(Value::Bool(true)) => Condition::True,
                Ok(Value::Bool(false)) => Condition::False,
                Ok(other) => {
                    return Err(TemplateError::invalid(
                        cpath,
                        format!(
                            "The template resource condition must be a boolean, not '{}'.",
                            crate::eval::type_name(&other)
                        ),
                    ));
                }
                Err(EvalError::Unresolved | EvalError::Pending(_)) => Condition::Deferred,
                Err(EvalError::Template(t)) => return Err(t.at(&cpath)),
            }
        }
    };
    Ok(Node {
        decl: index,
        copy,
        path: path.to_string(),
        id,
        api_version,
        condition,
        existing: decl
            .raw
            .get("existing")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        depends_on: Vec::new(),
    })
}

/// `Ns/type/name[/type/name…]` into (`Ns/type/…`, names).
fn split_relative<'a>(parts: &[&'a str]) -> (String, Vec<&'a str>) {
    let mut types = vec![parts.first().copied().unwrap_or_default()];
    let mut names = Vec::new();
    for pair in parts.get(1..).unwrap_or_default().chunks(2) {
        types.push(pair[0]);
        if let Some(n) = pair.get(1) {
            names.push(*n);
        }
    }
    (types.join("/"), names)
}
