//! Conveniences on top of [`RecordStore`] for the common single-record cases and typed records.

use async_trait::async_trait;

use crate::codec::{Versioned, decode, encode};
use crate::error::StoreError;
use crate::record::{Batch, Precondition, Record, RecordStore};

/// Extra methods for every record store (including `dyn RecordStore`).
#[async_trait]
pub trait RecordStoreExt: RecordStore {
    /// Unconditional put; returns the new version.
    async fn put(&self, namespace: &str, key: &str, value: Vec<u8>) -> Result<u64, StoreError> {
        self.put_with(namespace, key, value, Precondition::Any)
            .await
    }

    /// Creates the record; [`StoreError::Conflict`] if it exists.
    async fn put_if_absent(
        &self,
        namespace: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<u64, StoreError> {
        self.put_with(namespace, key, value, Precondition::Absent)
            .await
    }

    /// Replaces the record only if it is still at `expected_version`.
    async fn compare_and_swap(
        &self,
        namespace: &str,
        key: &str,
        expected_version: u64,
        value: Vec<u8>,
    ) -> Result<u64, StoreError> {
        self.put_with(
            namespace,
            key,
            value,
            Precondition::Version(expected_version),
        )
        .await
    }

    /// Put with an explicit precondition.
    async fn put_with(
        &self,
        namespace: &str,
        key: &str,
        value: Vec<u8>,
        expect: Precondition,
    ) -> Result<u64, StoreError> {
        let committed = self
            .commit(Batch::new().put_if(namespace, key, value, expect))
            .await?;
        committed
            .versions
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| StoreError::Engine("put returned no version".into()))
    }

    /// Deletes the record (no error if absent).
    async fn delete(&self, namespace: &str, key: &str) -> Result<(), StoreError> {
        self.commit(Batch::new().delete(namespace, key))
            .await
            .map(|_| ())
    }

    /// Deletes the record only if it is at `expected_version`.
    async fn delete_if_version(
        &self,
        namespace: &str,
        key: &str,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.commit(Batch::new().delete_if(namespace, key, Precondition::Version(expected_version)))
            .await
            .map(|_| ())
    }

    /// Reads and decodes a typed record, with its version.
    async fn get_typed<T: Versioned + Send>(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<(T, u64)>, StoreError> {
        match self.get(namespace, key).await? {
            Some(record) => Ok(Some((decode(&record.value)?, record.version))),
            None => Ok(None),
        }
    }

    /// Encodes and writes a typed record with a precondition; returns the new version.
    async fn put_typed<T: Versioned + Sync>(
        &self,
        namespace: &str,
        key: &str,
        value: &T,
        expect: Precondition,
    ) -> Result<u64, StoreError> {
        self.put_with(namespace, key, encode(value)?, expect).await
    }

    /// Every record under `prefix`, paging internally; fails if there are more than `max`.
    async fn scan_all(
        &self,
        namespace: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<(String, Record)>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.scan(namespace, prefix, after.as_deref(), 1000).await?;
            out.extend(page.items);
            if out.len() > max {
                return Err(StoreError::TooLarge {
                    what: "scan result (records)",
                    limit: max as u64,
                });
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }
    /// Every record under `prefix`, decoded as `T`, with its key; fails if there are more
    /// than `max`.
    async fn scan_typed<T: Versioned + Send>(
        &self,
        namespace: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<(String, T)>, StoreError> {
        self.scan_all(namespace, prefix, max)
            .await?
            .into_iter()
            .map(|(key, record)| Ok((key, decode(&record.value)?)))
            .collect()
    }
}

impl<S: RecordStore + ?Sized> RecordStoreExt for S {}
