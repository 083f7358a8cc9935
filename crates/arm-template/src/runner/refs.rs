//! `reference()` and `listKeys()` during a run, and the redaction of what a run returns.

use serde_json::{Map, Value, json};

use super::{Runner, not_found};
use crate::error::ArmError;
use crate::eval::{EvalError, EvalResult, Fetch, References, fail};
use crate::plan::{Condition, Plan};
use crate::records::DeploymentOutcome;
use crate::resource_id::ResourceId;
use crate::secure::Redactor;

/// `reference()` and `listKeys()` during a run.
pub(super) struct RunRefs<'a, 'h> {
    pub(super) plan: &'a Plan,
    pub(super) runner: &'a Runner<'h>,
}

impl References for RunRefs<'_, '_> {
    fn reference(&self, target: &str, api_version: Option<&str>, full: bool) -> EvalResult {
        let (id, default_api) = match ResourceId::parse(target) {
            Ok(id) => {
                let api = self
                    .plan
                    .find(id.as_str())
                    .first()
                    .map(|&i| self.plan.nodes[i].api_version.clone());
                (id, api)
            }
            Err(_) => match self
                .plan
                .find(target)
                .into_iter()
                .find(|&i| self.plan.nodes[i].condition != Condition::False)
            {
                Some(i) => (
                    self.plan.nodes[i].id.clone(),
                    Some(self.plan.nodes[i].api_version.clone()),
                ),
                None => {
                    return fail(format!(
                        "The template resource '{target}' is not found. Please see https://aka.ms/arm-resource-functions/#reference for usage details."
                    ));
                }
            },
        };
        let select = |body: &Value| {
            if full {
                body.clone()
            } else {
                body.get("properties").cloned().unwrap_or_else(|| json!({}))
            }
        };
        let state = self.runner.lock();
        if let Some(body) = state.deployed.get(&id.key()) {
            return Ok(select(body));
        }
        let Some(api) = api_version.map(str::to_string).or(default_api) else {
            return fail(format!(
                "The api-version is required to reference the resource '{id}', which is not deployed in this template."
            ));
        };
        match state.fetched.get(&(false, id.key(), api.clone())) {
            Some(Some(body)) => Ok(select(body)),
            Some(None) => Err(EvalError::Template(not_found(&id))),
            None => Err(EvalError::Pending(Box::new(Fetch::Get {
                id,
                api_version: api,
            }))),
        }
    }

    fn list_keys(&self, id: &str, api_version: &str) -> EvalResult {
        let Ok(id) = ResourceId::parse(id) else {
            return fail(format!(
                "Unable to evaluate template language function 'listKeys': '{id}' is not a valid resource id."
            ));
        };
        match self
            .runner
            .lock()
            .fetched
            .get(&(true, id.key(), api_version.to_string()))
        {
            Some(Some(keys)) => Ok(keys.clone()),
            _ => Err(EvalError::Pending(Box::new(Fetch::ListKeys {
                id,
                api_version: api_version.to_string(),
            }))),
        }
    }
}

/// The outcome with every secure string replaced (outputs, errors, nested outcomes).
pub(super) fn redact(mut o: DeploymentOutcome, r: &Redactor) -> DeploymentOutcome {
    if r.is_empty() {
        return o;
    }
    o.outputs = match r.value(&Value::Object(o.outputs)) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    o.parameters = r.value(&o.parameters);
    o.error = o.error.map(|e| redact_error(e, r));
    for op in &mut o.operations {
        op.error = op.error.take().map(|e| redact_error(e, r));
    }
    o.nested = o.nested.into_iter().map(|n| redact(n, r)).collect();
    o
}

fn redact_error(mut e: ArmError, r: &Redactor) -> ArmError {
    e.message = r.text(&e.message);
    e.details = e.details.into_iter().map(|d| redact_error(d, r)).collect();
    e.additional_info = e.additional_info.iter().map(|v| r.value(v)).collect();
    e
}
