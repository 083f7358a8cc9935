//! The schema, as numbered migrations applied in order. A migration, once released, never
//! changes: a change is a new migration.

use keyhold_store::StoreError;
use tokio_postgres::Client;

/// `(version, what it does, SQL)`.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "records: (namespace, key) -> (version, value)",
    "CREATE TABLE keyhold_records (
         namespace text COLLATE \"C\" NOT NULL,
         key bytea NOT NULL,
         version bigint NOT NULL CHECK (version > 0),
         value bytea NOT NULL,
         PRIMARY KEY (namespace, key)
     )",
)];

/// The newest schema version this keyhold knows.
pub fn latest() -> i32 {
    MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
}

/// Any number; the same for every keyhold node, so concurrent starts take turns.
const LOCK_ID: i64 = 0x6b65_7968_6f6c_6401;

/// Applies the migrations the database lacks, in one transaction under an advisory lock;
/// returns the schema version now in force.
pub async fn apply(client: &mut Client) -> Result<i32, StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(crate::engine::pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_ID])
        .await
        .map_err(crate::engine::pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS keyhold_schema_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(crate::engine::pg_error)?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM keyhold_schema_migrations",
            &[],
        )
        .await
        .map_err(crate::engine::pg_error)?
        .get(0);
    if current > latest() {
        return Err(StoreError::Corrupt(format!(
            "the database has keyhold schema version {current}, newer than this keyhold knows \
             ({}); run a keyhold at least as new as the one that migrated it",
            latest()
        )));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)
            .await
            .map_err(crate::engine::pg_error)?;
        tx.execute(
            "INSERT INTO keyhold_schema_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .await
        .map_err(crate::engine::pg_error)?;
        tracing::info!(version, name, "applied database migration");
    }
    tx.commit().await.map_err(crate::engine::pg_error)?;
    Ok(latest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0, i32::try_from(i).unwrap() + 1, "{}", m.1);
        }
        assert_eq!(latest(), i32::try_from(MIGRATIONS.len()).unwrap());
    }
}
