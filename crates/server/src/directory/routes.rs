//! keyhold's directory API paths (`/keyhold/v1/…` on the service host), parsed with their
//! method into [`DirectoryRoute`], and each route's permission.

use axum::http::Method;

use crate::http::RouteError;
use crate::http::auth::Api;
use crate::http::authz::{Access, Scope};

/// A parsed directory request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryRoute {
    /// `GET /keyhold/v1/tenants/{t}/servicePrincipals`
    ListServicePrincipals {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/servicePrincipals`
    CreateServicePrincipal {
        /// Tenant segment.
        tenant: String,
    },
    /// `GET /keyhold/v1/tenants/{t}/servicePrincipals/{appId}`
    GetServicePrincipal {
        /// Tenant segment.
        tenant: String,
        /// Client (application) id.
        app_id: String,
    },
    /// `PATCH /keyhold/v1/tenants/{t}/servicePrincipals/{appId}`
    UpdateServicePrincipal {
        /// Tenant segment.
        tenant: String,
        /// Client id.
        app_id: String,
    },
    /// `DELETE /keyhold/v1/tenants/{t}/servicePrincipals/{appId}`
    DeleteServicePrincipal {
        /// Tenant segment.
        tenant: String,
        /// Client id.
        app_id: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/servicePrincipals/{appId}/resetSecret`
    ResetSecret {
        /// Tenant segment.
        tenant: String,
        /// Client id.
        app_id: String,
    },
    /// `GET /keyhold/v1/tenants/{t}/externalPrincipals?issuer={iss}&objectId={oid}`: the
    /// local object id of a trusted issuer's principal (what grants must name).
    ResolveExternalPrincipal {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/rotateSigningKey`
    RotateSigningKey {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/workloadBindings`
    CreateWorkloadBinding,
    /// `GET /keyhold/v1/whoami`: the authenticated caller.
    WhoAmI,
    /// `GET /keyhold/v1/audit?after={seq}&top={n}`: audit entries in order, with the head.
    ReadAudit,
    /// `GET /keyhold/v1/tenants`
    ListTenants,
    /// `POST /keyhold/v1/tenants`
    CreateTenant,
    /// `GET /keyhold/v1/tenants/{t}/subscriptions`
    ListSubscriptions {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/subscriptions`
    CreateSubscription {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/subscriptions/{s}/changeTenant`
    ChangeTenant {
        /// Subscription segment.
        subscription: String,
    },
}

crate::route_kinds! {
    /// One kind per [`DirectoryRoute`] variant.
    pub enum DirectoryRouteKind {
        ListServicePrincipals, CreateServicePrincipal, GetServicePrincipal,
        UpdateServicePrincipal, DeleteServicePrincipal, ResetSecret, ResolveExternalPrincipal,
        RotateSigningKey,
        CreateWorkloadBinding, WhoAmI, ReadAudit, ListTenants, CreateTenant, ListSubscriptions,
        CreateSubscription, ChangeTenant,
    }
}

fn by_method(
    method: &Method,
    choices: &[(Method, DirectoryRoute)],
    allow: &'static str,
) -> Result<DirectoryRoute, RouteError> {
    choices
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, r)| r.clone())
        .ok_or(RouteError::MethodNotAllowed(allow))
}

