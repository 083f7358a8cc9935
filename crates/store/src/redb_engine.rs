//! The embedded record engine: one redb file, one table keyed by `(namespace, key)`.
//!
//! Durability: redb commits with `Durability::Immediate` (its default, set explicitly here), so
//! a write transaction is fsynced before `commit()` returns and before we acknowledge. redb is
//! synchronous, so every call runs on tokio's blocking pool.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use redb::{
    Database, DatabaseError, Durability, ReadOnlyDatabase, ReadableDatabase, ReadableTable,
    TableDefinition,
};

use crate::error::StoreError;
use crate::record::{
    Batch, Committed, Op, Page, Record, RecordStore, validate_key, validate_namespace,
    validate_scan,
};
use crate::redb_overlay::OverlayBackend;

/// The records table. DO NOT CHANGE its name or types: existing stores depend on them.
const RECORDS: TableDefinition<(&str, &str), (u64, &[u8])> = TableDefinition::new("records");

/// A record store in one redb file.
#[derive(Clone)]
pub struct RedbRecordStore {
    db: Arc<Database>,
    path: PathBuf,
}

impl RedbRecordStore {
    /// Opens (or creates) the store file. A file that is not a redb database gives
    /// [`StoreError::Corrupt`]; a file held by another process gives [`StoreError::Locked`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(|e| open_error(path, e))?;
        let txn = db.begin_write().map_err(|e| engine(path, e))?;
        txn.open_table(RECORDS).map_err(|e| engine(path, e))?;
        txn.commit().map_err(|e| engine(path, e))?;
        Ok(Self {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    /// Reads one record from an existing store file **without modifying it** (a read-only
    /// open), so start-up can check a data directory before committing to use it. A file left
    /// by a crash, which only a writable open can repair, is repaired in memory instead
    /// (see `redb_overlay.rs`): the file itself is never written.
    pub fn read_only_get(
        path: &Path,
        namespace: &str,
        key: &str,
    ) -> Result<Option<Record>, StoreError> {
        validate_namespace(namespace)?;
        validate_key(key)?;
        match ReadOnlyDatabase::open(path) {
            Ok(db) => read_one(&db, path, namespace, key),
            Err(DatabaseError::RepairAborted) => {
                let backend = OverlayBackend::open(path).map_err(|e| corrupt(path, e))?;
                let db = Database::builder()
                    .create_with_backend(backend)
                    .map_err(|e| open_error(path, e))?;
                read_one(&db, path, namespace, key)
            }
            Err(e) => Err(open_error(path, e)),
        }
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies every record, with its version, into a new store file at `dest` (replaced if it
    /// exists) and makes it durable before returning the number of records copied.
    ///
    /// redb reuses freed pages but does not clear them, so a value that was replaced may stay
    /// readable in the file until its page is reused. A freshly written copy holds only the
    /// current values: the master-key rotation renames one over the store so that no page of it
    /// keeps a value sealed under the old key.
    pub async fn copy_to(&self, dest: &Path) -> Result<u64, StoreError> {
        let dest = dest.to_path_buf();
        self.blocking(move |db, path| {
            match std::fs::remove_file(&dest) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(engine(&dest, e)),
            }
            let out = Database::create(&dest).map_err(|e| open_error(&dest, e))?;
            let txn = db.begin_read().map_err(|e| engine(path, e))?;
            let table = txn.open_table(RECORDS).map_err(|e| engine(path, e))?;
            let mut copied = 0u64;
            let mut entries = table.iter().map_err(|e| engine(path, e))?.peekable();
            loop {
                let mut write = out.begin_write().map_err(|e| engine(&dest, e))?;
                // Intermediate commits need not reach the disk: the last one is immediate, and
                // a copy cut short is thrown away and made again.
                let last = entries.peek().is_none();
                {
                    let mut target = write.open_table(RECORDS).map_err(|e| engine(&dest, e))?;
                    for entry in entries.by_ref().take(10_000) {
                        let (k, v) = entry.map_err(|e| engine(path, e))?;
                        target
                            .insert(k.value(), v.value())
                            .map_err(|e| engine(&dest, e))?;
                        copied += 1;
                    }
                }
                let done = last || entries.peek().is_none();
                write
                    .set_durability(if done {
                        Durability::Immediate
                    } else {
                        Durability::None
                    })
                    .map_err(|e| engine(&dest, e))?;
                write.commit().map_err(|e| engine(&dest, e))?;
                if done {
                    return Ok(copied);
                }
            }
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database, &Path) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&db, &path))
            .await
            .map_err(|e| StoreError::Engine(format!("store task failed: {e}")))?
    }
}

fn read_one(
    db: &impl ReadableDatabase,
    path: &Path,
    namespace: &str,
    key: &str,
) -> Result<Option<Record>, StoreError> {
    let txn = db.begin_read().map_err(|e| corrupt(path, e))?;
    let table = match txn.open_table(RECORDS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(corrupt(path, e)),
    };
    let found = table.get((namespace, key)).map_err(|e| corrupt(path, e))?;
    Ok(found.map(|guard| {
        let (version, value) = guard.value();
        Record {
            version,
            value: value.to_vec(),
        }
    }))
}

fn open_error(path: &Path, err: DatabaseError) -> StoreError {
    match err {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StoreError::Locked(format!(
                "store file {} is in use by another process (is another keyhold running on \
                 this data directory?)",
                path.display()
            ))
        }
        DatabaseError::UpgradeRequired(v) => StoreError::Corrupt(format!(
            "store file {} has redb file format {v}, which this keyhold cannot read",
            path.display()
        )),
        other => corrupt(path, other),
    }
}

fn corrupt(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!(
        "store file {} is corrupted or not a keyhold store ({err}); restore it from a backup \
         or move it away",
        path.display()
    ))
}

