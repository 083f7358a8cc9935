//! `keyhold master-key rotate`: re-seals everything sealed under the master key (see
//! `master_key_sites.rs`) under a new one, with the server stopped.
//!
//! It takes the same configuration as `keyhold serve` (file < environment < flags), so the
//! store, the data directory and the old key (`master_key_file`, or the development key in the
//! data directory) come from where the server takes them. Before anything is written:
//!
//! - the data directory passes the server's ownership and permission checks;
//! - both key files are read, and must differ;
//! - for the embedded store, the keys are checked against the store through read-only opens
//!   (a wrong old key, or a new key other than the one an unfinished rotation was started
//!   with, changes no byte of the data directory), and the store is then opened for writing,
//!   which fails while a server holds it;
//! - for PostgreSQL, the command refuses while any other keyhold session is connected to the
//!   database (every node holds one while it runs), and checks the keys before writing.
//!
//! The steps and why a kill at any point is safe are in `master_key_rotation.rs`. Once the
//! rotation is verified, an embedded store file is rewritten through
//! [`RedbRecordStore::copy_to`] (redb keeps replaced values in freed pages) and renamed into
//! place; then the rotation record goes, and a development key file the data was sealed under
//! is removed (it opens nothing any more).

use std::path::{Path, PathBuf};

use keyhold_crypto::{Resealer, Sealer};
use keyhold_store::{RecordStore, RedbRecordStore};
use keyhold_store_postgres::{PgRecordStore, PgSettings};

use crate::config::{Config, StoreConfig};
use crate::data_dir::{DataDir, DataDirError, DataDirState, sync_dir};
use crate::master_key::{MasterKeyError, MasterKeyOrigin, read_key_file};
use crate::master_key_check::{CHECK_KEY, HISTORY_KEY, ROTATION_KEY, SYSTEM};
use crate::master_key_rotation::{
    Observed, Reached, Rotation, RotationError, RotationProgress, RotationStep, RotationSummary,
    assess,
};
use crate::master_key_rotation_abort::abort;
use crate::master_key_sites::CaKeyFile;

/// What to do.
#[derive(Debug, Clone)]
pub struct RotateRequest {
    /// The resolved configuration; its `master_key_file` (or the development key) is the old
    /// key.
    pub config: Config,
    /// The new key's file (`None` only with `abort`).
    pub new_key_file: Option<PathBuf>,
    /// Abandon an uncommitted rotation instead.
    pub abort: bool,
    /// Records per store batch.
    pub batch: usize,
}

/// What was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The rotation finished.
    Rotated(RotationSummary),
    /// An uncommitted rotation was abandoned; this many prepared copies were removed.
    Aborted(u64),
}

enum OpenStore {
    Embedded(RedbRecordStore),
    Postgres(Box<PgRecordStore>),
}