/// Parses `/keyhold/v1/…` (all segments, original case); `None` if not a directory path.
pub fn parse(method: &Method, segments: &[&str]) -> Option<Result<DirectoryRoute, RouteError>> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let tenant = || segments.get(3).map(|s| (*s).to_owned()).unwrap_or_default();
    let app = || segments.get(5).map(|s| (*s).to_owned()).unwrap_or_default();
    use DirectoryRoute as R;
    Some(match l.as_slice() {
        ["keyhold", "v1", "workloadbindings"] => {
            by_method(method, &[(Method::POST, R::CreateWorkloadBinding)], "POST")
        }
        ["keyhold", "v1", "whoami"] => by_method(method, &[(Method::GET, R::WhoAmI)], "GET"),
        ["keyhold", "v1", "audit"] => by_method(method, &[(Method::GET, R::ReadAudit)], "GET"),
        ["keyhold", "v1", "tenants"] => by_method(
            method,
            &[
                (Method::GET, R::ListTenants),
                (Method::POST, R::CreateTenant),
            ],
            "GET, POST",
        ),
        ["keyhold", "v1", "tenants", _, "subscriptions"] => by_method(
            method,
            &[
                (Method::GET, R::ListSubscriptions { tenant: tenant() }),
                (Method::POST, R::CreateSubscription { tenant: tenant() }),
            ],
            "GET, POST",
        ),
        ["keyhold", "v1", "subscriptions", _, "changetenant"] => by_method(
            method,
            &[(
                Method::POST,
                R::ChangeTenant {
                    subscription: tenant(),
                },
            )],
            "POST",
        ),
        ["keyhold", "v1", "tenants", _, "serviceprincipals"] => by_method(
            method,
            &[
                (Method::GET, R::ListServicePrincipals { tenant: tenant() }),
                (Method::POST, R::CreateServicePrincipal { tenant: tenant() }),
            ],
            "GET, POST",
        ),
        ["keyhold", "v1", "tenants", _, "serviceprincipals", _] => {
            let (t, a) = (tenant(), app());
            by_method(
                method,
                &[
                    (
                        Method::GET,
                        R::GetServicePrincipal {
                            tenant: t.clone(),
                            app_id: a.clone(),
                        },
                    ),
                    (
                        Method::PATCH,
                        R::UpdateServicePrincipal {
                            tenant: t.clone(),
                            app_id: a.clone(),
                        },
                    ),
                    (
                        Method::DELETE,
                        R::DeleteServicePrincipal {
                            tenant: t,
                            app_id: a,
                        },
                    ),
                ],
                "GET, PATCH, DELETE",
            )
        }
        [
            "keyhold",
            "v1",
            "tenants",
            _,
            "serviceprincipals",
            _,
            "resetsecret",
        ] => by_method(
            method,
            &[(
                Method::POST,
                R::ResetSecret {
                    tenant: tenant(),
                    app_id: app(),
                },
            )],
            "POST",
        ),
        ["keyhold", "v1", "tenants", _, "externalprincipals"] => by_method(
            method,
            &[(
                Method::GET,
                R::ResolveExternalPrincipal { tenant: tenant() },
            )],
            "GET",
        ),
        ["keyhold", "v1", "tenants", _, "rotatesigningkey"] => by_method(
            method,
            &[(Method::POST, R::RotateSigningKey { tenant: tenant() })],
            "POST",
        ),
        ["keyhold", ..] => Err(RouteError::NotFound),
        _ => return None,
    })
}

fn at_tenant(action: &'static str, tenant: &str) -> Access {
    Access::Action {
        action,
        scope: Scope::Tenant(tenant.to_owned()),
    }
}

fn at_root(action: &'static str) -> Access {
    Access::Action {
        action,
        scope: Scope::Root,
    }
}

impl DirectoryRoute {
    /// The route's kind.
    pub fn kind(&self) -> DirectoryRouteKind {
        use DirectoryRouteKind as K;
        match self {
            DirectoryRoute::ListServicePrincipals { .. } => K::ListServicePrincipals,
            DirectoryRoute::CreateServicePrincipal { .. } => K::CreateServicePrincipal,
            DirectoryRoute::GetServicePrincipal { .. } => K::GetServicePrincipal,
            DirectoryRoute::UpdateServicePrincipal { .. } => K::UpdateServicePrincipal,
            DirectoryRoute::DeleteServicePrincipal { .. } => K::DeleteServicePrincipal,
            DirectoryRoute::ResetSecret { .. } => K::ResetSecret,
            DirectoryRoute::ResolveExternalPrincipal { .. } => K::ResolveExternalPrincipal,
            DirectoryRoute::RotateSigningKey { .. } => K::RotateSigningKey,
            DirectoryRoute::CreateWorkloadBinding => K::CreateWorkloadBinding,
            DirectoryRoute::WhoAmI => K::WhoAmI,
            DirectoryRoute::ReadAudit => K::ReadAudit,
            DirectoryRoute::ListTenants => K::ListTenants,
            DirectoryRoute::CreateTenant => K::CreateTenant,
            DirectoryRoute::ListSubscriptions { .. } => K::ListSubscriptions,
            DirectoryRoute::CreateSubscription { .. } => K::CreateSubscription,
            DirectoryRoute::ChangeTenant { .. } => K::ChangeTenant,
        }
    }

