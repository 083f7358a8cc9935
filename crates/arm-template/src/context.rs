//! What a deployment runs in: tenant, subscription, resource group, deployment name, the
//! `environment()` values and a clock. The server fills it from the request and its own
//! configuration.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::resource_id::ResourceId;

/// Where time comes from (`utcNow()`, operation timestamps), in unix seconds.
pub trait Clock: Send + Sync {
    /// Seconds since the unix epoch, UTC.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A clock stuck at one instant (tests, reproducible what-if).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// The resource group a deployment targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceGroupInfo {
    /// Group name.
    pub name: String,
    /// Group location (what `resourceGroup().location` answers).
    pub location: String,
}

/// The cloud's endpoints, as `environment()` reports them. keyhold passes its own endpoints
/// and vault suffix, so templates that build vault URIs from `environment().suffixes.keyvaultDns`
/// point at keyhold's vaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentInfo {
    /// Cloud name (`AzureCloud` in Azure).
    pub name: String,
    /// Management endpoint, with trailing slash (`https://management.azure.com/`).
    pub resource_manager: String,
    /// Login endpoint, with trailing slash (`https://login.microsoftonline.com/`).
    pub login_endpoint: String,
    /// Token audiences of the management endpoint.
    pub audiences: Vec<String>,
    /// Vault DNS suffix with leading dot (`.vault.azure.net`).
    pub keyvault_dns: String,
    /// Storage suffix without leading dot (`core.windows.net`).
    pub storage: String,
}

impl EnvironmentInfo {
    /// Azure public cloud's values.
    pub fn azure_cloud() -> Self {
        EnvironmentInfo {
            name: "AzureCloud".into(),
            resource_manager: "https://management.azure.com/".into(),
            login_endpoint: "https://login.microsoftonline.com/".into(),
            audiences: vec![
                "https://management.core.windows.net/".into(),
                "https://management.azure.com/".into(),
            ],
            keyvault_dns: ".vault.azure.net".into(),
            storage: "core.windows.net".into(),
        }
    }

    /// The object `environment()` returns (ARM's shape).
    pub fn to_value(&self) -> Value {
        json!({
            "name": self.name,
            "gallery": "",
            "graph": "",
            "portal": "",
            "graphAudience": "",
            "activeDirectoryDataLake": "",
            "batch": "",
            "media": "",
            "sqlManagement": "",
            "vmImageAliasDoc": "",
            "resourceManager": self.resource_manager,
            "authentication": {
                "loginEndpoint": self.login_endpoint,
                "audiences": self.audiences,
                "tenant": "common",
                "identityProvider": "AAD",
            },
            "suffixes": {
                "acrLoginServer": ".azurecr.io",
                "azureDatalakeAnalyticsCatalogAndJob": "",
                "azureDatalakeStoreFileSystem": "",
                "azureFrontDoorEndpointSuffix": "",
                "keyvaultDns": self.keyvault_dns,
                "sqlServerHostname": ".database.windows.net",
                "storage": self.storage,
            },
        })
    }
}

/// Everything a deployment runs in.
#[derive(Clone)]
pub struct DeploymentContext {
    /// Tenant (`subscription().tenantId`, `tenant().tenantId`).
    pub tenant_id: String,
    /// Subscription id.
    pub subscription_id: String,
    /// Subscription display name (`subscription().displayName`).
    pub subscription_display_name: String,
    /// The target resource group (at subscription scope: no name, and the deployment's
    /// location).
    pub resource_group: ResourceGroupInfo,
    /// A subscription-scope deployment: resources without an explicit scope are deployed at
    /// the subscription (resource groups, nested deployments into groups), and
    /// `resourceGroup()` is not available.
    pub at_subscription: bool,
    /// The deployment's name (`deployment().name`).
    pub deployment_name: String,
    /// What `environment()` returns.
    pub environment: Value,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Most resources deployed at once (at least 1).
    pub max_parallel: usize,
}

impl std::fmt::Debug for DeploymentContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeploymentContext")
            .field("tenant_id", &self.tenant_id)
            .field("subscription_id", &self.subscription_id)
            .field("resource_group", &self.resource_group)
            .field("at_subscription", &self.at_subscription)
            .field("deployment_name", &self.deployment_name)
            .finish_non_exhaustive()
    }
}

impl DeploymentContext {
    /// A context with Azure public cloud's `environment()`, the system clock, and 8 resources
    /// at a time.
    pub fn new(
        tenant_id: impl Into<String>,
        subscription_id: impl Into<String>,
        resource_group: impl Into<String>,
        location: impl Into<String>,
        deployment_name: impl Into<String>,
    ) -> Self {
        let subscription_id = subscription_id.into();
        DeploymentContext {
            tenant_id: tenant_id.into(),
            subscription_display_name: subscription_id.clone(),
            subscription_id,
            resource_group: ResourceGroupInfo {
                name: resource_group.into(),
                location: location.into(),
            },
            deployment_name: deployment_name.into(),
            environment: EnvironmentInfo::azure_cloud().to_value(),
            clock: Arc::new(SystemClock),
            max_parallel: 8,
            at_subscription: false,
        }
    }

    /// A subscription-scope deployment (`/subscriptions/{s}/providers/Microsoft.Resources/
    /// deployments/{name}`) stored in `location`.
    pub fn at_subscription(
        tenant_id: impl Into<String>,
        subscription_id: impl Into<String>,
        location: impl Into<String>,
        deployment_name: impl Into<String>,
    ) -> Self {
        let mut ctx =
            DeploymentContext::new(tenant_id, subscription_id, "", location, deployment_name);
        ctx.at_subscription = true;
        ctx
    }

    /// Replaces what `environment()` returns.
    pub fn with_environment(mut self, environment: &EnvironmentInfo) -> Self {
        self.environment = environment.to_value();
        self
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The target group's id.
    pub fn resource_group_id(&self) -> ResourceId {
        ResourceId::resource_group_id(&self.subscription_id, &self.resource_group.name)
    }

    /// The scope resources without an explicit one are deployed at: the target group, or the
    /// subscription for a subscription-scope deployment.
    pub fn scope_id(&self) -> String {
        if self.at_subscription {
            format!("/subscriptions/{}", self.subscription_id)
        } else {
            self.resource_group_id().to_string()
        }
    }

    /// This deployment's own id
    /// (`{scope}/providers/Microsoft.Resources/deployments/{name}`).
    pub fn deployment_id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Resources/deployments/{}",
            self.scope_id(),
            self.deployment_name
        )
    }
}
