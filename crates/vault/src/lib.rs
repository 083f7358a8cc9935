//! keyhold's key vault: vaults (soft delete, purge protection, access policies or RBAC,
//! firewall), RSA keys with versions, soft delete, backup/restore and rotation, and the key
//! operations of the Azure Key Vault keys API.
//!
//! Key material at rest is sealed under a per-vault key, which is itself sealed under the
//! server's master key; private keys never leave the vault (no export API). Unsealed private
//! keys are cached in memory (not `Debug`, not `Clone`, zeroized by aws-lc when dropped) so that
//! steady-state unwraps do not unseal again.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod access;
pub mod audit;
mod backup;
mod backup_keys;
mod error;
mod keys;
mod maintenance;
mod material;
pub mod model;
mod ops;
pub mod reseal;
mod rotation;
mod tenant_move;
mod vaults;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keyhold_crypto::Sealer;
use keyhold_store::{RecordStore, RecordStoreExt};

pub use access::firewall_allows;
pub use access::policy_allows;
pub use access::{KeyPermission, permission_for};
pub use audit::{AuditEntry, AuditEvent, AuditLog};
pub use error::VaultError;
pub use keys::{CreateKey, KeyUpdate};
pub use maintenance::MaintenanceReport;
pub use material::{Hsm, KeyFamily, KeyType, PrivateMaterial, PublicParts, SoftwareHsm};
pub use model::{AccessPolicy, DeletedVault, KeyMeta, KeyVersion, NetworkAcls, Permissions, Vault};

pub use ops::{KeyOperation, OpRequest, OpResult};
pub use rotation::{RotationPolicy, parse_duration};
pub use vaults::{PolicyOperation, VaultSpec, validate_vault_name};

/// A change other parts of keyhold react to (revocation within a second). Serialisable, so the
/// nodes of a cluster can tell each other (see [`EventSink`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum VaultEvent {
    /// A key's state changed (disabled, expired, deleted, purged, recovered, new version).
    KeyChanged {
        /// Vault name.
        vault: String,
        /// Key name.
        key: String,
    },
    /// Access policies, RBAC mode or firewall of a vault changed, or the vault was deleted.
    VaultChanged {
        /// Vault name.
        vault: String,
    },
    /// Changes may have been missed (a node lost its cluster feed for a while): any vault may
    /// have changed, so every cached lookup is dropped and every account re-checked.
    AllChanged,
}

/// Where a node sends the changes it makes, so the other nodes of a cluster drop their cached
/// lookups and re-check their accounts (see [`Vaults::set_event_sink`]). Without one (a single
/// embedded node) changes stay in the process.
pub trait EventSink: Send + Sync {
    /// Sends one change; must not block (queue it).
    fn forward(&self, event: &VaultEvent);
}

/// The vault service.
pub struct Vaults {
    records: Arc<dyn RecordStore>,
    master: Arc<Sealer>,
    events: tokio::sync::broadcast::Sender<VaultEvent>,
    key_cache: Mutex<HashMap<String, Arc<PrivateMaterial>>>,
    hsm: Arc<dyn Hsm>,
    /// Vault records by name; dropped on every change of the vault (see `publish`).
    vault_cache: Mutex<HashMap<String, Vault>>,
    /// Resolved `get_key` lookups by `vault/key/version-or-empty`; dropped on every change of
    /// the key or its vault (see `publish`), so a disable or delete is seen by the next call.
    version_cache: Mutex<HashMap<String, KeyVersion>>,
    /// The cluster, told of every change made here.
    sink: std::sync::OnceLock<Arc<dyn EventSink>>,
    /// Bumped by every change before the caches are dropped. A lookup caches what it read only
    /// if no change happened since it began, so a slow read of the old state can never put
    /// that state back into the cache after the change dropped it (which would keep a revoked
    /// access policy or a disabled key alive in memory).
    cache_generation: std::sync::atomic::AtomicU64,
}

impl Vaults {
    /// The service over a record store; `master` seals the per-vault keys.
    pub fn new(records: Arc<dyn RecordStore>, master: Arc<Sealer>) -> Self {
        let hsm = Arc::new(SoftwareHsm::new(master.clone()));
        Self::with_hsm(records, master, hsm)
    }

    /// The service with another HSM backend for `-HSM` keys.
    pub fn with_hsm(records: Arc<dyn RecordStore>, master: Arc<Sealer>, hsm: Arc<dyn Hsm>) -> Self {
        let (events, _) = tokio::sync::broadcast::channel(1024);
        Self {
            records,
            master,
            hsm,
            events,
            key_cache: Mutex::new(HashMap::new()),
            vault_cache: Mutex::new(HashMap::new()),
            version_cache: Mutex::new(HashMap::new()),
            sink: std::sync::OnceLock::new(),
            cache_generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The cache generation a lookup starts with (see `cache_generation`).
    pub(crate) fn cache_generation(&self) -> u64 {
        self.cache_generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether no change happened since `generation` (checked under the cache's lock).
    pub(crate) fn unchanged_since(&self, generation: u64) -> bool {
        self.cache_generation() == generation
    }

    /// Sends every change made by this node to `sink` too (set once, at start).
    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) {
        let _ = self.sink.set(sink);
    }

    /// Applies a change another node made: drops the cached lookups it affects and tells this
    /// node's subscribers, without sending it back to the cluster.
    pub fn apply_remote(&self, event: VaultEvent) {
        self.publish_local(event);
    }

    /// Subscribes to vault events.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<VaultEvent> {
        self.events.subscribe()
    }

    /// Tells subscribers that role assignments at `scope` changed: every vault at or under the
    /// scope (or holding it) gets a `VaultChanged` event, so RBAC revocations apply at once.
    pub async fn notify_access_changed(&self, scope: &str) -> Result<(), VaultError> {
        let scope = scope.trim_end_matches('/').to_ascii_lowercase();
        for (_, vault) in self
            .records
            .scan_typed::<Vault>(vaults::VAULTS, "", 100_000)
            .await?
        {
            let id = vault.resource_id().to_ascii_lowercase();
            let covers = |outer: &str, inner: &str| {
                inner == outer || inner.starts_with(&format!("{outer}/"))
            };
            if covers(&scope, &id) || covers(&id, &scope) {
                self.publish(VaultEvent::VaultChanged { vault: vault.name });
            }
        }
        Ok(())
    }

    /// Every write goes through here: the in-memory lookups it affects are dropped first, then
    /// subscribers hear of it.
    fn publish(&self, event: VaultEvent) {
        if let Some(sink) = self.sink.get() {
            sink.forward(&event);
        }
        self.publish_local(event);
    }

    fn publish_local(&self, event: VaultEvent) {
        self.cache_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let prefix = match &event {
            VaultEvent::KeyChanged { vault, key } => format!("{vault}/{key}/"),
            VaultEvent::VaultChanged { vault } => {
                if let Ok(mut cache) = self.vault_cache.lock() {
                    cache.remove(vault);
                }
                format!("{vault}/")
            }
            VaultEvent::AllChanged => {
                if let Ok(mut cache) = self.vault_cache.lock() {
                    cache.clear();
                }
                String::new()
            }
        };
        if let Ok(mut cache) = self.version_cache.lock() {
            cache.retain(|k, _| !k.starts_with(&prefix));
        }
        let _ = self.events.send(event);
    }

    /// Unix seconds now.
    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}
