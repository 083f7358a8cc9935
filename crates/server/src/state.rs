//! Shared application state handed to every request.

use std::sync::Arc;

use keyhold_crypto::Sealer;
use keyhold_identity::Identity;
use keyhold_platform::Platform;
use keyhold_store::{BlobStore, RecordStore};
use keyhold_vault::{AuditLog, Vaults};
use uuid::Uuid;

use crate::config::Config;

/// Everything a handler may need. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    public_port: u16,
    records: Arc<dyn RecordStore>,
    blobs: Arc<dyn BlobStore>,
    sealer: Arc<Sealer>,
    identity: Arc<Identity>,
    vaults: Arc<Vaults>,
    audit: Arc<AuditLog>,
    platform: Arc<Platform>,
    workers: Arc<tokio::sync::Notify>,
    metrics: Arc<crate::metrics::Metrics>,
    default_tenant: Uuid,
}

/// The parts [`AppState::new`] assembles.
pub struct StateParts {
    /// Validated configuration.
    pub config: Config,
    /// The port clients reach.
    pub public_port: u16,
    /// Record store.
    pub records: Arc<dyn RecordStore>,
    /// Blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// Master-key sealer.
    pub sealer: Arc<Sealer>,
    /// Identity service.
    pub identity: Arc<Identity>,
    /// Vault service.
    pub vaults: Arc<Vaults>,
    /// Audit log.
    pub audit: Arc<AuditLog>,
    /// AI platform.
    pub platform: Arc<Platform>,
    /// Wakes the background workers (new work queued).
    pub workers: Arc<tokio::sync::Notify>,
    /// In-memory counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The bootstrap tenant (named in challenges when no other tenant is known).
    pub default_tenant: Uuid,
}

impl AppState {
    /// Assembles the state once start-up succeeded.
    pub fn new(parts: StateParts) -> Self {
        Self {
            inner: Arc::new(Inner {
                config: parts.config,
                public_port: parts.public_port,
                records: parts.records,
                blobs: parts.blobs,
                sealer: parts.sealer,
                identity: parts.identity,
                vaults: parts.vaults,
                audit: parts.audit,
                platform: parts.platform,
                workers: parts.workers,
                metrics: parts.metrics,
                default_tenant: parts.default_tenant,
            }),
        }
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The port clients reach this server on (the bound port, also when `--listen` used port 0).
    pub fn public_port(&self) -> u16 {
        self.inner.public_port
    }

    /// The record store.
    pub fn records(&self) -> &Arc<dyn RecordStore> {
        &self.inner.records
    }

    /// The blob store.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.inner.blobs
    }

    /// The master-key sealer.
    pub fn sealer(&self) -> &Arc<Sealer> {
        &self.inner.sealer
    }

    /// The identity service.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The vault service.
    pub fn vaults(&self) -> &Arc<Vaults> {
        &self.inner.vaults
    }

    /// The AI platform.
    pub fn platform(&self) -> &Platform {
        &self.inner.platform
    }

    /// In-memory counters.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// Wakes the background workers.
    pub fn notify_workers(&self) {
        self.inner.workers.notify_one();
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// A vault's URL: `https://{name}.{vault-domain}:{port}`.
    pub fn vault_url(&self, name: &str) -> String {
        format!(
            "https://{name}.{}:{}",
            self.inner.config.vault_domain, self.inner.public_port
        )
    }

    /// The bootstrap tenant.
    pub fn default_tenant(&self) -> Uuid {
        self.inner.default_tenant
    }

    /// `https://localhost:{port}`: the authority and management endpoint.
    pub fn service_url(&self) -> String {
        format!("https://localhost:{}", self.inner.public_port)
    }
}
