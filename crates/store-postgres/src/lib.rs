//! keyhold's PostgreSQL record engine: the same record traits as the embedded redb engine
//! (versioned values, compare-and-swap, atomic batches, prefix scans with paging), for running
//! several keyhold nodes over one database.
//!
//! - **Atomicity and isolation.** A batch is one transaction that first takes a transaction
//!   lock (`pg_advisory_xact_lock`) for every record it names, whether the record exists or
//!   not, in one global order; then it reads each precondition and applies its writes. Batches
//!   that share a record therefore run one after another, exactly as the embedded engine runs
//!   all batches, and batches on different records run in parallel without the false conflicts
//!   of `SERIALIZABLE` predicate locks (measured: 16 writers on distinct keys exhausted every
//!   retry under `SERIALIZABLE`). A precondition that no longer holds is a
//!   [`StoreError::Conflict`] like everywhere else; deadlocks cannot occur and a racing insert
//!   (impossible under the locks) would be retried.
//! - **Durability.** A batch is acknowledged after PostgreSQL's `COMMIT` returned, with
//!   `synchronous_commit=on` forced on every connection; a server running with `fsync=off` is
//!   refused at start. A connection lost during `COMMIT` is reported as
//!   [`StoreError::Unavailable`] (the outcome is unknown; callers retry with their
//!   preconditions, which makes a repeated write safe).
//! - **Ordering.** Keys are stored as `bytea`, so scans order them bytewise, as redb does.
//! - **Change feed.** [`change_feed`]: nodes tell each other of changes through
//!   `LISTEN/NOTIFY`, so in-memory lookups stay coherent across a cluster.
//! - **Transport.** [`connection`]: libpq-style URLs (`sslmode`, `sslrootcert`), TLS through
//!   rustls with every certificate verified.
//! - **Schema.** Versioned migrations ([`migrations`]) are applied at start under an advisory
//!   lock, so nodes starting together apply each migration once; a database migrated by a newer
//!   keyhold is refused rather than misread.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod change_feed;
pub mod connection;
mod engine;
pub mod migrations;
#[cfg(feature = "test-support")]
pub mod testing;

pub use change_feed::FeedMessage;
pub use engine::{PgRecordStore, PgSettings};
