//! What the platform keeps sealed directly under the master key, for master-key rotation
//! (`keyhold master-key rotate`, driven by the server crate):
//!
//! - `platform.accounts`, `platform.deleted_accounts`: each account's two API keys (hubs and
//!   projects are accounts too);
//! - `platform.keks`: KEKs protected by keyhold's service key (accounts with Microsoft-managed
//!   keys, and every KEK an account kept from its MMK days).
//!
//! Left alone on purpose: KEKs wrapped by a customer-managed key (the vault holds what protects
//! them, and the vault's keys are re-sealed through the vault key), DEKs and metadata documents
//! (wrapped by KEKs, which do not change), job scratch (an ephemeral in-memory key). Only the
//! seal changes, never a key: API keys keep working and every object stays readable with the
//! KEK it was written under, so no blob is touched.

use keyhold_crypto::Resealer;
use keyhold_store::{decode, encode};

use crate::accounts::{ACCOUNTS, API_KEY_PURPOSE, DELETED};
use crate::error::PlatformError;
use crate::keks::{KEKS, KekProtector, KekRecord, SERVICE_KEK_PURPOSE};
use crate::model::{Account, DeletedAccount};

/// The namespaces whose records may hold values sealed under the master key.
pub const MASTER_SEALED_NAMESPACES: &[&str] = &[ACCOUNTS, DELETED, KEKS];

/// Re-seals the master-sealed parts of the record `namespace/key` (its stored bytes `value`)
/// from the resealer's old key to its new one. `Ok(None)`: nothing in it is under the old key
/// (already re-sealed, or nothing master-sealed in it), so running it again after a crash is
/// safe.
pub fn reseal_record(
    namespace: &str,
    key: &str,
    value: &[u8],
    resealer: &Resealer,
) -> Result<Option<Vec<u8>>, PlatformError> {
    match namespace {
        ACCOUNTS => {
            let mut account: Account = decode(value)?;
            Ok(reseal_api_keys(&mut account, resealer)?
                .then(|| encode(&account))
                .transpose()?)
        }
        DELETED => {
            let mut deleted: DeletedAccount = decode(value)?;
            Ok(reseal_api_keys(&mut deleted.account, resealer)?
                .then(|| encode(&deleted))
                .transpose()?)
        }
        KEKS => {
            let mut record: KekRecord = decode(value)?;
            if record.protector != KekProtector::Service {
                return Ok(None);
            }
            let account = key.split_once('/').map_or(key, |(account, _)| account);
            let purpose = format!(
                "{SERVICE_KEK_PURPOSE}/{}/{}",
                account.to_ascii_lowercase(),
                record.id
            );
            match resealer.reseal_hex(&purpose, &record.wrapped)? {
                Some(wrapped) => {
                    record.wrapped = wrapped;
                    Ok(Some(encode(&record)?))
                }
                None => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

fn reseal_api_keys(account: &mut Account, resealer: &Resealer) -> Result<bool, PlatformError> {
    let name = account.name.to_ascii_lowercase();
    let mut changed = false;
    for (slot, sealed) in account.sealed_keys.iter_mut().enumerate() {
        let purpose = format!("{API_KEY_PURPOSE}/{name}/{}", slot + 1);
        if let Some(resealed) = resealer.reseal_hex(&purpose, sealed)? {
            *sealed = resealed;
            changed = true;
        }
    }
    Ok(changed)
}
