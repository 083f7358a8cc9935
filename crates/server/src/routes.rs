//! Request routing: every request is parsed into a [`Route`] (from its host, method and path)
//! before any handler runs, so the routing table is plain data that tests can check row by row.
//!
//! Hosts decide the API family (docs/DESIGN.md section 1):
//! - `{vault}.{vault-domain}` → a vault's data plane;
//! - `{account}.{ai-domain}` → an AI account's data plane;
//! - anything else (`localhost`, `127.0.0.1`, public host names) → the service host: health,
//!   identity and the management plane.
//!
//! Azure matches path segments case-insensitively (`wrapKey` and `wrapkey`), so the fixed
//! segments here are compared ignoring ASCII case while names keep their case.

use axum::http::Method;

pub use crate::ai_api::routes::AiRoute;
pub use crate::arm::routes::{ArmRoute, ResourceOp};
pub use crate::directory::routes::DirectoryRoute;
pub use crate::graph_api::routes::GraphRoute;
pub use crate::http::RouteError;
use crate::http::authz::{Access, Scope};
pub use crate::vault_api::routes::{KeyOperation, VaultRoute};

/// Which API family a request's host selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind {
    /// The service host (identity, management, health).
    Service,
    /// A vault's data plane, by vault name (lower case).
    Vault(String),
    /// An AI account's data plane, by account name (lower case).
    AiAccount(String),
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz` on any host: liveness.
    Health,
    /// `GET /readyz` on any host: readiness (the store answers).
    Ready,
    /// `GET /{tenant}/v2.0/.well-known/openid-configuration` (also the v1 path).
    OpenIdConfiguration {
        /// Tenant id or name as sent.
        tenant: String,
    },
    /// `GET /{tenant}/discovery/v2.0/keys`: the tenant's token-signing keys.
    Jwks {
        /// Tenant id or name as sent.
        tenant: String,
    },
    /// `POST /{tenant}/oauth2/v2.0/token`.
    Token {
        /// Tenant id or name as sent.
        tenant: String,
    },
    /// `GET /msi/token`: the App Service style managed-identity endpoint.
    ManagedIdentityToken,
    /// `GET /metrics`: Prometheus text (authenticated).
    Metrics,
    /// Azure Resource Manager.
    Arm(ArmRoute),
    /// keyhold's directory API (`/keyhold/v1/…`).
    Directory(DirectoryRoute),
    /// The Microsoft Graph subset (`/v1.0/…`, `/beta/…`).
    Graph(GraphRoute),
    /// An AI account's data plane (OpenAI-compatible).
    Ai {
        /// Account name (lower case, from the host).
        account: String,
        /// `/openai/v1/` path style (no api-version needed).
        v1: bool,
        /// The operation.
        route: AiRoute,
    },
    /// A vault's data plane (Key Vault keys API).
    Vault {
        /// Vault name (lower case, from the host).
        vault: String,
        /// The operation.
        route: VaultRoute,
    },
}

crate::route_kinds! {
    /// The service host's own routes (probes, identity, metrics).
    pub enum ServiceRouteKind {
        Health, Ready, OpenIdConfiguration, Jwks, Token, ManagedIdentityToken, Metrics,
    }
}

/// Every route's kind, by API: what the authorization tests walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteKind {
    /// Probes, identity, metrics.
    Service(ServiceRouteKind),
    /// Azure Resource Manager.
    Arm(crate::arm::permissions::ArmRouteKind),
    /// keyhold's directory API.
    Directory(crate::directory::routes::DirectoryRouteKind),
    /// A vault's data plane.
    Vault(crate::vault_api::routes::VaultRouteKind),
    /// An AI account's data plane.
    Ai(crate::ai_api::routes::AiRouteKind),
    /// The Microsoft Graph subset.
    Graph(crate::graph_api::routes::GraphRouteKind),
}

impl RouteKind {
    /// Every route kind of every API.
    pub fn all() -> Vec<RouteKind> {
        let mut all: Vec<RouteKind> = ServiceRouteKind::ALL
            .iter()
            .map(|k| RouteKind::Service(*k))
            .collect();
        all.extend(
            crate::arm::permissions::ArmRouteKind::ALL
                .iter()
                .map(|k| RouteKind::Arm(*k)),
        );
        all.extend(
            crate::directory::routes::DirectoryRouteKind::ALL
                .iter()
                .map(|k| RouteKind::Directory(*k)),
        );
        all.extend(
            crate::vault_api::routes::VaultRouteKind::ALL
                .iter()
                .map(|k| RouteKind::Vault(*k)),
        );
        all.extend(
            crate::ai_api::routes::AiRouteKind::ALL
                .iter()
                .map(|k| RouteKind::Ai(*k)),
        );
        all.extend(
            crate::graph_api::routes::GraphRouteKind::ALL
                .iter()
                .map(|k| RouteKind::Graph(*k)),
        );
        all
    }

    /// `Api.Kind`, e.g. `Arm.RoleAssignment`.
    pub fn name(self) -> String {
        match self {
            RouteKind::Service(k) => format!("Service.{}", k.name()),
            RouteKind::Arm(k) => format!("Arm.{}", k.name()),
            RouteKind::Directory(k) => format!("Directory.{}", k.name()),
            RouteKind::Vault(k) => format!("Vault.{}", k.name()),
            RouteKind::Ai(k) => format!("Ai.{}", k.name()),
            RouteKind::Graph(k) => format!("Graph.{}", k.name()),
        }
    }
}

impl Route {
    /// The route's kind.
    pub fn kind(&self) -> RouteKind {
        use ServiceRouteKind as S;
        match self {
            Route::Health => RouteKind::Service(S::Health),
            Route::Ready => RouteKind::Service(S::Ready),
            Route::OpenIdConfiguration { .. } => RouteKind::Service(S::OpenIdConfiguration),
            Route::Jwks { .. } => RouteKind::Service(S::Jwks),
            Route::Token { .. } => RouteKind::Service(S::Token),
            Route::ManagedIdentityToken => RouteKind::Service(S::ManagedIdentityToken),
            Route::Metrics => RouteKind::Service(S::Metrics),
            Route::Arm(r) => RouteKind::Arm(r.kind()),
            Route::Directory(r) => RouteKind::Directory(r.kind()),
            Route::Vault { route, .. } => RouteKind::Vault(route.kind()),
            Route::Ai { route, .. } => RouteKind::Ai(route.kind()),
            Route::Graph(r) => RouteKind::Graph(r.kind()),
        }
    }

    /// What the route needs of its caller: the one permission table, assembled from each
    /// API's (`arm/permissions.rs`, `directory/routes.rs`, `vault_api/routes.rs`,
    /// `ai_api/routes.rs`). The token and managed-identity endpoints are public because
    /// they check the credentials they are sent (a client secret, an identity header).
    pub fn access(&self) -> Access {
        match self {
            Route::Health
            | Route::Ready
            | Route::OpenIdConfiguration { .. }
            | Route::Jwks { .. }
            | Route::Token { .. }
            | Route::ManagedIdentityToken => Access::Public,
            Route::Metrics => Access::Action {
                action: "Keyhold.Metrics/read",
                scope: Scope::Root,
            },
            Route::Arm(r) => r.access(),
            Route::Directory(r) => r.access(),
            Route::Vault { route, .. } => route.access(),
            Route::Ai { route, .. } => route.access(),
            Route::Graph(r) => r.access(),
        }
    }
}

/// Classifies a `Host` header value (port and trailing dot stripped, case folded).
pub fn classify_host(host: &str, vault_domain: &str, ai_domain: &str) -> HostKind {
    let name = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
    if let Some(label) = single_label_under(&name, vault_domain) {
        return HostKind::Vault(label.to_owned());
    }
    if let Some(label) = single_label_under(&name, ai_domain) {
        return HostKind::AiAccount(label.to_owned());
    }
    HostKind::Service
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [::1]:8443
        return host.split(']').next().map_or(host, |h| &h[1..]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

fn single_label_under<'a>(name: &'a str, domain: &str) -> Option<&'a str> {
    let label = name.strip_suffix(domain)?.strip_suffix('.')?;
    (!label.is_empty() && !label.contains('.')).then_some(label)
}

impl Route {
    /// Parses a request. `path` is the URI path without the query.
    pub fn parse(host: &HostKind, method: &Method, path: &str) -> Result<Route, RouteError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        // Probes answer on every host, so a load balancer can check any name.
        match lower.as_slice() {
            ["healthz"] => return only_get(method, Route::Health),
            ["readyz"] => return only_get(method, Route::Ready),
            _ => {}
        }
        match host {
            HostKind::Service => parse_service(method, &segments, &lower),
            HostKind::Vault(vault) => crate::vault_api::routes::parse(method, &segments, &lower)
                .map(|route| Route::Vault {
                    vault: vault.clone(),
                    route,
                }),
            HostKind::AiAccount(account) => crate::ai_api::routes::parse(method, &segments, &lower)
                .map(|request| Route::Ai {
                    account: account.clone(),
                    v1: request.v1,
                    route: request.route,
                }),
        }
    }
}

/// Service-host routes: identity (per tenant) and ARM.
fn parse_service(method: &Method, segments: &[&str], lower: &[&str]) -> Result<Route, RouteError> {
    if let Some(arm) = crate::arm::routes::parse(method, segments) {
        return arm.map(Route::Arm);
    }
    if let Some(directory) = crate::directory::routes::parse(method, segments) {
        return directory.map(Route::Directory);
    }
    if let Some(graph) = crate::graph_api::routes::parse(method, segments, lower) {
        return graph.map(Route::Graph);
    }
    let tenant = || {
        segments
            .first()
            .map(|t| (*t).to_owned())
            .unwrap_or_default()
    };
    match lower {
        ["msi", "token"] => only_get(method, Route::ManagedIdentityToken),
        ["metrics"] => only_get(method, Route::Metrics),
        [_, "v2.0", ".well-known", "openid-configuration"]
        | [_, ".well-known", "openid-configuration"] => {
            only_get(method, Route::OpenIdConfiguration { tenant: tenant() })
        }
        [_, "discovery", "v2.0", "keys"] | [_, "discovery", "keys"] => {
            only_get(method, Route::Jwks { tenant: tenant() })
        }
        [_, "oauth2", "v2.0", "token"] => {
            if method == Method::POST {
                Ok(Route::Token { tenant: tenant() })
            } else {
                Err(RouteError::MethodNotAllowed("POST"))
            }
        }
        _ => Err(RouteError::NotFound),
    }
}

fn only_get(method: &Method, route: Route) -> Result<Route, RouteError> {
    if method == Method::GET || method == Method::HEAD {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed("GET, HEAD"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VD: &str = "vault.localhost";
    const AD: &str = "openai.localhost";

    #[test]
    fn host_table() {
        let rows: &[(&str, HostKind)] = &[
            ("localhost:8443", HostKind::Service),
            ("127.0.0.1:8443", HostKind::Service),
            ("[::1]:8443", HostKind::Service),
            ("kh.example.com", HostKind::Service),
            ("kv1.vault.localhost:8443", HostKind::Vault("kv1".into())),
            ("KV1.Vault.LocalHost", HostKind::Vault("kv1".into())),
            ("kv1.vault.localhost.:8443", HostKind::Vault("kv1".into())),
            ("vault.localhost:8443", HostKind::Service),
            ("a.b.vault.localhost", HostKind::Service),
            ("xvault.localhost", HostKind::Service),
            ("acct.openai.localhost", HostKind::AiAccount("acct".into())),
        ];
        for (host, expected) in rows {
            assert_eq!(&classify_host(host, VD, AD), expected, "host {host}");
        }
    }

    #[test]
    fn route_table() {
        let service = HostKind::Service;
        let vault = HostKind::Vault("kv1".into());
        let rows: &[(&HostKind, Method, &str, Result<Route, RouteError>)] = &[
            (&service, Method::GET, "/healthz", Ok(Route::Health)),
            (&service, Method::HEAD, "/healthz", Ok(Route::Health)),
            (&vault, Method::GET, "/healthz", Ok(Route::Health)),
            (&service, Method::GET, "/HEALTHZ/", Ok(Route::Health)),
            (&service, Method::GET, "/readyz", Ok(Route::Ready)),
            (
                &service,
                Method::POST,
                "/healthz",
                Err(RouteError::MethodNotAllowed("GET, HEAD")),
            ),
            (&service, Method::GET, "/", Err(RouteError::NotFound)),
            (&service, Method::GET, "/nope", Err(RouteError::NotFound)),
            (
                &vault,
                Method::GET,
                "/Keys",
                Ok(Route::Vault {
                    vault: "kv1".into(),
                    route: VaultRoute::ListKeys,
                }),
            ),
            (&vault, Method::GET, "/secrets", Err(RouteError::NotFound)),
            (
                &service,
                Method::GET,
                "/t1/v2.0/.well-known/openid-configuration",
                Ok(Route::OpenIdConfiguration {
                    tenant: "t1".into(),
                }),
            ),
            (
                &service,
                Method::GET,
                "/T1/discovery/v2.0/keys",
                Ok(Route::Jwks {
                    tenant: "T1".into(),
                }),
            ),
            (
                &service,
                Method::POST,
                "/t1/oauth2/v2.0/token",
                Ok(Route::Token {
                    tenant: "t1".into(),
                }),
            ),
            (
                &service,
                Method::GET,
                "/t1/oauth2/v2.0/token",
                Err(RouteError::MethodNotAllowed("POST")),
            ),
            (
                &service,
                Method::GET,
                "/msi/token",
                Ok(Route::ManagedIdentityToken),
            ),
            (
                &service,
                Method::GET,
                "/subscriptions",
                Ok(Route::Arm(ArmRoute::ListSubscriptions)),
            ),
            (
                &vault,
                Method::GET,
                "/subscriptions",
                Err(RouteError::NotFound),
            ),
        ];
        for (host, method, path, expected) in rows {
            assert_eq!(
                &Route::parse(host, method, path),
                expected,
                "{method} {path} on {host:?}"
            );
        }
    }
}
