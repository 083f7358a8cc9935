//! The dependency graph of a plan: explicit `dependsOn` (ids, `resourceId()` expressions,
//! names, `type/name`, copy-loop names, symbolic names), the dependencies ARM adds itself
//! (a resource declared inside another waits for it; `reference()`/`list*()` of a resource in
//! the same template waits for it; serial copy loops run in batches), duplicate ids and cycles.

use serde_json::Value;

use crate::error::TemplateError;

use crate::expr::{Expr, TemplateString, classify};
use crate::plan::{Condition, Plan, unwrap};

/// Fills `depends_on` of every node, then checks for duplicates and cycles.
pub(crate) fn link(plan: &mut Plan) -> Result<(), TemplateError> {
    let env = plan.env();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); plan.nodes.len()];
    for (i, node) in plan.nodes.iter().enumerate() {
        let decl = &plan.template.resources[node.decl];
        let ev = plan.header_evaluator(&env, node.copy.clone());
        if let Some(Value::Array(entries)) = decl.raw.get("dependsOn") {
            for (k, entry) in entries.iter().enumerate() {
                let epath = format!("{}.dependsOn[{k}]", node.path);
                let lenient = plan.strictness == crate::params::Strictness::Lenient;
                let target = match ev.value(entry, &epath).map_err(|e| unwrap(e, &epath)) {
                    Ok(Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(_) if lenient => continue,
                    Err(e) => return Err(e),
                };
                let found = plan.find(&target);
                if found.is_empty() {
                    if lenient {
                        continue;
                    }
                    return Err(TemplateError::DependencyNotFound {
                        path: epath,
                        target,
                    });
                }
                edges[i].extend(found.into_iter().filter(|&j| j != i));
            }
        }
        if let Some(parent) = decl.parent {
            edges[i].extend(
                plan.nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.decl == parent)
                    .map(|(j, _)| j),
            );
        }
        // Implicit dependencies: reference()/list*() whose target evaluates (without state)
        // to a resource of this template.
        let mut targets = Vec::new();
        for (key, value) in &decl.raw {
            if matches!(
                key.as_str(),
                "dependsOn" | "copy" | "name" | "type" | "apiVersion"
            ) {
                continue;
            }
            let skip_template = node.is_deployment() && inner_scope(&decl.raw);
            collect_reference_targets(value, key == "properties" && skip_template, &mut targets);
        }
        for arg in targets {
            if let Ok(Value::String(target)) = ev.expr(&arg) {
                edges[i].extend(plan.find(&target).into_iter().filter(|&j| j != i));
            }
        }
    }
    serial_batches(plan, &mut edges);
    for (node, mut deps) in plan.nodes.iter_mut().zip(edges) {
        deps.sort_unstable();
        deps.dedup();
        node.depends_on = deps;
    }
    duplicates(plan)?;
    cycles(plan)
}

/// Whether a nested deployment evaluates its template in its own (`inner`) scope.
pub(crate) fn inner_scope(raw: &serde_json::Map<String, Value>) -> bool {
    raw.get("properties")
        .and_then(|p| p.get("expressionEvaluationOptions"))
        .and_then(|o| o.get("scope"))
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("inner"))
}

/// First arguments of `reference`/`list*` calls anywhere in `v`. With `skip_template`, the
/// `template` member of `v` (an inner-scope nested template) is not searched.
fn collect_reference_targets(v: &Value, skip_template: bool, out: &mut Vec<Expr>) {
    match v {
        Value::String(s) => {
            if let Ok(TemplateString::Expression(e)) = classify(s) {
                for (name, args) in e.calls() {
                    let lower = name.to_ascii_lowercase();
                    if (lower == "reference" || lower.starts_with("list"))
                        && let Some(first) = args.first()
                    {
                        out.push(first.clone());
                    }
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|i| collect_reference_targets(i, false, out)),
        Value::Object(map) => {
            for (k, item) in map {
                if skip_template && k == "template" {
                    continue;
                }
                collect_reference_targets(item, false, out);
            }
        }
        _ => {}
    }
}

fn serial_batches(plan: &Plan, edges: &mut [Vec<usize>]) {
    for (i, node) in plan.nodes.iter().enumerate() {
        let Some((_, index)) = &node.copy else {
            continue;
        };
        let copy = &plan.template.resources[node.decl].raw["copy"];
        let serial = copy
            .get("mode")
            .and_then(Value::as_str)
            .is_some_and(|m| m.eq_ignore_ascii_case("serial"));
        if !serial {
            continue;
        }
        let batch = copy
            .get("batchSize")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .max(1);
        let my_batch = index / batch;
        if my_batch == 0 {
            continue;
        }
        for (j, other) in plan.nodes.iter().enumerate() {
            if other.decl == node.decl
                && other
                    .copy
                    .as_ref()
                    .is_some_and(|(_, k)| k / batch == my_batch - 1)
            {
                edges[i].push(j);
            }
        }
    }
}

fn duplicates(plan: &Plan) -> Result<(), TemplateError> {
    let mut seen = std::collections::BTreeSet::new();
    for n in &plan.nodes {
        if n.condition == Condition::False || n.existing {
            continue;
        }
        if !seen.insert(n.id.key()) {
            return Err(TemplateError::DuplicateResource {
                id: n.id.to_string(),
            });
        }
    }
    Ok(())
}

fn cycles(plan: &Plan) -> Result<(), TemplateError> {
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; plan.nodes.len()];
    let mut stack = Vec::new();
    for start in 0..plan.nodes.len() {
        if state[start] == 0
            && let Some(cycle) = visit(plan, start, &mut state, &mut stack)
        {
            let names: Vec<String> = cycle
                .iter()
                .map(|&i| format!("'{}'", plan.nodes[i].id))
                .collect();
            return Err(TemplateError::CircularDependency {
                resources: names.join(", "),
            });
        }
    }
    Ok(())
}

fn visit(plan: &Plan, i: usize, state: &mut [u8], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
    state[i] = 1;
    stack.push(i);
    for &d in &plan.nodes[i].depends_on {
        if state[d] == 1 {
            let from = stack.iter().position(|&s| s == d).unwrap_or(0);
            return Some(stack[from..].to_vec());
        }
        if state[d] == 0
            && let Some(c) = visit(plan, d, state, stack)
        {
            return Some(c);
        }
    }
    stack.pop();
    state[i] = 2;
    None
}

/// The `dependencies` array of a deployment record (ARM's `properties.dependencies`).
pub(crate) fn dependencies_json(plan: &Plan) -> Value {
    let entry = |i: usize| {
        let n = &plan.nodes[i];
        serde_json::json!({"id": n.id.as_str(), "resourceType": n.id.resource_type(), "resourceName": n.id.name()})
    };
    Value::Array(
        plan.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.depends_on.is_empty())
            .map(|(i, n)| {
                let mut e = entry(i);
                e["dependsOn"] = Value::Array(n.depends_on.iter().map(|&d| entry(d)).collect());
                e
            })
            .collect(),
    )
}
