//! The Microsoft Graph paths keyhold answers (`/v1.0/…` and `/beta/…` on the service host,
//! including `graph.localhost:{port}`), parsed into [`GraphRoute`], with each route's kind
//! and access.
//!
//! Access (SECURITY.md, rule 9): every route answers for the caller's own tenant only (a
//! Graph token names its tenant; nothing here takes a tenant from the path). Reads are open
//! to any principal of the tenant, as Entra gives applications holding `Directory.Read.All`;
//! secrets are never readable (only their hints). Writes need the directory's own actions
//! (`Keyhold.Directory/servicePrincipals/write|delete`) at the caller's tenant scope.

use axum::http::Method;

use crate::http::RouteError;
use crate::http::auth::Api;
use crate::http::authz::{Access, Scope};

/// A parsed Graph request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphRoute {
    /// `GET /me`: for an application token Graph answers that `/me` needs a user.
    Me,
    /// `GET /organization`: the caller's tenant.
    Organization,
    /// `GET /users`: keyhold has no users (always an empty list).
    ListUsers,
    /// `GET /servicePrincipals` with `$filter`, `$select`, `$top`.
    ListServicePrincipals,
    /// `POST /servicePrincipals` `{"appId"}`: the service principal of an application.
    CreateServicePrincipal,
    /// `GET|DELETE /servicePrincipals/{id}`
    ServicePrincipal {
        /// Object id as sent.
        id: String,
        /// True for DELETE.
        delete: bool,
    },
    /// `GET /applications` with `$filter`, `$select`, `$top`.
    ListApplications,
    /// `POST /applications` `{"displayName"}`.
    CreateApplication,
    /// `GET|PATCH|DELETE /applications/{id}`
    Application {
        /// Application object id as sent.
        id: String,
        /// The method.
        op: ObjectOp,
    },
    /// `POST /applications/{id}/addPassword` or `…/removePassword`.
    ApplicationPassword {
        /// Application object id as sent.
        id: String,
        /// True for `addPassword`.
        add: bool,
    },
    /// `POST /directoryObjects/getByIds` `{"ids", "types"}`.
    GetByIds,
}

/// The method class of an operation on one Graph object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOp {
    /// GET
    Get,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

crate::route_kinds! {
    /// One kind per [`GraphRoute`] variant.
    pub enum GraphRouteKind {
        Me, Organization, ListUsers, ListServicePrincipals, CreateServicePrincipal,
        ServicePrincipal, ListApplications, CreateApplication, Application,
        ApplicationPassword, GetByIds,
    }
}

fn only(method: &Method, allowed: Method, route: GraphRoute) -> Result<GraphRoute, RouteError> {
    if *method == allowed {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed(if allowed == Method::POST {
            "POST"
        } else {
            "GET"
        }))
    }
}

/// Parses a service-host path; `None` unless it starts with `v1.0` or `beta` (the Graph
/// versions, case-insensitive). `lower` is `segments` in lower case.
pub fn parse(
    method: &Method,
    segments: &[&str],
    lower: &[&str],
) -> Option<Result<GraphRoute, RouteError>> {
    let (first, rest) = lower.split_first()?;
    if *first != "v1.0" && *first != "beta" {
        return None;
    }
    let original = &segments[1..];
    let id = |i: usize| original.get(i).map(|s| (*s).to_owned()).unwrap_or_default();
    use GraphRoute as R;
    Some(match rest {
        ["me"] => only(method, Method::GET, R::Me),
        ["organization"] => only(method, Method::GET, R::Organization),
        ["users"] => only(method, Method::GET, R::ListUsers),
        ["serviceprincipals"] => match *method {
            Method::GET => Ok(R::ListServicePrincipals),
            Method::POST => Ok(R::CreateServicePrincipal),
            _ => Err(RouteError::MethodNotAllowed("GET, POST")),
        },
        ["serviceprincipals", _] => match *method {
            Method::GET => Ok(R::ServicePrincipal {
                id: id(1),
                delete: false,
            }),
            Method::DELETE => Ok(R::ServicePrincipal {
                id: id(1),
                delete: true,
            }),
            _ => Err(RouteError::MethodNotAllowed("GET, DELETE")),
        },
        ["applications"] => match *method {
            Method::GET => Ok(R::ListApplications),
            Method::POST => Ok(R::CreateApplication),
            _ => Err(RouteError::MethodNotAllowed("GET, POST")),
        },
        ["applications", _] => {
            let op = match *method {
                Method::GET => ObjectOp::Get,
                Method::PATCH => ObjectOp::Patch,
                Method::DELETE => ObjectOp::Delete,
                _ => return Some(Err(RouteError::MethodNotAllowed("GET, PATCH, DELETE"))),
            };
            Ok(R::Application { id: id(1), op })
        }
        [
            "applications",
            _,
            action @ ("addpassword" | "removepassword"),
        ] => only(
            method,
            Method::POST,
            R::ApplicationPassword {
                id: id(1),
                add: *action == "addpassword",
            },
        ),
        ["directoryobjects", "getbyids"] => only(method, Method::POST, R::GetByIds),
        _ => Err(RouteError::NotFound),
    })
}

impl GraphRoute {
    /// The route's kind.
    pub fn kind(&self) -> GraphRouteKind {
        use GraphRouteKind as K;
        match self {
            GraphRoute::Me => K::Me,
            GraphRoute::Organization => K::Organization,
            GraphRoute::ListUsers => K::ListUsers,
            GraphRoute::ListServicePrincipals => K::ListServicePrincipals,
            GraphRoute::CreateServicePrincipal => K::CreateServicePrincipal,
            GraphRoute::ServicePrincipal { .. } => K::ServicePrincipal,
            GraphRoute::ListApplications => K::ListApplications,
            GraphRoute::CreateApplication => K::CreateApplication,
            GraphRoute::Application { .. } => K::Application,
            GraphRoute::ApplicationPassword { .. } => K::ApplicationPassword,
            GraphRoute::GetByIds => K::GetByIds,
        }
    }

