//! [`PgRecordStore`]: the record traits over a deadpool of tokio-postgres connections.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use keyhold_store::{
    Batch, Committed, Op, Page, Record, RecordStore, StoreError, validate_key, validate_namespace,
    validate_scan,
};
use tokio_postgres::IsolationLevel;
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connection::{ConnectionUrl, certificate_hint};

/// How many times a batch is re-run after a serialization failure or deadlock.
const MAX_TX_ATTEMPTS: u32 = 12;

/// Connection settings.
#[derive(Clone)]
pub struct PgSettings {
    /// `postgres://user[:password]@host[:port]/database[?options]` (never logged: it may hold a
    /// password); TLS options as in [`crate::connection`].
    pub url: String,
    /// Pool size per node.
    pub max_connections: usize,
    /// How long a request waits for a connection (or for connecting) before it fails with a
    /// retryable error.
    pub wait_timeout: Duration,
}

impl PgSettings {
    /// Defaults: 16 connections, 5 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            wait_timeout: Duration::from_secs(5),
        }
    }
}

impl PgSettings {
    /// Checks that `url` is a PostgreSQL connection URL naming a host and a database; the
    /// message never repeats the URL.
    pub fn validate_url(url: &str) -> Result<(), String> {
        let config = ConnectionUrl::parse(url)?.config;
        if config.get_hosts().is_empty() {
            return Err("the PostgreSQL URL names no host".into());
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err(
                "the PostgreSQL URL names no database (postgres://user@host/database)".into(),
            );
        }
        Ok(())
    }
}

impl std::fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSettings")
            .field("url", &"<redacted>")
            .field("max_connections", &self.max_connections)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

/// The PostgreSQL record engine.
#[derive(Clone)]
pub struct PgRecordStore {
    pub(crate) pool: Pool,
    /// The connection settings (for the change feed's own connection).
    pub(crate) config: tokio_postgres::Config,
    /// TLS for every connection (used when the server offers it or `sslmode` requires it).
    pub(crate) tls: MakeRustlsConnect,
}

/// Maps a PostgreSQL error to the store's error. Messages carry PostgreSQL's own message and
/// code, never parameter values (the `detail` field, which may quote a key, is left out).
pub(crate) fn pg_error(err: tokio_postgres::Error) -> StoreError {
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        let text = format!("PostgreSQL {code}: {}", db.message());
        // 08: connection exceptions; 57P: operator intervention (shutdown, restart);
        // 53: insufficient resources (too many connections, disk full).
        if code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") {
            return StoreError::Unavailable(text);
        }
        return StoreError::Engine(text);
    }
    // No database error: the connection failed or closed (I/O, TLS, timeout).
    match certificate_hint(&err) {
        Some(hint) => StoreError::Unavailable(format!("PostgreSQL connection failed: {hint}")),
        None => StoreError::Unavailable(format!("PostgreSQL connection failed: {err}")),
    }
}

pub(crate) fn pool_error(err: PoolError) -> StoreError {
    match err {
        PoolError::Backend(e) => pg_error(e),
        other => StoreError::Unavailable(format!("no PostgreSQL connection: {other}")),
    }
}

