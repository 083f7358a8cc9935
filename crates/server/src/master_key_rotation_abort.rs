//! Abandoning a master-key rotation before its commit (`keyhold master-key rotate --abort`):
//! until the commit the originals were never touched, so removing what the rotation added
//! gives back the data exactly as it was, sealed under the old key only.

use keyhold_crypto::Sealer;
use keyhold_store::{Batch, Precondition, RecordStore, decode};

use crate::master_key::MasterKeyOrigin;
use crate::master_key_check::{
    ROTATION_KEY, RotationPhase, RotationRecord, SYSTEM, opens_rotation_check,
};
use crate::master_key_rotation::{Pending, RotationError, RotationProgress, RotationStep, SHADOWS};
use crate::master_key_rotation_steps::{PAGE, commit, count};
use crate::master_key_sites::CaKeyFile;

/// Abandons a rotation that has not been committed: deletes its shadows, the CA key's copy and
/// the rotation record (in that order, so a kill midway leaves a rotation that can still be
/// finished or abandoned). Needs only the old key. Returns how many shadows were removed.
pub(crate) async fn abort(
    records: &dyn RecordStore,
    old: &Sealer,
    origin: &MasterKeyOrigin,
    ca: &CaKeyFile,
    progress: &dyn RotationProgress,
) -> Result<u64, RotationError> {
    let Some(rotation) = records.get(SYSTEM, ROTATION_KEY).await? else {
        return Err(RotationError::NothingToAbort);
    };
    let record: RotationRecord = decode(&rotation.value)?;
    if !opens_rotation_check(old, &record.old_check) {
        return Err(RotationError::OldKeyMismatch(origin.clone()));
    }
    if record.phase != RotationPhase::Preparing {
        return Err(RotationError::AbortTooLate);
    }
    progress.step(RotationStep::Abort, count(records, &[SHADOWS]).await?);
    let mut removed = 0u64;
    loop {
        let page = records.scan(SHADOWS, "", None, PAGE).await?;
        if page.items.is_empty() {
            break;
        }
        let mut pending = Pending::new();
        for (key, stored) in &page.items {
            pending.batch = std::mem::take(&mut pending.batch).delete_if(
                SHADOWS,
                key,
                Precondition::Version(stored.version),
            );
        }
        removed += page.items.len() as u64;
        progress.advance(page.items.len() as u64);
        commit(records, progress, pending).await?;
    }
    if ca.discard().map_err(|source| RotationError::File {
        path: ca.path().to_path_buf(),
        source: Box::new(source),
    })? {
        progress.durable_write();
    }
    let mut pending = Pending::new();
    pending.batch = Batch::new().delete_if(
        SYSTEM,
        ROTATION_KEY,
        Precondition::Version(rotation.version),
    );
    commit(records, progress, pending).await?;
    Ok(removed)
}