    /// What the route needs of its caller. Workload bindings check `assign/action` on each
    /// identity they are given, and a subscription move checks both of its tenants (the
    /// source's from the subscription it names, the target's from the body), in the handler.
    pub fn access(&self) -> Access {
        const SP_READ: &str = "Keyhold.Directory/servicePrincipals/read";
        const SP_WRITE: &str = "Keyhold.Directory/servicePrincipals/write";
        match self {
            DirectoryRoute::ListServicePrincipals { tenant }
            | DirectoryRoute::GetServicePrincipal { tenant, .. }
            | DirectoryRoute::ResolveExternalPrincipal { tenant } => at_tenant(SP_READ, tenant),
            DirectoryRoute::CreateServicePrincipal { tenant }
            | DirectoryRoute::UpdateServicePrincipal { tenant, .. }
            | DirectoryRoute::ResetSecret { tenant, .. } => at_tenant(SP_WRITE, tenant),
            DirectoryRoute::DeleteServicePrincipal { tenant, .. } => {
                at_tenant("Keyhold.Directory/servicePrincipals/delete", tenant)
            }
            DirectoryRoute::RotateSigningKey { tenant } => {
                at_tenant("Keyhold.Directory/signingKeys/write", tenant)
            }
            DirectoryRoute::ListSubscriptions { tenant } => {
                at_tenant("Keyhold.Directory/subscriptions/read", tenant)
            }
            DirectoryRoute::CreateSubscription { tenant } => {
                at_tenant("Keyhold.Directory/subscriptions/write", tenant)
            }
            DirectoryRoute::ReadAudit => at_root("Keyhold.Directory/audit/read"),
            DirectoryRoute::ListTenants => at_root("Keyhold.Directory/tenants/read"),
            DirectoryRoute::CreateTenant => at_root("Keyhold.Directory/tenants/write"),
            DirectoryRoute::CreateWorkloadBinding
            | DirectoryRoute::WhoAmI
            | DirectoryRoute::ChangeTenant { .. } => Access::AnyCaller(Api::Management),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn route_table() {
        type Parsed = Option<Result<DirectoryRoute, RouteError>>;
        let rows: Vec<(Method, &str, Parsed)> = vec![
            (
                Method::POST,
                "keyhold/v1/workloadBindings",
                Some(Ok(DirectoryRoute::CreateWorkloadBinding)),
            ),
            (
                Method::GET,
                "keyhold/v1/workloadBindings",
                Some(Err(RouteError::MethodNotAllowed("POST"))),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants/T/servicePrincipals",
                Some(Ok(DirectoryRoute::ListServicePrincipals {
                    tenant: "T".into(),
                })),
            ),
            (
                Method::PATCH,
                "keyhold/v1/tenants/T/serviceprincipals/A",
                Some(Ok(DirectoryRoute::UpdateServicePrincipal {
                    tenant: "T".into(),
                    app_id: "A".into(),
                })),
            ),
            (
                Method::PUT,
                "keyhold/v1/tenants/T/serviceprincipals/A",
                Some(Err(RouteError::MethodNotAllowed("GET, PATCH, DELETE"))),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants/T/servicePrincipals/A/resetSecret",
                Some(Ok(DirectoryRoute::ResetSecret {
                    tenant: "T".into(),
                    app_id: "A".into(),
                })),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants/T/rotateSigningKey",
                Some(Ok(DirectoryRoute::RotateSigningKey { tenant: "T".into() })),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants",
                Some(Ok(DirectoryRoute::CreateTenant)),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants/T/subscriptions",
                Some(Ok(DirectoryRoute::ListSubscriptions { tenant: "T".into() })),
            ),
            (
                Method::POST,
                "keyhold/v1/subscriptions/S/changeTenant",
                Some(Ok(DirectoryRoute::ChangeTenant {
                    subscription: "S".into(),
                })),
            ),
            (
                Method::GET,
                "keyhold/v1/subscriptions/S",
                Some(Err(RouteError::NotFound)),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants/T",
                Some(Err(RouteError::NotFound)),
            ),
            (
                Method::GET,
                "keyhold/v2/workloadBindings",
                Some(Err(RouteError::NotFound)),
            ),
            (Method::GET, "other/v1/whoami", None),
        ];
        for (method, path, expected) in rows {
            let segments: Vec<&str> = path.split('/').collect();
            assert_eq!(parse(&method, &segments), expected, "{method} {path}");
        }
    }

    #[test]
    fn every_directory_route_kind_declares_its_permission() {
        let rows: Vec<(Method, &str, Access)> = vec![
            (
                Method::GET,
                "keyhold/v1/tenants/T/servicePrincipals",
                at_tenant("Keyhold.Directory/servicePrincipals/read", "T"),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants/T/servicePrincipals",
                at_tenant("Keyhold.Directory/servicePrincipals/write", "T"),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants/T/servicePrincipals/A",
                at_tenant("Keyhold.Directory/servicePrincipals/read", "T"),
            ),
            (
                Method::PATCH,
                "keyhold/v1/tenants/T/servicePrincipals/A",
                at_tenant("Keyhold.Directory/servicePrincipals/write", "T"),
            ),
            (
                Method::DELETE,
                "keyhold/v1/tenants/T/servicePrincipals/A",
                at_tenant("Keyhold.Directory/servicePrincipals/delete", "T"),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants/T/servicePrincipals/A/resetSecret",
                at_tenant("Keyhold.Directory/servicePrincipals/write", "T"),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants/T/rotateSigningKey",
                at_tenant("Keyhold.Directory/signingKeys/write", "T"),
            ),
            (
                Method::POST,
                "keyhold/v1/workloadBindings",
                Access::AnyCaller(Api::Management),
            ),
            (
                Method::GET,
                "keyhold/v1/whoami",
                Access::AnyCaller(Api::Management),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants/T/externalPrincipals",
                at_tenant("Keyhold.Directory/servicePrincipals/read", "T"),
            ),
            (
                Method::GET,
                "keyhold/v1/audit",
                at_root("Keyhold.Directory/audit/read"),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants",
                at_root("Keyhold.Directory/tenants/read"),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants",
                at_root("Keyhold.Directory/tenants/write"),
            ),
            (
                Method::GET,
                "keyhold/v1/tenants/T/subscriptions",
                at_tenant("Keyhold.Directory/subscriptions/read", "T"),
            ),
            (
                Method::POST,
                "keyhold/v1/tenants/T/subscriptions",
                at_tenant("Keyhold.Directory/subscriptions/write", "T"),
            ),
            (
                Method::POST,
                "keyhold/v1/subscriptions/S/changeTenant",
                Access::AnyCaller(Api::Management),
            ),
        ];
        let mut seen = BTreeSet::new();
        for (method, path, expected) in rows {
            let segments: Vec<&str> = path.split('/').collect();
            let route = parse(&method, &segments).unwrap().unwrap();
            seen.insert(route.kind());
            assert_eq!(route.access(), expected, "{method} {path}");
        }
        let missing: Vec<&str> = DirectoryRouteKind::ALL
            .iter()
            .filter(|k| !seen.contains(k))
            .map(|k| k.name())
            .collect();
        assert!(
            missing.is_empty(),
            "directory routes without a row: {missing:?}"
        );
    }
}
