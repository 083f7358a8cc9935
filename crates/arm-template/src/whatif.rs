//! What-if: evaluates every resource against the host's current state (`get` only, nothing is
//! written) and reports `Create`, `Modify` (with a property-level delta), `NoChange` or
//! `Ignore`. Values that depend on resources this deployment has not created yet (a
//! `reference()` to one of its own resources) stay as their expression text, as ARM shows them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::error::TemplateError;
use crate::eval::{EvalError, EvalResult, Evaluator, Fetch, Loops, References, Site, join};
use crate::host::ResourceHost;
use crate::params::Strictness;
use crate::plan::{Condition, Plan};
use crate::resource_id::ResourceId;
use crate::secure::Redactor;

/// One resource's predicted change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The resource does not exist and would be created.
    Create,
    /// The resource exists and some properties would change.
    Modify,
    /// The resource exists and would not change.
    NoChange,
    /// The host cannot say (it answered the read with an error).
    Ignore,
}

/// A property's predicted change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyChangeType {
    /// The property is new.
    Create,
    /// The property's value changes.
    Modify,
    /// An array property changes.
    Array,
}

/// One property delta: dotted path, value before and after.
#[derive(Clone, Debug, PartialEq)]
pub struct PropertyChange {
    /// `properties.encryption.keySource`.
    pub path: String,
    /// Kind of change.
    pub change_type: PropertyChangeType,
    /// Before (absent for `Create`).
    pub before: Option<Value>,
    /// After.
    pub after: Option<Value>,
}

/// One resource in a what-if answer.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIfChange {
    /// The resource.
    pub resource_id: ResourceId,
    /// What would happen.
    pub change_type: ChangeType,
    /// The resource now (secure values redacted).
    pub before: Option<Value>,
    /// The resource as predicted (secure values redacted).
    pub after: Option<Value>,
    /// Property changes, for `Modify`.
    pub delta: Vec<PropertyChange>,
}

/// A what-if answer.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIfResult {
    /// Every resource of the deployment and its nested deployments.
    pub changes: Vec<WhatIfChange>,
}

impl WhatIfResult {
    /// ARM's body: `{"status":"Succeeded","properties":{"changes":[…]}}`.
    pub fn to_json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                let delta: Vec<Value> = c
                    .delta
                    .iter()
                    .map(|d| {
                        json!({
                            "path": d.path,
                            "propertyChangeType": format!("{:?}", d.change_type),
                            "before": d.before,
                            "after": d.after,
                        })
                    })
                    .collect();
                json!({
                    "resourceId": c.resource_id.as_str(),
                    "changeType": format!("{:?}", c.change_type),
                    "before": c.before,
                    "after": c.after,
                    "delta": delta,
                })
            })
            .collect();
        json!({"status": "Succeeded", "properties": {"changes": changes}})
    }
}

pub(crate) async fn what_if(
    top: &Plan,
    host: &dyn ResourceHost,
) -> Result<WhatIfResult, TemplateError> {
    let w = WhatIf {
        host,
        fetched: Mutex::new(HashMap::new()),
        redactor: Mutex::new(Redactor::default()),
    };
    let mut changes = Vec::new();
    let planned = w.plan(top, &mut changes).await;
    let r = w
        .redactor
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    planned.map_err(|e| e.redacted(&r))?;
    for c in &mut changes {
        c.before = c.before.as_ref().map(|v| r.value(v));
        c.after = c.after.as_ref().map(|v| r.value(v));
        for d in &mut c.delta {
            d.before = d.before.as_ref().map(|v| r.value(v));
            d.after = d.after.as_ref().map(|v| r.value(v));
        }
    }
    Ok(WhatIfResult { changes })
}

struct WhatIf<'h> {
    host: &'h dyn ResourceHost,
    fetched: Mutex<HashMap<String, Option<Value>>>,
    redactor: Mutex<Redactor>,
}

