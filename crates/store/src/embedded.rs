//! The embedded default: records in `<data-dir>/store.redb`, blobs in `<data-dir>/blobs/`.

use std::path::Path;
use std::sync::Arc;

use crate::blob::BlobStore;
use crate::error::StoreError;
use crate::local_blobs::LocalBlobStore;
use crate::record::RecordStore;
use crate::redb_engine::RedbRecordStore;

/// Both engines of the embedded default.
pub struct EmbeddedStore {
    /// The record engine.
    pub records: Arc<dyn RecordStore>,
    /// The blob engine.
    pub blobs: Arc<dyn BlobStore>,
}

impl EmbeddedStore {
    /// Opens the stores inside an existing `data_dir` (the server checks and creates it).
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let records = RedbRecordStore::open(&data_dir.join("store.redb"))?;
        let blobs = LocalBlobStore::open(&data_dir.join("blobs"))?;
        Ok(Self {
            records: Arc::new(records),
            blobs: Arc::new(blobs),
        })
    }
}
