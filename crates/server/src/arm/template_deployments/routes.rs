//! `Microsoft.Resources/deployments` paths: the route type, its parser and the permission each
//! route declares (ARM's own actions, authorized at the deployment's scope).
//!
//! Paths, at resource-group and at subscription scope:
//! `…/providers/Microsoft.Resources/deployments[/{name}[/validate|whatIf|exportTemplate|cancel|
//! operations[/{id}]|operationStatuses/{id}]]`, and the older
//! `…/resourcegroups/{rg}/deployments/{name}/operations[/{id}]` that the SDKs still send for
//! deployment operations.

use axum::http::Method;

use crate::arm::routes::ResourceOp;
use crate::arm::routes_parse::eq;
use crate::http::RouteError;
use crate::http::authz::{Access, Scope};

/// Where a deployment lives: a resource group, or the subscription itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentScope {
    /// Subscription id as sent.
    pub subscription: String,
    /// Resource group; `None` for a subscription-scope deployment.
    pub resource_group: Option<String>,
}

impl DeploymentScope {
    /// `/resourceGroups/{rg}` or empty: the scope after `/subscriptions/{s}`.
    pub fn rest(&self) -> String {
        self.resource_group
            .as_ref()
            .map_or_else(String::new, |rg| format!("/resourceGroups/{rg}"))
    }

    /// The rest of a deployment's id after `/subscriptions/{s}`.
    pub fn deployment_rest(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.Resources/deployments/{name}",
            self.rest()
        )
    }
}

/// A POST action on one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentAction {
    /// `POST …/validate`: preflight.
    Validate,
    /// `POST …/whatIf`: predicted changes.
    WhatIf,
    /// `POST …/exportTemplate`: the template it ran.
    ExportTemplate,
    /// `POST …/cancel`: stops a running deployment.
    Cancel,
}

/// A `Microsoft.Resources/deployments` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentsRoute {
    /// `GET …/deployments`
    List {
        /// Where.
        scope: DeploymentScope,
    },
    /// `GET|HEAD|PUT|DELETE …/deployments/{name}`
    Deployment {
        /// Where.
        scope: DeploymentScope,
        /// Deployment name.
        name: String,
        /// Operation.
        op: ResourceOp,
    },
    /// `POST …/deployments/{name}/{action}`
    Action {
        /// Where.
        scope: DeploymentScope,
        /// Deployment name.
        name: String,
        /// Which action.
        action: DeploymentAction,
    },
    /// `GET …/deployments/{name}/operations`
    ListOperations {
        /// Where.
        scope: DeploymentScope,
        /// Deployment name.
        name: String,
    },
    /// `GET …/deployments/{name}/operations/{id}`
    Operation {
        /// Where.
        scope: DeploymentScope,
        /// Deployment name.
        name: String,
        /// Operation id.
        id: String,
    },
    /// `GET …/deployments/{name}/operationStatuses/{id}`: the `Azure-AsyncOperation` record.
    Status {
        /// Where.
        scope: DeploymentScope,
        /// Deployment name.
        name: String,
        /// Operation id.
        id: String,
    },
}

const DEPLOYMENT_METHODS: &str = "GET, HEAD, PUT, DELETE";

fn method_is(method: &Method, wanted: Method, allow: &'static str) -> Result<(), RouteError> {
    if *method == wanted {
        Ok(())
    } else {
        Err(RouteError::MethodNotAllowed(allow))
    }
}

/// Parses a deployments path (segments in their original case); `None` when the path is not
/// one.
pub fn parse(method: &Method, segments: &[&str]) -> Option<Result<DeploymentsRoute, RouteError>> {
    let (scope, rest) = match segments {
        [subs, s, rgs, rg, p, ns, d, rest @ ..]
            if eq(subs, "subscriptions")
                && eq(rgs, "resourcegroups")
                && eq(p, "providers")
                && eq(ns, "Microsoft.Resources")
                && eq(d, "deployments") =>
        {
            (scope(s, Some(rg)), rest)
        }
        [subs, s, p, ns, d, rest @ ..]
            if eq(subs, "subscriptions")
                && eq(p, "providers")
                && eq(ns, "Microsoft.Resources")
                && eq(d, "deployments") =>
        {
            (scope(s, None), rest)
        }
        // The older operations path (no `providers/Microsoft.Resources`).
        [subs, s, rgs, rg, d, rest @ ..]
            if eq(subs, "subscriptions")
                && eq(rgs, "resourcegroups")
                && eq(d, "deployments")
                && matches!(rest, [_, o, ..] if eq(o, "operations")) =>
        {
            (scope(s, Some(rg)), rest)
        }
        _ => return None,
    };
    Some(parse_rest(method, scope, rest))
}

fn scope(subscription: &str, group: Option<&&str>) -> DeploymentScope {
    DeploymentScope {
        subscription: subscription.to_owned(),
        resource_group: group.map(|g| (*g).to_owned()),
    }
}