impl WhatIf<'_> {
    fn plan<'a>(
        &'a self,
        plan: &'a Plan,
        out: &'a mut Vec<WhatIfChange>,
    ) -> Pin<Box<dyn Future<Output = Result<(), TemplateError>> + Send + 'a>> {
        Box::pin(async move {
            self.redactor
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(&plan.scope.redactor);
            for node in &plan.nodes {
                let decl = &plan.template.resources[node.decl];
                if node.condition == Condition::False || node.existing {
                    continue;
                }
                if node.condition == Condition::Deferred {
                    let raw = decl
                        .raw
                        .get("condition")
                        .cloned()
                        .unwrap_or(Value::Bool(true));
                    let cpath = join(&node.path, "condition");
                    if self
                        .evaluate(plan, node.copy.clone(), |ev| ev.value(&raw, &cpath))
                        .await?
                        == Value::Bool(false)
                    {
                        continue;
                    }
                }
                if node.is_deployment() {
                    let properties = decl.raw.get("properties").cloned().unwrap_or(Value::Null);
                    let ppath = join(&node.path, "properties");
                    let inner = crate::graph::inner_scope(&decl.raw);
                    let supplied = if inner {
                        let raw = properties.get("parameters").cloned().unwrap_or(Value::Null);
                        let path = join(&ppath, "parameters");
                        match self
                            .evaluate(plan, node.copy.clone(), |ev| ev.value(&raw, &path))
                            .await?
                        {
                            Value::Object(m) => m,
                            _ => Map::new(),
                        }
                    } else {
                        Map::new()
                    };
                    let template = crate::template::Template::parse_at(
                        properties.get("template").unwrap_or(&Value::Null),
                        &join(&ppath, "template"),
                    )?;
                    let mut ctx = plan.ctx.clone();
                    ctx.deployment_name = node.id.last_name().to_string();
                    match (node.id.subscription_id(), node.id.resource_group()) {
                        (Some(s), Some(g)) => {
                            ctx.subscription_id = s.to_string();
                            ctx.resource_group.name = g.to_string();
                            ctx.at_subscription = false;
                        }
                        (Some(s), None) => {
                            ctx.subscription_id = s.to_string();
                            ctx.resource_group.name = String::new();
                            ctx.at_subscription = true;
                        }
                        _ => {}
                    }
                    let child = crate::plan::plan(
                        std::sync::Arc::new(template),
                        &supplied,
                        ctx,
                        Strictness::Lenient,
                        (!inner).then_some(&plan.scope),
                    )?;
                    self.plan(&child, out).await?;
                    continue;
                }
                let body_raw: Map<String, Value> = decl
                    .raw
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "type"
                                | "apiVersion"
                                | "name"
                                | "dependsOn"
                                | "copy"
                                | "condition"
                                | "comments"
                                | "existing"
                                | "scope"
                                | "metadata"
                        )
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let raw = Value::Object(body_raw);
                let body = self
                    .evaluate(plan, node.copy.clone(), |ev| ev.value(&raw, &node.path))
                    .await?;
                out.push(self.change(node, body).await);
            }
            Ok(())
        })
    }

    async fn change(&self, node: &crate::plan::Node, body: Value) -> WhatIfChange {
        let mut after = json!({"id": node.id.as_str(), "name": node.id.last_name(), "type": node.id.resource_type()});
        merge(&mut after, &body);
        match self.host.get(&node.id, &node.api_version).await {
            Err(_) => WhatIfChange {
                resource_id: node.id.clone(),
                change_type: ChangeType::Ignore,
                before: None,
                after: None,
                delta: Vec::new(),
            },
            Ok(None) => WhatIfChange {
                resource_id: node.id.clone(),
                change_type: ChangeType::Create,
                before: None,
                after: Some(after),
                delta: Vec::new(),
            },
            Ok(Some(before)) => {
                let mut delta = Vec::new();
                diff("", Some(&before), &body, &mut delta);
                let mut predicted = before.clone();
                merge(&mut predicted, &body);
                WhatIfChange {
                    resource_id: node.id.clone(),
                    change_type: if delta.is_empty() {
                        ChangeType::NoChange
                    } else {
                        ChangeType::Modify
                    },
                    before: Some(before),
                    after: Some(predicted),
                    delta,
                }
            }
        }
    }

    async fn evaluate(
        &self,
        plan: &Plan,
        copy: Option<(String, i64)>,
        f: impl Fn(&Evaluator<'_>) -> EvalResult,
    ) -> Result<Value, TemplateError> {
        for _ in 0..256 {
            let step = {
                let env = plan.env();
                let refs = WhatIfRefs {
                    plan,
                    fetched: &self.fetched,
                };
                let ev = Evaluator {
                    env: &env,
                    names: &plan.scope,
                    refs: &refs,
                    site: Site::ResourceBody,
                    loops: Loops {
                        resource: copy.clone(),
                        properties: Vec::new(),
                    },
                    lenient: true,
                };
                f(&ev)
            };
            match step {
                Ok(v) => return Ok(v),
                Err(EvalError::Template(e)) => return Err(e),
                Err(EvalError::Unresolved) => return Ok(Value::Null),
                Err(EvalError::Pending(fetch)) if matches!(*fetch, Fetch::Get { .. }) => {
                    let Fetch::Get { id, api_version } = *fetch else {
                        continue;
                    };
                    let got = self
                        .host
                        .get(&id, &api_version)
                        .await
                        .map_err(TemplateError::Host)?;
                    self.fetched
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(format!("{}|{api_version}", id.key()), got);
                }
                Err(EvalError::Pending(_)) => return Ok(Value::Null),
            }
        }
        Err(TemplateError::eval(
            "The expression needs too many resource reads.",
        ))
    }
}

