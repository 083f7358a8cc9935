//! The master-key rotation's state machine, over a record store and the data directory's
//! sealed file. `master_key_rotate.rs` opens the store and drives it.
//!
//! # Crash safety
//!
//! The invariant: **at every moment, either the old key opens everything, or the new key does**,
//! and the rotation record (see `master_key_check.rs`) says which, so running the command again
//! after a kill at any point finishes the job. Every step below is one atomic store batch (or
//! one synced file write or rename), each re-sealed record is written with compare-and-swap on
//! the version it was made from, and every step can be repeated.
//!
//! 1. **Start.** The check record must open with the old key. The rotation record is created
//!    (phase `Preparing`) with a check value under each key, which from now on names the two
//!    keys of this rotation: a rerun with any other key is refused before it changes anything,
//!    and no server starts.
//! 2. **Prepare.** For every master-sealed record, the re-sealed record is written as a
//!    *shadow* (`system.master_key_rotation/<namespace>/<key>`, with the version it was made
//!    from), in the same batch as a check that the original still has that version. The
//!    originals are untouched, so until the commit the old key alone opens all the data:
//!    `--abort` (old key only) deletes the shadows and the rotation record and leaves the data
//!    exactly as it was. A rerun skips records whose shadow matches their version. The CA key
//!    file gets its shadow (`ca.key.sealed.next`) the same way.
//! 3. **Commit.** One batch replaces the check record by one under the new key and sets the
//!    phase to `Committed`. From here every master-sealed value exists under the new key (as
//!    the original or as its shadow), so the new key alone is enough to finish; the old key is
//!    checked on reruns only to recognise the rotation.
//! 4. **Apply.** Each shadow replaces its original (compare-and-swap on the version it was
//!    made from) and is deleted in the same batch. An original that changed since it was
//!    prepared (a node that should have been stopped wrote it) is re-sealed again from what it
//!    holds now.
//! 5. **Verify.** Every master-sealed record and the CA key are opened with the new key; any
//!    value still under the old key (written after it was prepared) is re-sealed. Then the
//!    phase becomes `Verified`.
//! 6. **Finish** (`master_key_rotate.rs`): an embedded store file is rewritten, so no freed
//!    page keeps an old-sealed value; then one batch deletes the rotation record and adds the
//!    old key's check value to the history, after which only the new key opens the data.
//!
//! A batch that finds a record changed under it fails the command ([`RotationError::StoreChanged`]):
//! something else is writing, and the operator must stop it before running again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use keyhold_crypto::{CryptoError, Resealer, Sealer};
use keyhold_store::{Batch, MAX_KEY_LEN, Record, RecordStore, StoreError, Versioned, decode};
use serde::{Deserialize, Serialize};

use crate::data_dir::DataDirError;
use crate::master_key::{MasterKeyError, MasterKeyOrigin};
use crate::master_key_check::{
    CHECK_KEY, HISTORY_KEY, KeyHistory, ROTATION_KEY, RotationPhase, RotationRecord, SYSTEM,
    opens_check, opens_rotation_check, retired_at,
};
use crate::master_key_sites::{CaKeyFile, ResealError};

/// Namespace of the shadows (re-sealed copies waiting for the commit).
pub(crate) const SHADOWS: &str = "system.master_key_rotation";
/// Largest batch, in records (two operations each).
pub const MAX_BATCH_RECORDS: usize = 400;

