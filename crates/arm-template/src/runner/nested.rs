//! Nested deployments (`Microsoft.Resources/deployments` inside a template): parameters
//! evaluated in the parent (`inner` scope) or the parent's scope reused (`outer`), the target
//! group (another group's location is read from the host), and the run itself.

use serde_json::{Map, Value, json};

use super::{NodeError, Runner};
use crate::error::TemplateError;
use crate::eval::{Site, join};
use crate::plan::{Plan, plan};
use crate::records::{DeploymentOutcome, ProvisioningState};
use crate::resource_id::ResourceId;

impl Runner<'_> {
    pub(super) async fn run_nested(
        &self,
        plan: &Plan,
        i: usize,
    ) -> Result<DeploymentOutcome, NodeError> {
        let node = &plan.nodes[i];
        let decl = &plan.template.resources[node.decl];
        let ppath = join(&node.path, "properties");
        let properties = decl.raw.get("properties").cloned().unwrap_or(Value::Null);
        let child = self.child_plan(plan, node, &properties, &ppath).await?;
        let outcome = self.run_plan(&child).await;
        let body = json!({
            "id": node.id.as_str(),
            "name": node.id.last_name(),
            "type": crate::plan::DEPLOYMENTS,
            "properties": outcome.properties(),
        });
        self.lock().deployed.insert(node.id.key(), body);
        if outcome.provisioning_state == ProvisioningState::Failed {
            return Err(NodeError::Nested(Box::new(outcome)));
        }
        Ok(outcome)
    }

    /// The plan of a nested deployment: its template, parameters (evaluated in the parent's
    /// scope for `inner`, the parent's own scope for `outer`) and target group.
    async fn child_plan(
        &self,
        plan: &Plan,
        node: &crate::plan::Node,
        properties: &Value,
        ppath: &str,
    ) -> Result<Plan, TemplateError> {
        let copy = node.copy.clone();
        let header = |key: &str| properties.get(key).cloned().unwrap_or(Value::Null);
        if !header("templateLink").is_null() {
            return Err(TemplateError::Unsupported {
                code: "InvalidTemplate",
                message: format!(
                    "The nested deployment '{}' uses 'templateLink'; only inline 'template' is supported.",
                    node.id.last_name()
                ),
            });
        }
        let mode_raw = header("mode");
        let mpath = join(ppath, "mode");
        let mode = self
            .evaluate(plan, copy.clone(), Site::ResourceBody, |ev| {
                ev.value(&mode_raw, &mpath)
            })
            .await?;
        crate::deployment::check_mode(mode.as_str().unwrap_or("Incremental"))?;
        let inner = crate::graph::inner_scope(&plan.template.resources[node.decl].raw);
        let supplied = if inner {
            let raw = header("parameters");
            let path = join(ppath, "parameters");
            match self
                .evaluate(plan, copy, Site::ResourceBody, |ev| ev.value(&raw, &path))
                .await?
            {
                Value::Object(m) => m,
                Value::Null => Map::new(),
                _ => {
                    return Err(TemplateError::invalid(
                        path,
                        "The nested deployment 'parameters' must be an object.",
                    ));
                }
            }
        } else {
            Map::new()
        };
        let template =
            crate::template::Template::parse_at(&header("template"), &join(ppath, "template"))?;
        let ctx = self.child_context(plan, node).await?;
        plan_child(template, &supplied, ctx, inner, &plan.scope)
    }

    async fn child_context(
        &self,
        plan: &Plan,
        node: &crate::plan::Node,
    ) -> Result<crate::context::DeploymentContext, TemplateError> {
        let mut ctx = plan.ctx.clone();
        ctx.deployment_name = node.id.last_name().to_string();
        let subscription = node
            .id
            .subscription_id()
            .unwrap_or(&plan.ctx.subscription_id)
            .to_string();
        let Some(group) = node.id.resource_group().map(str::to_string) else {
            // A nested deployment at subscription scope (of a subscription deployment).
            ctx.subscription_id = subscription;
            ctx.at_subscription = true;
            ctx.resource_group.name = String::new();
            return Ok(ctx);
        };
        let same = !ctx.at_subscription
            && subscription.eq_ignore_ascii_case(&ctx.subscription_id)
            && group.eq_ignore_ascii_case(&ctx.resource_group.name);
        if !same {
            let id = ResourceId::resource_group_id(&subscription, &group);
            let found = self
                .host
                .get(&id, "2022-09-01")
                .await
                .map_err(TemplateError::Host)?;
            let Some(body) = found else {
                return Err(TemplateError::Unsupported {
                    code: "ResourceGroupNotFound",
                    message: format!("Resource group '{group}' could not be found."),
                });
            };
            ctx.subscription_id = subscription;
            ctx.at_subscription = false;
            ctx.resource_group.name = group;
            ctx.resource_group.location = body
                .get("location")
                .and_then(Value::as_str)
                .unwrap_or(&plan.ctx.resource_group.location)
                .to_string();
        }
        Ok(ctx)
    }
}

fn plan_child(
    template: crate::template::Template,
    supplied: &Map<String, Value>,
    ctx: crate::context::DeploymentContext,
    inner: bool,
    parent: &crate::params::Scope,
) -> Result<Plan, TemplateError> {
    let outer = (!inner).then_some(parent);
    plan(
        std::sync::Arc::new(template),
        supplied,
        ctx,
        crate::params::Strictness::Strict,
        outer,
    )
}
