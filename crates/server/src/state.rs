//! Shared application state handed to every request.

use std::sync::Arc;

use keyhold_crypto::Sealer;
use keyhold_store::{BlobStore, RecordStore};

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
    sealer: Sealer,
}

impl AppState {
    /// Assembles the state once start-up succeeded.
    pub fn new(
        config: Config,
        public_port: u16,
        records: Arc<dyn RecordStore>,
        blobs: Arc<dyn BlobStore>,
        sealer: Sealer,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                public_port,
                records,
                blobs,
                sealer,
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
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }
}
