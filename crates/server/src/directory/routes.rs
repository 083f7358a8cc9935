//! keyhold's directory API paths (`/keyhold/v1/…` on the service host), parsed into
//! [`DirectoryRoute`].

/// A parsed directory request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryRoute {
    /// `GET|POST /keyhold/v1/tenants/{t}/servicePrincipals`
    ServicePrincipals {
        /// Tenant segment.
        tenant: String,
    },
    /// `GET|PATCH|DELETE /keyhold/v1/tenants/{t}/servicePrincipals/{appId}`
    ServicePrincipal {
        /// Tenant segment.
        tenant: String,
        /// Client (application) id.
        app_id: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/servicePrincipals/{appId}/resetSecret`
    ResetSecret {
        /// Tenant segment.
        tenant: String,
        /// Client id.
        app_id: String,
    },
    /// `POST /keyhold/v1/tenants/{t}/rotateSigningKey`
    RotateSigningKey {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/workloadBindings`
    WorkloadBindings,
    /// `GET /keyhold/v1/whoami`: the authenticated caller (any API audience).
    WhoAmI,
    /// `GET /keyhold/v1/audit?after={seq}&top={n}`: audit entries in order, with the head.
    Audit,
    /// `GET|POST /keyhold/v1/tenants`
    Tenants,
    /// `GET|POST /keyhold/v1/tenants/{t}/subscriptions`
    Subscriptions {
        /// Tenant segment.
        tenant: String,
    },
    /// `POST /keyhold/v1/subscriptions/{s}/changeTenant`
    ChangeTenant {
        /// Subscription segment.
        subscription: String,
    },
}

/// Parses `/keyhold/v1/…` (segments after `keyhold`, `v1`); `None` if not a directory path.
pub fn parse(segments: &[&str]) -> Option<DirectoryRoute> {
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let tenant = || segments.get(3).map(|s| (*s).to_owned()).unwrap_or_default();
    let app = || segments.get(5).map(|s| (*s).to_owned()).unwrap_or_default();
    match l.as_slice() {
        ["keyhold", "v1", "workloadbindings"] => Some(DirectoryRoute::WorkloadBindings),
        ["keyhold", "v1", "whoami"] => Some(DirectoryRoute::WhoAmI),
        ["keyhold", "v1", "audit"] => Some(DirectoryRoute::Audit),
        ["keyhold", "v1", "tenants"] => Some(DirectoryRoute::Tenants),
        ["keyhold", "v1", "tenants", _, "subscriptions"] => {
            Some(DirectoryRoute::Subscriptions { tenant: tenant() })
        }
        ["keyhold", "v1", "subscriptions", _, "changetenant"] => {
            Some(DirectoryRoute::ChangeTenant {
                subscription: tenant(),
            })
        }
        ["keyhold", "v1", "tenants", _, "serviceprincipals"] => {
            Some(DirectoryRoute::ServicePrincipals { tenant: tenant() })
        }
        ["keyhold", "v1", "tenants", _, "serviceprincipals", _] => {
            Some(DirectoryRoute::ServicePrincipal {
                tenant: tenant(),
                app_id: app(),
            })
        }
        [
            "keyhold",
            "v1",
            "tenants",
            _,
            "serviceprincipals",
            _,
            "resetsecret",
        ] => Some(DirectoryRoute::ResetSecret {
            tenant: tenant(),
            app_id: app(),
        }),
        ["keyhold", "v1", "tenants", _, "rotatesigningkey"] => {
            Some(DirectoryRoute::RotateSigningKey { tenant: tenant() })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_table() {
        let rows: &[(&str, Option<DirectoryRoute>)] = &[
            (
                "keyhold/v1/workloadBindings",
                Some(DirectoryRoute::WorkloadBindings),
            ),
            (
                "keyhold/v1/tenants/T/servicePrincipals",
                Some(DirectoryRoute::ServicePrincipals { tenant: "T".into() }),
            ),
            (
                "keyhold/v1/tenants/T/serviceprincipals/A",
                Some(DirectoryRoute::ServicePrincipal {
                    tenant: "T".into(),
                    app_id: "A".into(),
                }),
            ),
            (
                "keyhold/v1/tenants/T/servicePrincipals/A/resetSecret",
                Some(DirectoryRoute::ResetSecret {
                    tenant: "T".into(),
                    app_id: "A".into(),
                }),
            ),
            (
                "keyhold/v1/tenants/T/rotateSigningKey",
                Some(DirectoryRoute::RotateSigningKey { tenant: "T".into() }),
            ),
            ("keyhold/v1/tenants", Some(DirectoryRoute::Tenants)),
            (
                "keyhold/v1/tenants/T/subscriptions",
                Some(DirectoryRoute::Subscriptions { tenant: "T".into() }),
            ),
            (
                "keyhold/v1/subscriptions/S/changeTenant",
                Some(DirectoryRoute::ChangeTenant {
                    subscription: "S".into(),
                }),
            ),
            ("keyhold/v1/subscriptions/S", None),
            ("keyhold/v1/tenants/T", None),
            ("keyhold/v2/workloadBindings", None),
        ];
        for (path, expected) in rows {
            let segments: Vec<&str> = path.split('/').collect();
            assert_eq!(&parse(&segments), expected, "{path}");
        }
    }
}
