//! What the store says about its master key: the check record, a rotation in progress, and the
//! keys earlier rotations retired.
//!
//! - `system/master-key-check`: a constant sealed under the master key the data is sealed
//!   under. `keyhold serve` opens it before anything else, so a wrong key fails at once with a
//!   clear message instead of on the first unseal.
//! - `system/master-key-rotation`: present only while `keyhold master-key rotate` has not
//!   finished; it holds a check value under each of the two keys and the rotation's phase. While
//!   it exists, no server starts, whatever key it is given: part of the data may be sealed under
//!   each key, and only the rotation command, holding both, can finish (or, before the commit,
//!   abandon) the job.
//! - `system/master-key-history`: one check value per key a rotation retired, so that starting
//!   with a retired key says so, and a rotation run again after it finished recognises its old
//!   key. A check value seals a constant and opens nothing else.

use std::path::Path;

use keyhold_crypto::{CryptoError, Sealer};
use keyhold_store::{RecordStore, RecordStoreExt, RedbRecordStore, StoreError, Versioned, decode};
use serde::{Deserialize, Serialize};

use crate::master_key::{MasterKeyError, MasterKeyOrigin};

/// Namespace of the records of this file.
pub(crate) const SYSTEM: &str = "system";
/// Key of the check record. DO NOT CHANGE.
pub(crate) const CHECK_KEY: &str = "master-key-check";
/// Key of the rotation record.
pub(crate) const ROTATION_KEY: &str = "master-key-rotation";
/// Key of the retired keys' check values.
pub(crate) const HISTORY_KEY: &str = "master-key-history";
/// Seal purpose of the check record. DO NOT CHANGE.
const CHECK_PURPOSE: &str = "system.master-key-check.v1";
/// Seal purpose of the rotation record's check values.
const ROTATION_CHECK_PURPOSE: &str = "system.master-key-rotation.v1";
/// Seal purpose of a retired key's check value.
const RETIRED_CHECK_PURPOSE: &str = "system.master-key-retired.v1";
const CHECK_PLAINTEXT: &[u8] = b"keyhold";

/// Why the master key could not be checked against the store.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    /// The key does not fit, or a rotation is unfinished.
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    /// The store could not be read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Sealing failed (the random generator).
    #[error("master key check: {0}")]
    Crypto(#[from] CryptoError),
}

/// How far a rotation got (stored in the rotation record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationPhase {
    /// Re-sealed copies are being written beside the originals; the data is still entirely
    /// under the old key and the rotation can be abandoned.
    Preparing,
    /// The check record names the new key and every re-sealed copy exists; they are being
    /// put in place.
    Committed,
    /// Everything was checked to open with the new key; the store is being rewritten and the
    /// rotation record removed.
    Verified,
}

/// The stored rotation record.
#[derive(Serialize, Deserialize)]
pub(crate) struct RotationRecord {
    /// A check value sealed under the old key (hex).
    pub(crate) old_check: String,
    /// A check value sealed under the new key (hex).
    pub(crate) new_check: String,
    /// How far it got.
    pub(crate) phase: RotationPhase,
    /// Started (unix s).
    pub(crate) started: u64,
}

impl Versioned for RotationRecord {
    const KIND: &'static str = "system.master_key_rotation";
    const SCHEMA: u16 = 1;
}

/// The check values of keys earlier rotations retired.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct KeyHistory {
    pub(crate) retired: Vec<RetiredKey>,
}

/// One retired key.
#[derive(Serialize, Deserialize)]
pub(crate) struct RetiredKey {
    /// A check value sealed under the retired key (hex).
    pub(crate) check: String,
    /// When the rotation away from it finished (unix s).
    pub(crate) retired: u64,
}

impl Versioned for KeyHistory {
    const KIND: &'static str = "system.master_key_history";
    const SCHEMA: u16 = 1;
}

/// The value of the check record for `sealer`.
pub(crate) fn check_value(sealer: &Sealer) -> Result<Vec<u8>, CryptoError> {
    sealer.seal(CHECK_PURPOSE, CHECK_PLAINTEXT)
}

/// Whether the check record `value` was sealed under `sealer` (any failure to open is "no").
pub(crate) fn opens_check(sealer: &Sealer, value: &[u8]) -> bool {
    sealer.open(CHECK_PURPOSE, value).is_ok()
}

/// A rotation check value for `sealer` (hex).
pub(crate) fn rotation_check(sealer: &Sealer) -> Result<String, CryptoError> {
    Ok(hex::encode(
        sealer.seal(ROTATION_CHECK_PURPOSE, CHECK_PLAINTEXT)?,
    ))
}

