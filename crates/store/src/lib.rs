//! keyhold's storage layer: narrow, engine-neutral traits for records (versioned values,
//! compare-and-swap, atomic batches, prefix scans with paging) and blobs (streamed, atomically
//! published), and the embedded default engine (redb + local files, fsync on every commit).
//!
//! Every engine passes the same conformance suite (`conformance`, feature `test-support`).
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod blob;
mod codec;
mod embedded;
mod error;
mod ext;
mod local_blobs;
mod record;
mod redb_engine;
mod redb_overlay;

#[cfg(feature = "test-support")]
pub mod conformance;

pub use blob::{
    BlobInfo, BlobReader, BlobStore, BlobUpload, MAX_BLOB_KEY_LEN, validate_blob_key,
    validate_blob_list_limit,
};
pub use codec::{Versioned, decode, encode};
pub use embedded::EmbeddedStore;
pub use error::StoreError;
pub use ext::{CONFLICT_ATTEMPTS, MaybeConflict, RecordStoreExt, retry_conflicts};
pub use local_blobs::{LocalBlobStore, SHARED_TMP_MAX_IDLE};
pub use record::{
    Batch, Committed, MAX_BATCH_BYTES, MAX_BATCH_OPS, MAX_KEY_LEN, MAX_SCAN_LIMIT, MAX_VALUE_LEN,
    Op, Page, Precondition, Record, RecordStore, validate_key, validate_namespace, validate_scan,
};
pub use redb_engine::RedbRecordStore;
