//! keyhold's PostgreSQL record engine: the same record traits as the embedded redb engine
//! (versioned values, compare-and-swap, atomic batches, prefix scans with paging), for running
//! several keyhold nodes over one database.
//!
//! - **Atomicity and isolation.** A batch is one `SERIALIZABLE` transaction; every precondition
//!   is read inside it (`FOR UPDATE`), so a batch applies entirely or not at all, exactly as if
//!   batches ran one after another, which is what the embedded engine does. Serialization
//!   failures and deadlocks are retried inside the engine; a precondition that no longer holds
//!   is a [`StoreError::Conflict`] like everywhere else.
//! - **Durability.** A batch is acknowledged after PostgreSQL's `COMMIT` returned, with
//!   `synchronous_commit=on` forced on every connection; a server running with `fsync=off` is
//!   refused at start. A connection lost during `COMMIT` is reported as
//!   [`StoreError::Unavailable`] (the outcome is unknown; callers retry with their
//!   preconditions, which makes a repeated write safe).
//! - **Ordering.** Keys are stored as `bytea`, so scans order them bytewise, as redb does.
//! - **Change feed.** [`change_feed`]: nodes tell each other of changes through
//!   `LISTEN/NOTIFY`, so in-memory lookups stay coherent across a cluster.
//! - **Schema.** Versioned migrations ([`migrations`]) are applied at start under an advisory
//!   lock, so nodes starting together apply each migration once; a database migrated by a newer
//!   keyhold is refused rather than misread.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod change_feed;
mod engine;
pub mod migrations;
#[cfg(feature = "test-support")]
pub mod testing;

pub use change_feed::FeedMessage;
pub use engine::{PgRecordStore, PgSettings};
