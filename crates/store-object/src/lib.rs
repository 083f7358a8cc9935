//! keyhold's object-store blob engine: the blob traits over S3-compatible stores and Azure
//! Blob Storage, through the `object_store` crate, for nodes that share one bucket.
//!
//! - **Only ciphertext.** Callers hand this engine sealed objects (the platform encrypts
//!   before it writes); nothing here sees a key or plaintext.
//! - **Atomic publication.** An object smaller than one part is sent with a single `PUT`; a
//!   larger one as a multipart upload whose parts stay invisible until `complete`. Readers see
//!   the old object or the whole new one, never a part (both services guarantee this).
//! - **Constant memory.** An upload holds at most one part being filled plus
//!   [`MAX_PARTS_IN_FLIGHT`] parts being sent, whatever the object's size.
//! - **Durability.** Both services acknowledge a `PUT` or a completed multipart upload only
//!   once the object is stored durably.
//! - **Names.** Key `a/b` is stored as object `<prefix>/a/b~`. The `~` (not allowed in keys)
//!   lets a key `a` and a key `a/b` coexist on servers that keep objects as files (s3s-fs),
//!   as they do on S3 and Azure; it is the same layout as the local engine.
//! - **Outages** are [`StoreError::Unavailable`] (the API answers 503 with `Retry-After`);
//!   an upload interrupted by one is aborted, leaving nothing visible.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "test-support")]
mod azure_admin;
mod settings;
#[cfg(feature = "test-support")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use keyhold_store::{BlobInfo, BlobReader, BlobStore, BlobUpload, StoreError, validate_blob_key};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

pub use settings::{BlobUrl, open_url};

/// Appended to every object name (see the module docs).
const NAME_SUFFIX: char = '~';

/// Part size of multipart uploads (S3 needs at least 5 MiB for every part but the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts sent at the same time by one upload.
pub const MAX_PARTS_IN_FLIGHT: usize = 2;

/// Blobs in an object store, under an optional key prefix.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// Prepended to every key (`""` or ending in `/`).
    prefix: String,
}

/// Maps an object-store error. Messages name the operation and the object, never
/// credentials (object_store's messages do not include them).
fn object_error(err: object_store::Error) -> StoreError {
    match err {
        object_store::Error::NotFound { path, .. } => StoreError::NotFound(path),
        object_store::Error::InvalidPath { source } => StoreError::InvalidKey(source.to_string()),
        // Connection failures, timeouts, throttling and 5xx answers after object_store's
        // own retries: retryable.
        other => StoreError::Unavailable(format!("object store: {other}")),
    }
}