    /// What the route needs of its caller (see the module documentation).
    pub fn access(&self) -> Access {
        const WRITE: &str = "Keyhold.Directory/servicePrincipals/write";
        const DELETE: &str = "Keyhold.Directory/servicePrincipals/delete";
        let own = |action| Access::Action {
            action,
            scope: Scope::CallerTenant,
        };
        match self {
            GraphRoute::Me
            | GraphRoute::Organization
            | GraphRoute::ListUsers
            | GraphRoute::ListServicePrincipals
            | GraphRoute::ServicePrincipal { delete: false, .. }
            | GraphRoute::ListApplications
            | GraphRoute::Application {
                op: ObjectOp::Get, ..
            }
            | GraphRoute::GetByIds => Access::AnyCaller(Api::Graph),
            GraphRoute::CreateServicePrincipal
            | GraphRoute::CreateApplication
            | GraphRoute::Application {
                op: ObjectOp::Patch,
                ..
            }
            | GraphRoute::ApplicationPassword { .. } => own(WRITE),
            GraphRoute::ServicePrincipal { delete: true, .. }
            | GraphRoute::Application {
                op: ObjectOp::Delete,
                ..
            } => own(DELETE),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn run(method: Method, path: &str) -> Option<Result<GraphRoute, RouteError>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        parse(&method, &segments, &lower)
    }

    /// One row per route kind: method, path, the route, and the action it needs at the
    /// caller's tenant (`None`: any principal of the tenant).
    #[test]
    fn every_graph_route_kind_parses_and_declares_its_access() {
        let read = None;
        let write = Some("Keyhold.Directory/servicePrincipals/write");
        let delete = Some("Keyhold.Directory/servicePrincipals/delete");
        let rows: Vec<(Method, &str, GraphRoute, Option<&str>)> = vec![
            (Method::GET, "/v1.0/me", GraphRoute::Me, read),
            (
                Method::GET,
                "/v1.0/organization",
                GraphRoute::Organization,
                read,
            ),
            (Method::GET, "/v1.0/users", GraphRoute::ListUsers, read),
            (
                Method::GET,
                "/v1.0/servicePrincipals",
                GraphRoute::ListServicePrincipals,
                read,
            ),
            (
                Method::POST,
                "/v1.0/servicePrincipals",
                GraphRoute::CreateServicePrincipal,
                write,
            ),
            (
                Method::GET,
                "/beta/servicePrincipals/AbC",
                GraphRoute::ServicePrincipal {
                    id: "AbC".into(),
                    delete: false,
                },
                read,
            ),
            (
                Method::DELETE,
                "/v1.0/servicePrincipals/x",
                GraphRoute::ServicePrincipal {
                    id: "x".into(),
                    delete: true,
                },
                delete,
            ),
            (
                Method::GET,
                "/v1.0/applications",
                GraphRoute::ListApplications,
                read,
            ),
            (
                Method::POST,
                "/V1.0/Applications",
                GraphRoute::CreateApplication,
                write,
            ),
            (
                Method::GET,
                "/v1.0/applications/a",
                GraphRoute::Application {
                    id: "a".into(),
                    op: ObjectOp::Get,
                },
                read,
            ),
            (
                Method::PATCH,
                "/v1.0/applications/a",
                GraphRoute::Application {
                    id: "a".into(),
                    op: ObjectOp::Patch,
                },
                write,
            ),
            (
                Method::DELETE,
                "/v1.0/applications/a",
                GraphRoute::Application {
                    id: "a".into(),
                    op: ObjectOp::Delete,
                },
                delete,
            ),
            (
                Method::POST,
                "/v1.0/applications/a/addPassword",
                GraphRoute::ApplicationPassword {
                    id: "a".into(),
                    add: true,
                },
                write,
            ),
            (
                Method::POST,
                "/v1.0/applications/a/removePassword",
                GraphRoute::ApplicationPassword {
                    id: "a".into(),
                    add: false,
                },
                write,
            ),
            (
                Method::POST,
                "/v1.0/directoryObjects/getByIds",
                GraphRoute::GetByIds,
                read,
            ),
        ];
        let mut seen = BTreeSet::new();
        for (method, path, route, action) in rows {
            let parsed = run(method.clone(), path);
            assert_eq!(parsed, Some(Ok(route.clone())), "{method} {path}");
            seen.insert(route.kind());
            let expected = match action {
                None => Access::AnyCaller(Api::Graph),
                Some(action) => Access::Action {
                    action,
                    scope: Scope::CallerTenant,
                },
            };
            assert_eq!(route.access(), expected, "{method} {path}");
        }
        let missing: Vec<&str> = GraphRouteKind::ALL
            .iter()
            .filter(|k| !seen.contains(k))
            .map(|k| k.name())
            .collect();
        assert!(
            missing.is_empty(),
            "Graph routes without a row: {missing:?}"
        );
    }

    #[test]
    fn other_paths() {
        assert_eq!(run(Method::GET, "/subscriptions"), None);
        assert_eq!(
            run(Method::GET, "/v1.0/groups"),
            Some(Err(RouteError::NotFound))
        );
        assert_eq!(
            run(Method::PUT, "/v1.0/servicePrincipals"),
            Some(Err(RouteError::MethodNotAllowed("GET, POST")))
        );
        assert_eq!(
            run(Method::GET, "/v1.0/applications/a/addPassword"),
            Some(Err(RouteError::MethodNotAllowed("POST")))
        );
    }
}