fn is_retryable_tx(err: &tokio_postgres::Error) -> bool {
    err.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

fn to_version(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_db_version(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Engine(format!("record version {v} overflows")))
}

/// The smallest byte string greater than every string starting with `prefix` (`None`: no
/// upper bound, for an empty prefix or one of only 0xFF bytes).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The first key of keyhold's record locks (`pg_advisory_xact_lock(int4, int4)`; the
/// two-key space is separate from the one-key space the migrations lock in).
const RECORD_LOCK_SPACE: i32 = 0x6b68_7265; // "khre"

/// The lock of each record a batch names, sorted and without repeats. Two records sharing a
/// 32-bit lock only serialize each other; correctness does not depend on the hash.
fn lock_ids(ops: &[Op]) -> Vec<i32> {
    let mut ids: Vec<i32> = ops
        .iter()
        .map(|op| {
            let (namespace, key, _) = op.target();
            record_lock(namespace, key)
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// FNV-1a over `namespace`, a separator no namespace contains, and `key`, folded to 32 bits.
fn record_lock(namespace: &str, key: &str) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in namespace.bytes().chain([0u8]).chain(key.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let folded = (hash ^ (hash >> 32)) as u32;
    i32::from_ne_bytes(folded.to_ne_bytes())
}

/// What one attempt of a batch ended with.
enum Attempt {
    Done(Committed),
    Refused(StoreError),
    Retry,
}

impl PgRecordStore {
    /// Connects, checks the server keeps commits durable, and applies the migrations.
    pub async fn connect(settings: &PgSettings) -> Result<Self, StoreError> {
        let url = ConnectionUrl::parse(&settings.url).map_err(StoreError::Engine)?;
        let tls = url.tls().map_err(StoreError::Engine)?;
        let mut config = url.config;
        // Forced per connection: a commit returns only once it is on disk.
        config.options("-c synchronous_commit=on");
        config.application_name("keyhold");
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(settings.wait_timeout);
        }
        config.keepalives(true);
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.wait_timeout))
            .create_timeout(Some(settings.wait_timeout))
            .recycle_timeout(Some(settings.wait_timeout))
            .build()
            .map_err(|e| StoreError::Engine(format!("PostgreSQL pool: {e}")))?;
        let mut client = pool.get().await.map_err(pool_error)?;
        let fsync: String = client
            .query_one("SHOW fsync", &[])
            .await
            .map_err(pg_error)?
            .get(0);
        if fsync != "on" {
            return Err(StoreError::Engine(
                "PostgreSQL runs with fsync=off, so a crash could lose acknowledged writes; \
                 keyhold refuses to use it (set fsync=on)"
                    .into(),
            ));
        }
        let version = crate::migrations::apply(&mut client).await?;
        tracing::info!(schema = version, "PostgreSQL record store ready");
        drop(client);
        Ok(Self { pool, config, tls })
    }

    /// Where the other keyhold sessions connected to this database come from (client
    /// addresses; `local` for a Unix socket): every session named `keyhold` except the one
    /// asking. A running node always holds at least its change-feed session, so maintenance
    /// that needs every node stopped (the master-key rotation) refuses while this is not empty.
    /// Call it from a store with one connection (`max_connections: 1`), or the store's own
    /// other connections are counted too.
    pub async fn other_sessions(&self) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                "SELECT coalesce(host(client_addr), 'local') FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = 'keyhold' \
                 AND pid <> pg_backend_pid() ORDER BY 1",
                &[],
            )
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect())
    }

    /// Runs a batch once; conflicts and retryable transaction failures are told apart.
    async fn attempt(&self, ops: &[Op]) -> Result<Attempt, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(pg_error)?;
        // Batches touching a common record run one after another: each takes a transaction
        // lock per record it names (present or not), in one global order, so they cannot
        // deadlock; batches on other records run in parallel.
        let lock = tx
            .prepare_cached("SELECT pg_advisory_xact_lock($1, $2)")
            .await
            .map_err(pg_error)?;
        for id in lock_ids(ops) {
            match tx.execute(&lock, &[&RECORD_LOCK_SPACE, &id]).await {
                Ok(_) => {}
                Err(e) if is_retryable_tx(&e) => return Ok(Attempt::Retry),
                Err(e) => return Err(pg_error(e)),
            }
        }
        let select = tx
            .prepare_cached(
                "SELECT version FROM keyhold_records WHERE namespace = $1 AND key = $2 FOR UPDATE",
            )
            .await
            .map_err(pg_error)?;
        let mut versions = Vec::with_capacity(ops.len());
        for op in ops {
            let (namespace, key, expect) = op.target();
            let found = match tx.query_opt(&select, &[&namespace, &key.as_bytes()]).await {
                Ok(row) => row.map(|r| to_version(r.get::<_, i64>(0))),
                Err(e) if is_retryable_tx(&e) => return Ok(Attempt::Retry),
                Err(e) => return Err(pg_error(e)),
            };
            if !expect.holds(found) {
                // Dropping the transaction rolls it back: nothing of the batch applies.
                return Ok(Attempt::Refused(StoreError::Conflict {
                    namespace: namespace.to_owned(),
                    key: key.to_owned(),
                    expected: expect,
                    actual: found,
                }));
            }
            let result = match op {
                Op::Put { value, .. } => {
                    let version = found.unwrap_or(0) + 1;
                    let db_version = to_db_version(version)?;
                    versions.push(Some(version));
                    if found.is_some() {
                        tx.execute(
                            "UPDATE keyhold_records SET version = $3, value = $4 \
                             WHERE namespace = $1 AND key = $2",
                            &[&namespace, &key.as_bytes(), &db_version, value],
                        )
                        .await
                    } else {
                        tx.execute(
                            "INSERT INTO keyhold_records (namespace, key, version, value) \
                             VALUES ($1, $2, $3, $4)",
                            &[&namespace, &key.as_bytes(), &db_version, value],
                        )
                        .await
                    }
                }
                Op::Delete { .. } => {
                    versions.push(None);
                    tx.execute(
                        "DELETE FROM keyhold_records WHERE namespace = $1 AND key = $2",
                        &[&namespace, &key.as_bytes()],
                    )
                    .await
                }
                Op::Check { .. } => {
                    versions.push(None);
                    Ok(0)
                }
            };
            match result {
                Ok(_) => {}
                // Two batches creating the same record: the loser re-runs and then sees it.
                Err(e) if is_retryable_tx(&e) || e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    return Ok(Attempt::Retry);
                }
                Err(e) => return Err(pg_error(e)),
            }
        }
        match tx.commit().await {
            Ok(()) => Ok(Attempt::Done(Committed { versions })),
            Err(e) if is_retryable_tx(&e) => Ok(Attempt::Retry),
            Err(e) => Err(pg_error(e)),
        }
    }
}