struct WhatIfRefs<'a> {
    plan: &'a Plan,
    fetched: &'a Mutex<HashMap<String, Option<Value>>>,
}

impl References for WhatIfRefs<'_> {
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> EvalResult {
        // A resource of this template is read as it is now; one that does not exist yet leaves
        // the expression unevaluated.
        let ours = self
            .plan
            .find(target)
            .into_iter()
            .find(|&i| self.plan.nodes[i].condition != Condition::False);
        let (id, api) = match (ours, ResourceId::parse(target)) {
            (Some(i), _) => {
                let n = &self.plan.nodes[i];
                (
                    n.id.clone(),
                    api_version.map_or_else(|| n.api_version.clone(), str::to_string),
                )
            }
            (None, Ok(id)) => match api_version {
                Some(api) => (id, api.to_string()),
                None => return Err(EvalError::Unresolved),
            },
            (None, Err(_)) => return Err(EvalError::Unresolved),
        };
        let key = format!("{}|{api}", id.key());
        match self
            .fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            Some(Some(body)) => Ok(if full {
                body.clone()
            } else {
                body.get("properties").cloned().unwrap_or_else(|| json!({}))
            }),
            Some(None) => Err(EvalError::Unresolved),
            None => Err(EvalError::Pending(Box::new(Fetch::Get {
                id,
                api_version: api,
            }))),
        }
    }

    fn list_keys(&self, _: &str, _: &str) -> EvalResult {
        Err(EvalError::Unresolved)
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(dst), Value::Object(src)) => {
            for (k, v) in src {
                match dst.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        dst.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (dst, src) => *dst = src.clone(),
    }
}

fn same(path: &str, a: &Value, b: &Value) -> bool {
    if path == "location" {
        let norm = |v: &Value| v.as_str().map(|s| s.replace(' ', "").to_ascii_lowercase());
        return norm(a) == norm(b);
    }
    a == b
}

fn diff(path: &str, before: Option<&Value>, after: &Value, out: &mut Vec<PropertyChange>) {
    match (before, after) {
        (Some(Value::Object(b)), Value::Object(a)) => {
            for (k, v) in a {
                diff(
                    &join(path, k),
                    b.get(k).or_else(|| {
                        b.iter()
                            .find(|(bk, _)| bk.eq_ignore_ascii_case(k))
                            .map(|(_, v)| v)
                    }),
                    v,
                    out,
                );
            }
        }
        (None, a) => out.push(PropertyChange {
            path: path.into(),
            change_type: PropertyChangeType::Create,
            before: None,
            after: Some(a.clone()),
        }),
        (Some(b), a) if !same(path, b, a) => out.push(PropertyChange {
            path: path.into(),
            change_type: if a.is_array() {
                PropertyChangeType::Array
            } else {
                PropertyChangeType::Modify
            },
            before: Some(b.clone()),
            after: Some(a.clone()),
        }),
        _ => {}
    }
}