impl ObjectBlobStore {
    /// The engine over `store`; keys are stored under `prefix` (for example `keyhold/`).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self, StoreError> {
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            validate_blob_key(prefix)?;
        }
        Ok(Self {
            store,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }

    fn path(&self, key: &str) -> Result<Path, StoreError> {
        validate_blob_key(key)?;
        Path::parse(format!("{}{key}{NAME_SUFFIX}", self.prefix))
            .map_err(|e| StoreError::InvalidKey(e.to_string()))
    }

    /// The key of a stored path, if it is one of ours.
    fn key_of(&self, location: &Path) -> Option<String> {
        location
            .as_ref()
            .strip_prefix(self.prefix.as_str())
            .and_then(|k| k.strip_suffix(NAME_SUFFIX))
            .map(str::to_owned)
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn begin_put(&self, key: &str) -> Result<Box<dyn BlobUpload>, StoreError> {
        let path = self.path(key)?;
        Ok(Box::new(ObjectUpload {
            store: self.store.clone(),
            key: key.to_owned(),
            path,
            buffer: Vec::new(),
            multipart: None,
            size: 0,
        }))
    }

    async fn get(&self, key: &str) -> Result<BlobReader, StoreError> {
        let path = self.path(key)?;
        let result = self.store.get(&path).await.map_err(object_error)?;
        let size = result.meta.size;
        let stream = result
            .into_stream()
            .map_err(|e| std::io::Error::other(object_error(e)));
        Ok(BlobReader {
            size,
            reader: Box::pin(tokio_util::io::StreamReader::new(stream)),
        })
    }

    async fn head(&self, key: &str) -> Result<Option<BlobInfo>, StoreError> {
        let path = self.path(key)?;
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(BlobInfo {
                key: key.to_owned(),
                size: meta.size,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        // Object stores delete idempotently and do not say whether the object was there.
        if self.head(key).await?.is_none() {
            return Ok(false);
        }
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(object_error(e)),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BlobInfo>, StoreError> {
        keyhold_store::validate_blob_list_limit(limit)?;
        // Object stores list by whole path segments: list the directory holding the prefix
        // and keep the keys that start with it.
        let full = format!("{}{prefix}", self.prefix);
        let directory = full.rfind('/').map(|end| Path::from(&full[..end]));
        // Every object of a key greater than `after` is named after the offset; the key
        // filter below drops `after` itself.
        let offset = start_after.map(|after| Path::from(format!("{}{after}", self.prefix)));
        let mut listing = match &offset {
            Some(offset) => self.store.list_with_offset(directory.as_ref(), offset),
            None => self.store.list(directory.as_ref()),
        };
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(object_error)?;
            let Some(key) = self.key_of(&meta.location) else {
                continue;
            };
            let after = start_after.is_none_or(|a| key.as_str() > a);
            if key.starts_with(prefix) && after {
                found.push(BlobInfo {
                    key,
                    size: meta.size,
                });
            }
        }
        // Listings come in key order from both services, but not from every emulator.
        found.sort_by(|a, b| a.key.cmp(&b.key));
        found.truncate(limit);
        Ok(found)
    }
}

/// An upload: buffered until it outgrows one part, then a multipart upload.
struct ObjectUpload {
    store: Arc<dyn ObjectStore>,
    key: String,
    path: Path,
    buffer: Vec<u8>,
    multipart: Option<WriteMultipart>,
    size: u64,
}

impl ObjectUpload {
    async fn abort_multipart(&mut self) {
        if let Some(multipart) = self.multipart.take()
            && let Err(err) = multipart.abort().await
        {
            tracing::warn!(key = %self.key, error = %err, "cannot abort a multipart upload; the service's lifecycle rules will remove its parts");
        }
    }
}

#[async_trait]
impl BlobUpload for ObjectUpload {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.size += chunk.len() as u64;
        if self.multipart.is_none() {
            if self.buffer.len() + chunk.len() <= PART_SIZE {
                self.buffer.extend_from_slice(chunk);
                return Ok(());
            }
            let upload = match self.store.put_multipart(&self.path).await {
                Ok(upload) => upload,
                Err(e) => return Err(object_error(e)),
            };
            let mut multipart = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            multipart.write(&std::mem::take(&mut self.buffer));
            self.multipart = Some(multipart);
        }
        let Some(multipart) = self.multipart.as_mut() else {
            return Err(StoreError::Engine("multipart upload vanished".into()));
        };
        if let Err(e) = multipart.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await {
            self.abort_multipart().await;
            return Err(object_error(e));
        }
        if let Some(multipart) = self.multipart.as_mut() {
            multipart.write(chunk);
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobInfo, StoreError> {
        let info = BlobInfo {
            key: self.key.clone(),
            size: self.size,
        };
        match self.multipart.take() {
            None => {
                let payload = PutPayload::from(std::mem::take(&mut self.buffer));
                self.store
                    .put(&self.path, payload)
                    .await
                    .map_err(object_error)?;
            }
            Some(multipart) => {
                // `finish` aborts the upload itself when it fails.
                multipart.finish().await.map_err(object_error)?;
            }
        }
        Ok(info)
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        self.abort_multipart().await;
        Ok(())
    }
}

impl Drop for ObjectUpload {
    fn drop(&mut self) {
        // Dropped without commit or abort: the parts are invisible; abort them in the
        // background so the bucket does not keep them.
        if let Some(multipart) = self.multipart.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = multipart.abort().await;
            });
        }
    }
}