#[async_trait]
impl RecordStore for PgRecordStore {
    async fn get(&self, namespace: &str, key: &str) -> Result<Option<Record>, StoreError> {
        validate_namespace(namespace)?;
        validate_key(key)?;
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client
            .prepare_cached(
                "SELECT version, value FROM keyhold_records WHERE namespace = $1 AND key = $2",
            )
            .await
            .map_err(pg_error)?;
        let row = client
            .query_opt(&statement, &[&namespace, &key.as_bytes()])
            .await
            .map_err(pg_error)?;
        Ok(row.map(|r| Record {
            version: to_version(r.get(0)),
            value: r.get(1),
        }))
    }

    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(Committed { versions: vec![] });
        }
        let ops = batch.into_ops();
        for attempt in 1..=MAX_TX_ATTEMPTS {
            match self.attempt(&ops).await? {
                Attempt::Done(committed) => return Ok(committed),
                Attempt::Refused(conflict) => return Err(conflict),
                Attempt::Retry => {
                    // Back off a little more each time so contending batches spread out.
                    let pause = Duration::from_millis(u64::from(attempt) * 2);
                    tokio::time::sleep(pause).await;
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "the batch kept colliding with concurrent writers ({MAX_TX_ATTEMPTS} attempts); retry"
        )))
    }

    async fn scan(
        &self,
        namespace: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        validate_scan(namespace, prefix, limit)?;
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client
            .prepare_cached(
                "SELECT key, version, value FROM keyhold_records \
                 WHERE namespace = $1 AND key >= $2 AND key > $3 \
                   AND ($4::bytea IS NULL OR key < $4) \
                 ORDER BY key LIMIT $5",
            )
            .await
            .map_err(pg_error)?;
        let after = start_after.unwrap_or("").as_bytes();
        let end = prefix_end(prefix.as_bytes());
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &statement,
                &[&namespace, &prefix.as_bytes(), &after, &end, &fetch],
            )
            .await
            .map_err(pg_error)?;
        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(rows.len().min(limit));
        for row in rows.into_iter().take(limit) {
            let key: Vec<u8> = row.get(0);
            let key = String::from_utf8(key)
                .map_err(|_| StoreError::Corrupt("a stored key is not UTF-8".into()))?;
            items.push((
                key,
                Record {
                    version: to_version(row.get(1)),
                    value: row.get(2),
                },
            ));
        }
        let next = if more {
            items.last().map(|(k, _)| k.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        let rows: &[(&[u8], Option<&[u8]>)] = &[
            (b"", None),
            (b"a", Some(b"b")),
            (b"a/", Some(b"a0")),
            (b"a\xff", Some(b"b")),
            (b"\xff\xff", None),
        ];
        for (prefix, end) in rows {
            assert_eq!(prefix_end(prefix).as_deref(), *end, "{prefix:?}");
        }
    }

    #[test]
    fn settings_never_print_the_url() {
        let s = PgSettings::new("postgres://u:hunter2@db/keyhold");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn versions_convert() {
        assert_eq!(to_version(-1), 0);
        assert_eq!(to_db_version(5).unwrap(), 5);
        assert!(to_db_version(u64::MAX).is_err());
    }
}