/// Whether a rotation check value (hex) was sealed under `sealer`.
pub(crate) fn opens_rotation_check(sealer: &Sealer, check: &str) -> bool {
    hex::decode(check).is_ok_and(|raw| sealer.open(ROTATION_CHECK_PURPOSE, &raw).is_ok())
}

/// A retired-key check value for `sealer` (hex).
pub(crate) fn retired_check(sealer: &Sealer) -> Result<String, CryptoError> {
    Ok(hex::encode(
        sealer.seal(RETIRED_CHECK_PURPOSE, CHECK_PLAINTEXT)?,
    ))
}

/// When a rotation retired `sealer`'s key, if one did.
pub(crate) fn retired_at(sealer: &Sealer, history: &KeyHistory) -> Option<u64> {
    history.retired.iter().find_map(|r| {
        hex::decode(&r.check)
            .is_ok_and(|raw| sealer.open(RETIRED_CHECK_PURPOSE, &raw).is_ok())
            .then_some(r.retired)
    })
}

/// The error for a key that does not open the check record: "retired by a rotation" when the
/// history says so, else a plain mismatch.
fn mismatch(sealer: &Sealer, origin: &MasterKeyOrigin, history: Option<&[u8]>) -> MasterKeyError {
    let history = history.and_then(|h| decode::<KeyHistory>(h).ok());
    match history.as_ref().and_then(|h| retired_at(sealer, h)) {
        Some(when) => MasterKeyError::Retired {
            origin: origin.clone(),
            when,
        },
        None => MasterKeyError::Mismatch(origin.clone()),
    }
}

fn unfinished(record: &[u8]) -> MasterKeyError {
    let phase = decode::<RotationRecord>(record).map(|r| r.phase).ok();
    MasterKeyError::RotationUnfinished {
        can_abort: phase == Some(RotationPhase::Preparing),
    }
}

/// Checks the key against an open store without writing: refuses while a rotation is
/// unfinished, or if the store's check value is under another key. A store without a check
/// value passes.
pub async fn verify(
    records: &dyn RecordStore,
    sealer: &Sealer,
    origin: &MasterKeyOrigin,
) -> Result<(), KeyCheckError> {
    if let Some(rotation) = records.get(SYSTEM, ROTATION_KEY).await? {
        return Err(unfinished(&rotation.value).into());
    }
    match records.get(SYSTEM, CHECK_KEY).await? {
        Some(existing) if !opens_check(sealer, &existing.value) => {
            let history = records.get(SYSTEM, HISTORY_KEY).await?;
            Err(mismatch(sealer, origin, history.as_ref().map(|h| h.value.as_slice())).into())
        }
        _ => Ok(()),
    }
}

/// Records the check value if the store has none yet, and otherwise checks the key against it.
/// Refuses while a rotation is unfinished.
pub async fn record(
    records: &dyn RecordStore,
    sealer: &Sealer,
    origin: &MasterKeyOrigin,
) -> Result<(), KeyCheckError> {
    if let Some(rotation) = records.get(SYSTEM, ROTATION_KEY).await? {
        return Err(unfinished(&rotation.value).into());
    }
    loop {
        if let Some(existing) = records.get(SYSTEM, CHECK_KEY).await? {
            // Checked again here because the read-only pre-check cannot read a store that
            // needs repair after a crash, and a shared (PostgreSQL) store has no pre-check.
            if opens_check(sealer, &existing.value) {
                return Ok(());
            }
            let history = records.get(SYSTEM, HISTORY_KEY).await?;
            return Err(
                mismatch(sealer, origin, history.as_ref().map(|h| h.value.as_slice())).into(),
            );
        }
        let check = check_value(sealer)?;
        match records.put_if_absent(SYSTEM, CHECK_KEY, check).await {
            Ok(_) => return Ok(()),
            // Another node of a shared store recorded its check first: verify against it.
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Checks the key against an existing embedded store through read-only opens, so that a wrong
/// key, an unfinished rotation or a corrupted store fails the start without modifying any file.
pub fn verify_read_only(
    store_file: &Path,
    sealer: &Sealer,
    origin: &MasterKeyOrigin,
) -> Result<(), KeyCheckError> {
    if let Some(rotation) = RedbRecordStore::read_only_get(store_file, SYSTEM, ROTATION_KEY)? {
        return Err(unfinished(&rotation.value).into());
    }
    let Some(record) = RedbRecordStore::read_only_get(store_file, SYSTEM, CHECK_KEY)? else {
        // An earlier first start stopped between creating the store and recording the check
        // (or the store needs repair): checked again once the store is open for writing.
        return Ok(());
    };
    if opens_check(sealer, &record.value) {
        return Ok(());
    }
    let history = RedbRecordStore::read_only_get(store_file, SYSTEM, HISTORY_KEY)?;
    Err(mismatch(sealer, origin, history.as_ref().map(|h| h.value.as_slice())).into())
}