fn parse_rest(
    method: &Method,
    scope: DeploymentScope,
    rest: &[&str],
) -> Result<DeploymentsRoute, RouteError> {
    let name = |n: &&str| (*n).to_owned();
    match rest {
        [] => method_is(method, Method::GET, "GET").map(|()| DeploymentsRoute::List { scope }),
        [n] => {
            let op = match *method {
                Method::GET => ResourceOp::Get,
                Method::HEAD => ResourceOp::Head,
                Method::PUT => ResourceOp::Put,
                Method::DELETE => ResourceOp::Delete,
                _ => return Err(RouteError::MethodNotAllowed(DEPLOYMENT_METHODS)),
            };
            Ok(DeploymentsRoute::Deployment {
                scope,
                name: name(n),
                op,
            })
        }
        [n, a] if eq(a, "operations") => {
            method_is(method, Method::GET, "GET").map(|()| DeploymentsRoute::ListOperations {
                scope,
                name: name(n),
            })
        }
        [n, a, id] if eq(a, "operations") => {
            method_is(method, Method::GET, "GET").map(|()| DeploymentsRoute::Operation {
                scope,
                name: name(n),
                id: name(id),
            })
        }
        [n, a, id] if eq(a, "operationStatuses") => {
            method_is(method, Method::GET, "GET").map(|()| DeploymentsRoute::Status {
                scope,
                name: name(n),
                id: name(id),
            })
        }
        [n, a] => {
            let action = if eq(a, "validate") {
                DeploymentAction::Validate
            } else if eq(a, "whatIf") {
                DeploymentAction::WhatIf
            } else if eq(a, "exportTemplate") {
                DeploymentAction::ExportTemplate
            } else if eq(a, "cancel") {
                DeploymentAction::Cancel
            } else {
                return Err(RouteError::NotFound);
            };
            method_is(method, Method::POST, "POST").map(|()| DeploymentsRoute::Action {
                scope,
                name: name(n),
                action,
            })
        }
        _ => Err(RouteError::NotFound),
    }
}

impl DeploymentsRoute {
    /// The deployment's scope.
    pub fn scope(&self) -> &DeploymentScope {
        match self {
            DeploymentsRoute::List { scope }
            | DeploymentsRoute::Deployment { scope, .. }
            | DeploymentsRoute::Action { scope, .. }
            | DeploymentsRoute::ListOperations { scope, .. }
            | DeploymentsRoute::Operation { scope, .. }
            | DeploymentsRoute::Status { scope, .. } => scope,
        }
    }

    /// The route's kind.
    pub fn kind(&self) -> crate::arm::permissions::ArmRouteKind {
        use crate::arm::permissions::ArmRouteKind as K;
        match self {
            DeploymentsRoute::List { .. } => K::ListTemplateDeployments,
            DeploymentsRoute::Deployment { .. } => K::TemplateDeployment,
            DeploymentsRoute::Action { action, .. } => match action {
                DeploymentAction::Validate => K::ValidateDeployment,
                DeploymentAction::WhatIf => K::WhatIfDeployment,
                DeploymentAction::ExportTemplate => K::ExportDeploymentTemplate,
                DeploymentAction::Cancel => K::CancelDeployment,
            },
            DeploymentsRoute::ListOperations { .. } => K::ListDeploymentOperations,
            DeploymentsRoute::Operation { .. } => K::DeploymentOperation,
            DeploymentsRoute::Status { .. } => K::DeploymentOperationStatus,
        }
    }

