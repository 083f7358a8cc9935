//! Parsing of the subscription-wide listing routes: generic resources
//! (`/subscriptions/{s}[/resourceGroups/{rg}]/resources`) and resource providers
//! (`/subscriptions/{s}/providers[/{namespace}[/register]]`). Kept apart from
//! `routes_parse.rs` so the provider-specific parsers stay as they are.

use axum::http::Method;

use super::routes::ArmRoute;
use crate::http::RouteError;

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn get(method: &Method, route: ArmRoute) -> Result<ArmRoute, RouteError> {
    if method == Method::GET {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed("GET"))
    }
}

/// The listing route `segments` (starting at `subscriptions`) name, if any.
pub(crate) fn parse(method: &Method, segments: &[&str]) -> Option<Result<ArmRoute, RouteError>> {
    let own = |s: &&str| (*s).to_owned();
    Some(match segments {
        [_, sub, r] if eq(r, "resources") => get(
            method,
            ArmRoute::ListResources {
                subscription: own(sub),
                resource_group: None,
            },
        ),
        [_, sub, rgs, rg, r] if eq(rgs, "resourceGroups") && eq(r, "resources") => get(
            method,
            ArmRoute::ListResources {
                subscription: own(sub),
                resource_group: Some(own(rg)),
            },
        ),
        [_, sub, p] if eq(p, "providers") => get(
            method,
            ArmRoute::ListProviders {
                subscription: own(sub),
            },
        ),
        [_, sub, p, namespace] if eq(p, "providers") => get(
            method,
            ArmRoute::Provider {
                subscription: own(sub),
                namespace: own(namespace),
                register: false,
            },
        ),
        [_, sub, p, namespace, register] if eq(p, "providers") && eq(register, "register") => {
            if method == Method::POST {
                Ok(ArmRoute::Provider {
                    subscription: own(sub),
                    namespace: own(namespace),
                    register: true,
                })
            } else {
                Err(RouteError::MethodNotAllowed("POST"))
            }
        }
        _ => return None,
    })
}
