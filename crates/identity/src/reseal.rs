//! What the identity service keeps sealed directly under the master key, for master-key
//! rotation (`keyhold master-key rotate`, driven by the server crate): the private halves of
//! every tenant's token-signing keys, active and retired (`identity.signing_keys`).
//!
//! Only the seal changes: the key pair, its `kid` and its retirement stay, so tokens signed
//! before a rotation still verify after it. Client secrets and workload-binding secrets are
//! hashes, not sealed, and are left alone.

use keyhold_crypto::Resealer;
use keyhold_store::{decode, encode};

use crate::error::IdentityError;
use crate::model::SigningKeyRecord;
use crate::signing::{NAMESPACE, SEAL_PURPOSE};

/// The namespaces whose records may hold values sealed under the master key.
pub const MASTER_SEALED_NAMESPACES: &[&str] = &[NAMESPACE];

/// Re-seals the master-sealed parts of one stored record (`value`, from `namespace`) from the
/// resealer's old key to its new one. `Ok(None)`: nothing in it is under the old key (already
/// re-sealed, or a namespace without sealed values), so running it again after a crash is safe.
pub fn reseal_record(
    namespace: &str,
    value: &[u8],
    resealer: &Resealer,
) -> Result<Option<Vec<u8>>, IdentityError> {
    if namespace != NAMESPACE {
        return Ok(None);
    }
    let mut record: SigningKeyRecord = decode(value)?;
    match resealer.reseal_hex(SEAL_PURPOSE, &record.sealed_pkcs8)? {
        Some(sealed) => {
            record.sealed_pkcs8 = sealed;
            Ok(Some(encode(&record)?))
        }
        None => Ok(None),
    }
}
