//! keyhold's AI platform: accounts (`Microsoft.CognitiveServices/accounts`), their managed
//! identities, API keys and encryption settings — Microsoft-managed keys (keyhold's service
//! key) or a customer-managed key in a vault, guarded by every rule of docs/DESIGN.md section 4.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod accounts;
pub mod cmk;
pub mod deployments;
mod error;
pub mod files;
pub mod finetune;
mod finetune_worker;
pub mod jsonl;
pub mod keks;
mod key_versions;
pub mod metering;
pub mod model;
pub mod models;
pub mod projects;
pub mod reprocess;
pub mod reseal;
pub mod responder;
pub mod scratch;
mod tenant_move;
pub mod trainer;
mod watch;
pub mod workspaces;

use std::sync::Arc;

use std::collections::HashMap;
use std::sync::Mutex;

use keyhold_crypto::{Aes256Key, Sealer};
use keyhold_identity::Identity;
use keyhold_store::{BlobStore, RecordStore};

pub use accounts::{AccountSpec, EncryptionRequest, RETENTION_SECS, validate_account_name};
pub use cmk::{CmkRequest, KeyFacts, KeyVaultAccess, VaultFacts};
pub use error::PlatformError;
pub use model::{
    Account, AccountIdentity, CmkSettings, DeletedAccount, Encryption, KeyStatus, WorkspaceSettings,
};
pub use watch::Transition;

/// The platform service.
pub struct Platform {
    records: Arc<dyn RecordStore>,
    blobs: Arc<dyn BlobStore>,
    master: Arc<Sealer>,
    identity: Arc<Identity>,
    access: Arc<dyn KeyVaultAccess>,
    /// Unwrapped KEKs by `account/kek-id`.
    kek_cache: Mutex<HashMap<String, Arc<Aes256Key>>>,
    /// Deployed models in memory by `account/deployment`.
    live: Mutex<HashMap<String, Arc<deployments::Live>>>,
    /// The upstream inference endpoint, when configured.
    upstream: Option<Arc<dyn deployments::UpstreamChat>>,
    /// Tokens served and not yet added to the stored counters, by account.
    meters: Mutex<HashMap<String, metering::TokenCounts>>,
    /// SHA-256 of each account's two API keys, by account, with the sealed keys they were
    /// computed from (a regenerated key invalidates the entry). Never the keys themselves.
    key_digests: Mutex<HashMap<String, KeyDigests>>,
    /// Held while a flush moves counts from `meters` to the store, so that a reader never sees
    /// them in neither place.
    meter_flush: tokio::sync::Mutex<()>,
}

/// The sealed API keys of an account and the SHA-256 of each key in clear.
type KeyDigests = (Vec<String>, [[u8; 32]; 2]);

impl Platform {
    /// The service over a record store, the master key (API keys are sealed under it), the
    /// identity service (managed identities) and vault access (CMK checks); objects go to `blobs`.
    pub fn new(
        records: Arc<dyn RecordStore>,
        blobs: Arc<dyn BlobStore>,
        master: Arc<Sealer>,
        identity: Arc<Identity>,
        access: Arc<dyn KeyVaultAccess>,
    ) -> Self {
        Self {
            records,
            blobs,
            master,
            identity,
            access,
            kek_cache: Mutex::new(HashMap::new()),
            live: Mutex::new(HashMap::new()),
            upstream: None,
            meters: Mutex::new(HashMap::new()),
            key_digests: Mutex::new(HashMap::new()),
            meter_flush: tokio::sync::Mutex::new(()),
        }
    }

    /// Serves base models (and foreign artifacts) through an upstream endpoint.
    pub fn with_upstream(mut self, upstream: Arc<dyn deployments::UpstreamChat>) -> Self {
        self.upstream = Some(upstream);
        self
    }

    /// Unix seconds now.
    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}