fn engine(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(format!("{}: {err}", path.display()))
}

#[async_trait]
impl RecordStore for RedbRecordStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Record>, StoreError> {
        validate_namespace(namespace)?;
        validate_key(key)?;
        let (namespace, key) = (namespace.to_owned(), key.to_owned());
        self.blocking(move |db, path| {
            let txn = db.begin_read().map_err(|e| engine(path, e))?;
            let table = txn.open_table(RECORDS).map_err(|e| engine(path, e))?;
            let found = table
                .get((namespace.as_str(), key.as_str()))
                .map_err(|e| engine(path, e))?;
            Ok(found.map(|guard| {
                let (version, value) = guard.value();
                Record {
                    version,
                    value: value.to_vec(),
                }
            }))
        })
        .await
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(Committed { versions: vec![] });
        }
        self.blocking(move |db, path| {
            let mut txn = db.begin_write().map_err(|e| engine(path, e))?;
            txn.set_durability(Durability::Immediate)
                .map_err(|e| engine(path, e))?;
            let mut versions = Vec::with_capacity(batch.len());
            {
                let mut table = txn.open_table(RECORDS).map_err(|e| engine(path, e))?;
                for op in batch.into_ops() {
                    let (namespace, key, expect) = op.target();
                    let current = table
                        .get((namespace, key))
                        .map_err(|e| engine(path, e))?
                        .map(|guard| guard.value().0);
                    if !expect.holds(current) {
                        // Dropping the transaction without commit applies nothing.
                        return Err(StoreError::Conflict {
                            namespace: namespace.to_owned(),
                            key: key.to_owned(),
                            expected: expect,
                            actual: current,
                        });
                    }
                    match &op {
                        Op::Put {
                            namespace,
                            key,
                            value,
                            ..
                        } => {
                            let version = current.unwrap_or(0) + 1;
                            table
                                .insert(
                                    (namespace.as_str(), key.as_str()),
                                    (version, value.as_slice()),
                                )
                                .map_err(|e| engine(path, e))?;
                            versions.push(Some(version));
                        }
                        Op::Delete { namespace, key, .. } => {
                            table
                                .remove((namespace.as_str(), key.as_str()))
                                .map_err(|e| engine(path, e))?;
                            versions.push(None);
                        }
                        Op::Check { .. } => versions.push(None),
                    }
                }
            }
            txn.commit().map_err(|e| engine(path, e))?;
            Ok(Committed { versions })
        })
        .await
    }

    async fn scan(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        validate_scan(namespace, prefix, limit)?;
        let namespace = namespace.to_owned();
        let prefix = prefix.to_owned();
        let start_after = start_after.map(str::to_owned);
        self.blocking(move |db, path| {
            let txn = db.begin_read().map_err(|e| engine(path, e))?;
            let table = txn.open_table(RECORDS).map_err(|e| engine(path, e))?;
            let start = match &start_after {
                Some(after) if after.as_str() >= prefix.as_str() => {
                    Bound::Excluded((namespace.as_str(), after.as_str()))
                }
                _ => Bound::Included((namespace.as_str(), prefix.as_str())),
            };
            let range = table
                .range::<(&str, &str)>((start, Bound::Unbounded))
                .map_err(|e| engine(path, e))?;
            let mut items = Vec::new();
            let mut more = false;
            for entry in range {
                let (k, v) = entry.map_err(|e| engine(path, e))?;
                let (ns, key) = k.value();
                if ns != namespace || !key.starts_with(prefix.as_str()) {
                    break;
                }
                if items.len() == limit {
                    more = true;
                    break;
                }
                let (version, value) = v.value();
                items.push((
                    key.to_owned(),
                    Record {
                        version,
                        value: value.to_vec(),
                    },
                ));
            }
            let next = if more {
                items.last().map(|(k, _)| k.clone())
            } else {
                None
            };
            Ok(Page { items, next })
        })
        .await
    }
}