/// Why a rotation (or its abandonment) stopped. Each message says what to do; none carries key
/// bytes.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The data directory is unusable.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// A key file is unusable.
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Sealing failed.
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    /// Nothing to rotate.
    #[error(
        "{0} holds no keyhold store, so there is nothing to rotate (check --data-dir or \
         --store)"
    )]
    NoStore(PathBuf),
    /// The store has no check record (it was created but never finished starting).
    #[error(
        "the store has no master-key check record yet: start `keyhold serve` once with the old \
         key, stop it, then rotate"
    )]
    NoCheckRecord,
    /// The old key does not fit the data.
    #[error(
        "the old key ({0}) is not the master key this data is sealed under; nothing was changed"
    )]
    OldKeyMismatch(MasterKeyOrigin),
    /// A rotation to another new key is unfinished.
    #[error(
        "a rotation to another new key is in progress: give the --new-key-file it was started \
         with to finish it, or abandon it with --abort (possible before its commit); nothing \
         was changed"
    )]
    OtherRotation,
    /// Both key files hold the same key.
    #[error(
        "the new key is the old key: generate a new one with `keyhold master-key generate --out FILE`"
    )]
    SameKey,
    /// The new key file is missing.
    #[error(
        "new master key file {} does not exist: generate it first with `keyhold master-key \
         generate --out {}`",
        .0.display(),
        .0.display()
    )]
    NewKeyMissing(PathBuf),
    /// A PostgreSQL store was named without a key file for the old key.
    #[error(
        "a PostgreSQL store is sealed under a key file (master_key_file): name it with \
         --old-key-file or KEYHOLD_MASTER_KEY_FILE"
    )]
    PostgresNeedsKeyFile,
    /// Other keyhold nodes are connected to the database.
    #[error(
        "{} other keyhold connection(s) to this database (from {}): stop every node before \
         rotating the master key; nothing was changed",
        .0.len(),
        .0.join(", ")
    )]
    NodesRunning(Vec<String>),
    /// One record could not be re-sealed.
    #[error("cannot re-seal {namespace}/{key}: {source}")]
    Record {
        /// Its namespace.
        namespace: String,
        /// Its key.
        key: String,
        /// What failed.
        source: Box<ResealError>,
    },
    /// The CA key file could not be re-sealed.
    #[error("cannot re-seal {}: {source}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: Box<ResealError>,
    },
    /// Something else wrote a record the rotation was working on.
    #[error(
        "{0} changed while the rotation ran: something (a keyhold node?) is still writing to \
         this store; stop it, then run the rotation again to finish"
    )]
    StoreChanged(String),
    /// `--abort` after the commit.
    #[error(
        "the rotation was already committed (the new key opens the data now), so it cannot be \
         abandoned: run it again without --abort to finish it"
    )]
    AbortTooLate,
    /// `--abort` without a rotation.
    #[error("no master-key rotation is in progress: nothing to abort")]
    NothingToAbort,
}

/// A step, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    /// Writing re-sealed copies.
    Prepare,
    /// Putting them in place.
    Apply,
    /// Opening everything with the new key.
    Verify,
    /// Rewriting the embedded store file.
    RewriteStore,
    /// Removing prepared copies (`--abort`).
    Abort,
}

impl std::fmt::Display for RotationStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RotationStep::Prepare => "re-sealing (copies)",
            RotationStep::Apply => "putting in place",
            RotationStep::Verify => "checking with the new key",
            RotationStep::RewriteStore => "rewriting the store file",
            RotationStep::Abort => "removing prepared copies",
        })
    }
}

/// Where a rotation reports its progress.
pub trait RotationProgress: Send + Sync {
    /// A step begins with `total` records to examine.
    fn step(&self, step: RotationStep, total: u64);
    /// `n` more records examined.
    fn advance(&self, n: u64);
    /// A change is durable (a store batch committed; a file written, renamed or removed).
    fn durable_write(&self);
}

/// What a rotation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationSummary {
    /// Records this run put under the new key, by namespace.
    pub resealed: BTreeMap<String, u64>,
    /// Files this run put under the new key.
    pub files: Vec<PathBuf>,
    /// Records found under the old key after they had been prepared (something wrote them
    /// during the rotation); included in `resealed`.
    pub late: u64,
    /// The phase an earlier, interrupted run had reached.
    pub resumed_from: Option<RotationPhase>,
    /// The store was already under the new key when this run began.
    pub already_rotated: bool,
    /// The embedded store file was rewritten.
    pub store_rewritten: bool,
    /// The development key file removed (it opens nothing any more).
    pub removed_dev_key: Option<PathBuf>,
}

/// Where a run of [`Rotation::advance`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reached {
    /// Everything opens with the new key; the rotation record still exists.
    Verified,
    /// The store was already rotated (the old key is one a rotation retired).
    AlreadyRotated,
}

