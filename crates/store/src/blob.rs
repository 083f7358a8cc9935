//! Blobs: streamed, atomically published objects (readers see nothing or the whole object),
//! durable once `commit` returns. Only ciphertext is ever handed to a blob store.

use std::pin::Pin;

use async_trait::async_trait;

use crate::error::StoreError;

/// Maximum blob key length in bytes.
pub const MAX_BLOB_KEY_LEN: usize = 512;

/// A stored blob's name and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A blob being read.
pub struct BlobReader {
    /// Size in bytes.
    pub size: u64,
    /// The content, streamed.
    pub reader: Pin<Box<dyn tokio::io::AsyncRead + Send>>,
}

/// A blob engine.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts writing `key`; the object becomes visible (replacing any old one) at `commit`.
    async fn begin_put(&self, key: &str) -> Result<Box<dyn BlobUpload>, StoreError>;
    /// Opens `key` for reading; [`StoreError::NotFound`] if absent.
    async fn get(&self, key: &str) -> Result<BlobReader, StoreError>;
    /// Size of `key`, if present.
    async fn head(&self, key: &str) -> Result<Option<BlobInfo>, StoreError>;
    /// Removes `key` durably; `false` if it was absent.
    async fn delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Keys under `prefix` in byte order, strictly after `start_after`, at most `limit`.
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BlobInfo>, StoreError>;
}

/// An upload in progress. Dropping it without `commit` discards it.
#[async_trait]
pub trait BlobUpload: Send {
    /// Appends bytes.
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Publishes the object atomically and durably.
    async fn commit(self: Box<Self>) -> Result<BlobInfo, StoreError>;
    /// Discards the upload; nothing is left behind.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// Checks a list request's page size (1..=1000, as object stores page).
pub fn validate_blob_list_limit(limit: usize) -> Result<(), StoreError> {
    if limit == 0 || limit > 1000 {
        return Err(StoreError::InvalidKey("list limit must be 1..=1000".into()));
    }
    Ok(())
}

/// Blob keys: `/`-separated segments of `[A-Za-z0-9._=-]`, no empty, `.` or `..` segment,
/// at most 512 bytes.
pub fn validate_blob_key(key: &str) -> Result<(), StoreError> {
    let bad = |why: &str| Err(StoreError::InvalidKey(format!("blob key {key:?}: {why}")));
    if key.is_empty() || key.len() > MAX_BLOB_KEY_LEN {
        return bad("must be 1-512 bytes");
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return bad("has an empty, '.' or '..' segment");
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._=-".contains(&b))
        {
            return bad("segments may hold only [A-Za-z0-9._=-]");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules() {
        for ok in ["a", "acct/files/file-1", "x=1/y.z_w-v"] {
            assert!(validate_blob_key(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(513);
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "../a",
            "a/./b",
            "a b",
            "a~",
            "é",
            long.as_str(),
        ] {
            assert!(validate_blob_key(bad).is_err(), "{bad}");
        }
    }
}
