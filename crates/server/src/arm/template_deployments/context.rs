//! What a deployment runs in: its target (group or subscription, location), the tenant, and
//! keyhold's own `environment()` — its management and login endpoints and its vault suffix
//! (`.{vault-domain}:{port}`), so templates that build vault URIs from
//! `environment().suffixes.keyvaultDns` name keyhold's vaults.

use keyhold_arm_template::{DeploymentContext, EnvironmentInfo};
use keyhold_identity::Subscription;

use super::error::DeployError;
use super::routes::DeploymentScope;
use crate::http::ApiError;
use crate::state::AppState;

/// keyhold's `environment()`.
pub(crate) fn environment(state: &AppState) -> EnvironmentInfo {
    let config = state.config();
    let port = state.public_port();
    let keyvault_dns = if port == 443 {
        format!(".{}", config.vault_domain)
    } else {
        format!(".{}:{port}", config.vault_domain)
    };
    let endpoint = format!("{}/", state.service_url());
    EnvironmentInfo {
        name: "keyhold".into(),
        resource_manager: endpoint.clone(),
        login_endpoint: endpoint,
        audiences: vec![config.management_audience.clone()],
        keyvault_dns,
        ..EnvironmentInfo::azure_cloud()
    }
}

/// Where a deployment goes: its group (which must exist) and location.
pub(crate) struct Target {
    /// Resource group, `None` at subscription scope.
    pub group: Option<String>,
    /// The group's location, or the subscription deployment's `location`.
    pub location: String,
}

/// Resolves the target of a PUT, validate or what-if. A group deployment's group must exist;
/// a subscription deployment needs `location`, as ARM requires.
pub(crate) async fn target(
    state: &AppState,
    sub: &Subscription,
    scope: &DeploymentScope,
    location: Option<&str>,
) -> Result<Target, DeployError> {
    match &scope.resource_group {
        Some(group) => {
            let rg = state.identity().resource_group(sub.id, group).await?;
            Ok(Target {
                group: Some(rg.name),
                location: rg.location,
            })
        }
        None => {
            let location = location.filter(|l| !l.is_empty()).ok_or_else(|| {
                DeployError::Api(ApiError::bad_request(
                    "LocationRequired",
                    "The location property is required for a deployment at subscription scope.",
                ))
            })?;
            Ok(Target {
                group: None,
                location: location.to_owned(),
            })
        }
    }
}

/// The engine's context for a deployment named `name` at `target`.
pub(crate) fn context(
    state: &AppState,
    sub: &Subscription,
    target: &Target,
    name: &str,
) -> DeploymentContext {
    let env = environment(state);
    let mut ctx = match &target.group {
        Some(group) => DeploymentContext::new(
            sub.tenant_id.to_string(),
            sub.id.to_string(),
            group.clone(),
            target.location.clone(),
            name,
        ),
        None => DeploymentContext::at_subscription(
            sub.tenant_id.to_string(),
            sub.id.to_string(),
            target.location.clone(),
            name,
        ),
    }
    .with_environment(&env);
    ctx.subscription_display_name = sub.display_name.clone();
    ctx
}