/// A re-sealed copy of one record, waiting for the commit.
#[derive(Serialize, Deserialize)]
pub(crate) struct Shadow {
    /// The original's namespace.
    pub(crate) namespace: String,
    /// The original's key.
    pub(crate) key: String,
    /// Version of the original the re-sealed value was made from.
    pub(crate) source_version: u64,
    /// The re-sealed record (hex).
    pub(crate) value: String,
}

impl Versioned for Shadow {
    const KIND: &'static str = "system.master_key_shadow";
    const SCHEMA: u16 = 1;
}

/// The shadow's key: `<namespace>/<key>` (namespaces hold no `/`).
pub(crate) fn shadow_key(namespace: &str, key: &str) -> Result<String, RotationError> {
    let shadow = format!("{namespace}/{key}");
    if shadow.len() > MAX_KEY_LEN {
        return Err(RotationError::Record {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            source: Box::new(ResealError::Crypto(CryptoError::InvalidParameter(
                "record key too long",
            ))),
        });
    }
    Ok(shadow)
}

/// What the store says, read with either engine (read-only for the embedded pre-check).
pub(crate) struct Observed {
    /// `system/master-key-rotation`.
    pub(crate) rotation: Option<Record>,
    /// `system/master-key-check`.
    pub(crate) check: Option<Record>,
    /// `system/master-key-history`.
    pub(crate) history: Option<Record>,
}

/// Where the store stands.
pub(crate) enum Standing {
    /// Under the old key; no rotation started.
    Fresh,
    /// A rotation of these two keys is unfinished.
    InProgress(RotationRecord, u64),
    /// Already under the new key; the old key was retired by a rotation.
    AlreadyRotated,
}

/// Judges what the store says against the keys given; refuses (changing nothing) when the old
/// key is not the data's, or a rotation to another key is unfinished. `new` is `None` for
/// `--abort`.
pub(crate) fn assess(
    seen: &Observed,
    old: &Sealer,
    new: Option<&Sealer>,
    origin: &MasterKeyOrigin,
) -> Result<Standing, RotationError> {
    let mismatch = || RotationError::OldKeyMismatch(origin.clone());
    if let Some(rotation) = &seen.rotation {
        let record: RotationRecord = decode(&rotation.value)?;
        if !opens_rotation_check(old, &record.old_check) {
            return Err(mismatch());
        }
        if new.is_some_and(|new| !opens_rotation_check(new, &record.new_check)) {
            return Err(RotationError::OtherRotation);
        }
        return Ok(Standing::InProgress(record, rotation.version));
    }
    let check = seen.check.as_ref().ok_or(RotationError::NoCheckRecord)?;
    if opens_check(old, &check.value) {
        return Ok(Standing::Fresh);
    }
    let retired = match &seen.history {
        Some(h) => retired_at(old, &decode::<KeyHistory>(&h.value)?).is_some(),
        None => false,
    };
    match new {
        Some(new) if retired && opens_check(new, &check.value) => Ok(Standing::AlreadyRotated),
        _ => Err(mismatch()),
    }
}

/// Reads what [`assess`] needs from an open store.
pub(crate) async fn observe(records: &dyn RecordStore) -> Result<Observed, StoreError> {
    Ok(Observed {
        rotation: records.get(SYSTEM, ROTATION_KEY).await?,
        check: records.get(SYSTEM, CHECK_KEY).await?,
        history: records.get(SYSTEM, HISTORY_KEY).await?,
    })
}

/// One rotation's state and counters.
pub(crate) struct Rotation<'a> {
    pub(crate) resealer: &'a Resealer,
    pub(crate) origin: &'a MasterKeyOrigin,
    pub(crate) ca: CaKeyFile,
    pub(crate) batch: usize,
    pub(crate) progress: &'a dyn RotationProgress,
    pub(crate) summary: RotationSummary,
    pub(crate) now: u64,
}

/// A batch being filled.
pub(crate) struct Pending {
    /// The operations.
    pub(crate) batch: Batch,
    /// Records it re-seals.
    pub(crate) records: usize,
    /// Value bytes it writes.
    pub(crate) bytes: usize,
}

impl Pending {
    /// An empty batch.
    pub(crate) fn new() -> Self {
        Self {
            batch: Batch::new(),
            records: 0,
            bytes: 0,
        }
    }
}