impl OpenStore {
    fn records(&self) -> &dyn RecordStore {
        match self {
            OpenStore::Embedded(store) => store,
            OpenStore::Postgres(store) => store.as_ref(),
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read_new_key(path: &Path) -> Result<Sealer, RotationError> {
    match read_key_file(path) {
        Ok(key) => Ok(Sealer::new(key)),
        Err(MasterKeyError::File(DataDirError::Io { source, .. }))
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(RotationError::NewKeyMissing(path.to_path_buf()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the rotation (or `--abort`); see the module docs.
pub async fn run(
    request: RotateRequest,
    progress: &dyn RotationProgress,
) -> Result<RotateOutcome, RotationError> {
    // Everything keyhold creates holds or protects keys: private to its owner.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let config = &request.config;
    let data_dir = DataDir::new(&config.data_dir);
    let state = data_dir.inspect()?;
    let origin = match &config.master_key_file {
        Some(path) => MasterKeyOrigin::ConfiguredFile(path.clone()),
        None => MasterKeyOrigin::DevelopmentFile(data_dir.dev_master_key()),
    };
    let postgres = matches!(config.store, StoreConfig::Postgres(_));
    if postgres && matches!(origin, MasterKeyOrigin::DevelopmentFile(_)) {
        return Err(RotationError::PostgresNeedsKeyFile);
    }
    if !postgres && state != DataDirState::Initialized {
        return Err(RotationError::NoStore(data_dir.root().to_path_buf()));
    }
    let old_path = match &origin {
        MasterKeyOrigin::ConfiguredFile(p) | MasterKeyOrigin::DevelopmentFile(p) => p.clone(),
    };
    let old = Sealer::new(read_key_file(&old_path)?);
    let ca = CaKeyFile::new(&data_dir.tls_dir());
    if request.abort {
        let store = open(config, &data_dir, &old, None, &origin).await?;
        let removed = abort(store.records(), &old, &origin, &ca, progress).await?;
        return Ok(RotateOutcome::Aborted(removed));
    }
    let new_path = request
        .new_key_file
        .as_deref()
        .ok_or(RotationError::NewKeyMissing(PathBuf::from("(none given)")))?;
    let new = read_new_key(new_path)?;
    let resealer = Resealer::new(old, new).map_err(|_| RotationError::SameKey)?;
    let mut store = open(
        config,
        &data_dir,
        resealer.old(),
        Some(resealer.new_key()),
        &origin,
    )
    .await?;
    let mut rotation = Rotation {
        resealer: &resealer,
        origin: &origin,
        ca,
        batch: request.batch,
        progress,
        summary: RotationSummary::default(),
        now: unix_now(),
    };
    if rotation.advance(store.records()).await? == Reached::Verified {
        if let OpenStore::Embedded(db) = store {
            store = OpenStore::Embedded(rewrite(db, &data_dir, progress).await?);
            rotation.summary.store_rewritten = true;
        }
        rotation.finish(store.records()).await?;
    }
    drop(store);
    // The old key opens nothing any more (a rotation retired it: checked above).
    if let MasterKeyOrigin::DevelopmentFile(path) = &origin
        && path.exists()
    {
        std::fs::remove_file(path).map_err(|source| DataDirError::Io {
            action: "cannot remove",
            path: path.clone(),
            source,
        })?;
        sync_dir(data_dir.root())?;
        progress.durable_write();
        rotation.summary.removed_dev_key = Some(path.clone());
    }
    Ok(RotateOutcome::Rotated(rotation.summary))
}

/// Opens the store for writing after the checks that need no write.
async fn open(
    config: &Config,
    data_dir: &DataDir,
    old: &Sealer,
    new: Option<&Sealer>,
    origin: &MasterKeyOrigin,
) -> Result<OpenStore, RotationError> {
    match &config.store {
        StoreConfig::Embedded => {
            let file = data_dir.store_file();
            let seen = Observed {
                rotation: RedbRecordStore::read_only_get(&file, SYSTEM, ROTATION_KEY)?,
                check: RedbRecordStore::read_only_get(&file, SYSTEM, CHECK_KEY)?,
                history: RedbRecordStore::read_only_get(&file, SYSTEM, HISTORY_KEY)?,
            };
            // Nothing readable: a store left by a kill needs the repair only a writable open
            // makes. The same checks run on the open store before anything is written.
            if seen.rotation.is_some() || seen.check.is_some() {
                pre_check(&seen, old, new, origin)?;
            }
            Ok(OpenStore::Embedded(RedbRecordStore::open(&file)?))
        }
        StoreConfig::Postgres(url) => {
            let settings = PgSettings {
                max_connections: 1,
                ..PgSettings::new(url.expose().to_owned())
            };
            let store = PgRecordStore::connect(&settings).await?;
            let others = store.other_sessions().await?;
            if !others.is_empty() {
                return Err(RotationError::NodesRunning(others));
            }
            Ok(OpenStore::Postgres(Box::new(store)))
        }
    }
}

/// The checks of [`assess`] that can refuse before the store is opened for writing. `--abort`
/// checks only the old key (and that there is something to abort).
fn pre_check(
    seen: &Observed,
    old: &Sealer,
    new: Option<&Sealer>,
    origin: &MasterKeyOrigin,
) -> Result<(), RotationError> {
    if new.is_none() && seen.rotation.is_none() {
        return Err(RotationError::NothingToAbort);
    }
    assess(seen, old, new, origin).map(|_| ())
}

/// Replaces the embedded store file by a fresh copy of itself (see the module docs). A kill
/// before the rename leaves the old file and a temporary the next run replaces; after it, the
/// copy, which is the same data.
async fn rewrite(
    db: RedbRecordStore,
    data_dir: &DataDir,
    progress: &dyn RotationProgress,
) -> Result<RedbRecordStore, RotationError> {
    progress.step(RotationStep::RewriteStore, 0);
    let file = data_dir.store_file();
    let copy = data_dir.root().join("store.redb.rotating");
    db.copy_to(&copy).await?;
    progress.durable_write();
    drop(db);
    std::fs::rename(&copy, &file).map_err(|source| DataDirError::Io {
        action: "cannot rename into place",
        path: file.clone(),
        source,
    })?;
    sync_dir(data_dir.root())?;
    progress.durable_write();
    Ok(RedbRecordStore::open(&file)?)
}
