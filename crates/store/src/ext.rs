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

/// How many times [`retry_conflicts`] runs an operation that keeps losing races.
pub const CONFLICT_ATTEMPTS: usize = 16;

/// An error that may be a lost compare-and-swap race ([`StoreError::Conflict`], possibly
/// wrapped in a higher layer's error), which [`retry_conflicts`] runs again.
pub trait MaybeConflict {
    /// Whether this is a lost race: the operation may succeed if run again from a fresh read.
    fn is_conflict(&self) -> bool;
}

impl MaybeConflict for StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// Runs `operation` again while it fails with a conflict ([`MaybeConflict`]), at most
/// [`CONFLICT_ATTEMPTS`] times, then returns its last result. For server-side
/// read-modify-write work that reads afresh on every run, must be safe to repeat, and must not
/// fail only because a concurrent writer (another request, the revocation watcher, another
/// node) changed a record it read. Client-visible compare-and-swap (ETags, versions the client
/// sent) must not use it: there the conflict is the answer.
pub async fn retry_conflicts<T, E, F, Fut>(mut operation: F) -> Result<T, E>
where
    E: MaybeConflict,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(err) if err.is_conflict() && attempt < CONFLICT_ATTEMPTS => attempt += 1,
            other => return other,
        }
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    fn conflict() -> StoreError {
        StoreError::Conflict {
            namespace: "n".into(),
            key: "k".into(),
            expected: Precondition::Absent,
            actual: Some(1),
        }
    }

    #[tokio::test]
    async fn conflicts_are_retried_up_to_the_bound_and_other_errors_are_not() {
        let mut calls = 0;
        let won = retry_conflicts(|| {
            calls += 1;
            let n = calls;
            async move { if n < 3 { Err(conflict()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(won.unwrap(), 3, "the third run wins");

        let mut calls = 0;
        let lost: Result<(), _> = retry_conflicts(|| {
            calls += 1;
            async { Err(conflict()) }
        })
        .await;
        assert!(matches!(lost, Err(StoreError::Conflict { .. })));
        assert_eq!(calls, CONFLICT_ATTEMPTS, "bounded");

        let mut calls = 0;
        let failed: Result<(), _> = retry_conflicts(|| {
            calls += 1;
            async { Err(StoreError::InvalidKey("bad".into())) }
        })
        .await;
        assert!(matches!(failed, Err(StoreError::InvalidKey(_))));
        assert_eq!(calls, 1, "only conflicts are retried");
    }
}
