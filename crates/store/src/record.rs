//! Records: `(namespace, key) → (version, bytes)`, written only in atomic batches whose
//! operations may each carry a precondition (compare-and-swap).
//!
//! Versions start at 1 when a record is created and grow by exactly 1 with every write. A
//! deleted and re-created record starts again at 1; callers that need a never-reused token use
//! their own ids (every domain record carries one).

use async_trait::async_trait;

use crate::error::StoreError;

/// Maximum key length in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Maximum value length in bytes.
pub const MAX_VALUE_LEN: u64 = 16 * 1024 * 1024;
/// Maximum operations per batch.
pub const MAX_BATCH_OPS: usize = 1000;
/// Maximum total value bytes per batch.
pub const MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;
/// Maximum page size of a scan.
pub const MAX_SCAN_LIMIT: usize = 1000;

/// A stored value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1 on create, +1 on every write.
    pub version: u64,
    /// The value bytes.
    pub value: Vec<u8>,
}

/// What an operation requires of the record's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Nothing.
    Any,
    /// The record must not exist.
    Absent,
    /// The record must exist.
    Exists,
    /// The record must exist with exactly this version.
    Version(u64),
}

impl Precondition {
    /// Whether a record with version `actual` (`None`: absent) satisfies this.
    pub fn holds(self, actual: Option<u64>) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Absent => actual.is_none(),
            Precondition::Exists => actual.is_some(),
            Precondition::Version(v) => actual == Some(v),
        }
    }
}

/// One operation of a batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create or replace.
    Put {
        /// Namespace.
        namespace: String,
        /// Key.
        key: String,
        /// New value.
        value: Vec<u8>,
        /// Precondition.
        expect: Precondition,
    },
    /// Remove (absent records are fine unless the precondition says otherwise).
    Delete {
        /// Namespace.
        namespace: String,
        /// Key.
        key: String,
        /// Precondition.
        expect: Precondition,
    },
    /// Only check a precondition.
    Check {
        /// Namespace.
        namespace: String,
        /// Key.
        key: String,
        /// Precondition.
        expect: Precondition,
    },
}

impl Op {
    /// The (namespace, key, precondition) of this operation.
    pub fn target(&self) -> (&str, &str, Precondition) {
        match self {
            Op::Put {
                namespace,
                key,
                expect,
                ..
            }
            | Op::Delete {
                namespace,
                key,
                expect,
            }
            | Op::Check {
                namespace,
                key,
                expect,
            } => (namespace, key, *expect),
        }
    }
}

/// An atomic group of operations: all are applied, or none.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an unconditional put.
    pub fn put(self, namespace: &str, key: &str, value: Vec<u8>) -> Self {
        self.put_if(namespace, key, value, Precondition::Any)
    }
    /// Adds a conditional put.
    pub fn put_if(
        mut self,
        namespace: &str,
        key: &str,
        value: Vec<u8>,
        expect: Precondition,
    ) -> Self {
        self.ops.push(Op::Put {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value,
            expect,
        });
        self
    }
    /// Adds an unconditional delete.
    pub fn delete(self, namespace: &str, key: &str) -> Self {
        self.delete_if(namespace, key, Precondition::Any)
    }
    /// Adds a conditional delete.
    pub fn delete_if(mut self, namespace: &str, key: &str, expect: Precondition) -> Self {
        self.ops.push(Op::Delete {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            expect,
        });
        self
    }
    /// Adds a precondition check.
    pub fn check(mut self, namespace: &str, key: &str, expect: Precondition) -> Self {
        self.ops.push(Op::Check {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            expect,
        });
        self
    }
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    /// The operations.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }
    /// Consumes the batch.
    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// Checks names and limits; engines call this before touching storage.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.ops.len() > MAX_BATCH_OPS {
            return Err(StoreError::TooLarge {
                what: "batch (operations)",
                limit: MAX_BATCH_OPS as u64,
            });
        }
        let mut total = 0u64;
        for op in &self.ops {
            let (namespace, key, _) = op.target();
            validate_namespace(namespace)?;
            validate_key(key)?;
            if let Op::Put { value, .. } = op {
                let len = value.len() as u64;
                if len > MAX_VALUE_LEN {
                    return Err(StoreError::TooLarge {
                        what: "record value",
                        limit: MAX_VALUE_LEN,
                    });
                }
                total += len;
            }
        }
        if total > MAX_BATCH_BYTES {
            return Err(StoreError::TooLarge {
                what: "batch",
                limit: MAX_BATCH_BYTES,
            });
        }
        Ok(())
    }
}

/// The outcome of a committed batch: per operation, the new version (puts) or `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// One entry per operation, in order.
    pub versions: Vec<Option<u64>>,
}

/// A page of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Keys (without namespace) and records, in byte order of the key.
    pub items: Vec<(String, Record)>,
    /// Pass as `start_after` to continue; `None` when the scan is complete.
    pub next: Option<String>,
}

/// A record engine. Every write is durable before it is acknowledged.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    /// Reads one record.
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Record>, StoreError>;
    /// Applies a batch atomically: all operations or none (a failed precondition gives
    /// [`StoreError::Conflict`] and applies nothing). Durable before `Ok`.
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError>;
    /// Records whose key starts with `prefix`, in byte order, strictly after `start_after`,
    /// at most `limit` (1..=1000).
    async fn scan(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError>;
}

/// Namespaces: 1–64 of `[a-z0-9_.-]`.
pub fn validate_namespace(namespace: &str) -> Result<(), StoreError> {
    let ok = !namespace.is_empty()
        && namespace.len() <= 64
        && namespace
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(format!(
            "namespace {namespace:?} must be 1-64 of [a-z0-9_.-]"
        )))
    }
}

/// Keys: 1–1024 bytes of UTF-8 without NUL.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.contains('\0') {
        return Err(StoreError::InvalidKey(format!(
            "key must be 1-{MAX_KEY_LEN} bytes without NUL (got {} bytes)",
            key.len()
        )));
    }
    Ok(())
}

/// Validates scan arguments.
pub fn validate_scan(namespace: &str, prefix: &str, limit: usize) -> Result<(), StoreError> {
    validate_namespace(namespace)?;
    if prefix.len() > MAX_KEY_LEN || prefix.contains('\0') {
        return Err(StoreError::InvalidKey(
            "scan prefix is too long or has NUL".into(),
        ));
    }
    if limit == 0 || limit > MAX_SCAN_LIMIT {
        return Err(StoreError::InvalidKey(format!(
            "scan limit must be 1..={MAX_SCAN_LIMIT}"
        )));
    }
    Ok(())
}