    /// ARM's action for the route, at the deployment's own scope (the group or subscription
    /// for a list).
    pub fn access(&self) -> Access {
        let scope = self.scope();
        let (action, rest) = match self {
            DeploymentsRoute::List { .. } => ("Microsoft.Resources/deployments/read", scope.rest()),
            DeploymentsRoute::Deployment { name, op, .. } => (
                match op {
                    ResourceOp::Get | ResourceOp::Head => "Microsoft.Resources/deployments/read",
                    ResourceOp::Put | ResourceOp::Patch => "Microsoft.Resources/deployments/write",
                    ResourceOp::Delete => "Microsoft.Resources/deployments/delete",
                },
                scope.deployment_rest(name),
            ),
            DeploymentsRoute::Action { name, action, .. } => (
                match action {
                    DeploymentAction::Validate => "Microsoft.Resources/deployments/validate/action",
                    DeploymentAction::WhatIf => "Microsoft.Resources/deployments/whatIf/action",
                    DeploymentAction::ExportTemplate => {
                        "Microsoft.Resources/deployments/exportTemplate/action"
                    }
                    DeploymentAction::Cancel => "Microsoft.Resources/deployments/cancel/action",
                },
                scope.deployment_rest(name),
            ),
            DeploymentsRoute::ListOperations { name, .. }
            | DeploymentsRoute::Operation { name, .. } => (
                "Microsoft.Resources/deployments/operations/read",
                scope.deployment_rest(name),
            ),
            DeploymentsRoute::Status { name, .. } => (
                "Microsoft.Resources/deployments/operationstatuses/read",
                scope.deployment_rest(name),
            ),
        };
        Access::Action {
            action,
            scope: Scope::subscription(&scope.subscription, rest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<Result<DeploymentsRoute, RouteError>>;

    fn run(method: Method, path: &str) -> Parsed {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        parse(&method, &segments)
    }

    #[test]
    fn deployment_paths() {
        let rg = || DeploymentScope {
            subscription: "s1".into(),
            resource_group: Some("My-RG".into()),
        };
        let sub = || DeploymentScope {
            subscription: "s1".into(),
            resource_group: None,
        };
        let base =
            "/subscriptions/s1/resourcegroups/My-RG/providers/Microsoft.Resources/deployments";
        let sbase = "/subscriptions/s1/providers/microsoft.resources/Deployments";
        let rows: Vec<(Method, String, Parsed)> = vec![
            (
                Method::GET,
                base.into(),
                Some(Ok(DeploymentsRoute::List { scope: rg() })),
            ),
            (
                Method::GET,
                sbase.into(),
                Some(Ok(DeploymentsRoute::List { scope: sub() })),
            ),
            (
                Method::POST,
                base.into(),
                Some(Err(RouteError::MethodNotAllowed("GET"))),
            ),
            (
                Method::PUT,
                format!("{base}/Main"),
                Some(Ok(DeploymentsRoute::Deployment {
                    scope: rg(),
                    name: "Main".into(),
                    op: ResourceOp::Put,
                })),
            ),
            (
                Method::HEAD,
                format!("{sbase}/d"),
                Some(Ok(DeploymentsRoute::Deployment {
                    scope: sub(),
                    name: "d".into(),
                    op: ResourceOp::Head,
                })),
            ),
            (
                Method::PATCH,
                format!("{base}/d"),
                Some(Err(RouteError::MethodNotAllowed(DEPLOYMENT_METHODS))),
            ),
            (
                Method::POST,
                format!("{base}/d/validate"),
                Some(Ok(DeploymentsRoute::Action {
                    scope: rg(),
                    name: "d".into(),
                    action: DeploymentAction::Validate,
                })),
            ),
            (
                Method::POST,
                format!("{base}/d/WHATIF"),
                Some(Ok(DeploymentsRoute::Action {
                    scope: rg(),
                    name: "d".into(),
                    action: DeploymentAction::WhatIf,
                })),
            ),
            (
                Method::POST,
                format!("{sbase}/d/exportTemplate"),
                Some(Ok(DeploymentsRoute::Action {
                    scope: sub(),
                    name: "d".into(),
                    action: DeploymentAction::ExportTemplate,
                })),
            ),
            (
                Method::POST,
                format!("{base}/d/cancel"),
                Some(Ok(DeploymentsRoute::Action {
                    scope: rg(),
                    name: "d".into(),
                    action: DeploymentAction::Cancel,
                })),
            ),
            (
                Method::GET,
                format!("{base}/d/cancel"),
                Some(Err(RouteError::MethodNotAllowed("POST"))),
            ),
            (
                Method::POST,
                format!("{base}/d/nothing"),
                Some(Err(RouteError::NotFound)),
            ),
            (
                Method::GET,
                format!("{base}/d/operations"),
                Some(Ok(DeploymentsRoute::ListOperations {
                    scope: rg(),
                    name: "d".into(),
                })),
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups/My-RG/deployments/d/operations/ABC".into(),
                Some(Ok(DeploymentsRoute::Operation {
                    scope: rg(),
                    name: "d".into(),
                    id: "ABC".into(),
                })),
            ),
            (
                Method::GET,
                format!("{sbase}/d/operationStatuses/op1"),
                Some(Ok(DeploymentsRoute::Status {
                    scope: sub(),
                    name: "d".into(),
                    id: "op1".into(),
                })),
            ),
            (
                Method::GET,
                format!("{base}/d/operationStatuses"),
                Some(Err(RouteError::NotFound)),
            ),
            // Not deployments at all.
            (
                "GET".parse().unwrap(),
                "/subscriptions/s1/resourcegroups/rg".into(),
                None,
            ),
            (
                Method::GET,
                "/subscriptions/s1/resourcegroups/rg/deployments/d".into(),
                None,
            ),
            (
                Method::GET,
                "/subscriptions/s1/providers/Microsoft.KeyVault/vaults".into(),
                None,
            ),
        ];
        for (method, path, expected) in rows {
            assert_eq!(run(method.clone(), &path), expected, "{method} {path}");
        }
    }
}
