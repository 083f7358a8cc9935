//! DEK wrapping under an account KEK: AES-256-GCM with the object's identity as AAD, so a
//! wrapped DEK moved to another object (or another account) fails to unwrap.
//!
//! Format v1 (DO NOT CHANGE): `0x01 | nonce (12) | encrypted DEK (32) | tag (16)` = 61 bytes.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::CryptoError;
use crate::secret::{Aes256Key, random_bytes};

const VERSION: u8 = 1;
/// Length of a wrapped DEK.
pub const WRAPPED_DEK_LEN: usize = 1 + NONCE_LEN + 32 + 16;

fn aead_key(kek: &Aes256Key) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, kek.expose_secret())
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::InvalidKey("KEK"))
}

/// Wraps `dek` under `kek`, bound to `object_identity`.
pub fn wrap_dek(
    kek: &Aes256Key,
    dek: &Aes256Key,
    object_identity: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let nonce: [u8; NONCE_LEN] = random_bytes(NONCE_LEN)?
        .try_into()
        .map_err(|_| CryptoError::Rng)?;
    let mut body = zeroize::Zeroizing::new(dek.expose_secret().to_vec());
    let tag = aead_key(kek)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(object_identity),
            &mut body,
        )
        .map_err(|_| CryptoError::InvalidParameter("DEK"))?;
    let mut out = Vec::with_capacity(WRAPPED_DEK_LEN);
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Unwraps a DEK; any mismatch (KEK, identity, bytes) is [`CryptoError::DecryptionFailed`].
pub fn unwrap_dek(
    kek: &Aes256Key,
    wrapped: &[u8],
    object_identity: &[u8],
) -> Result<Aes256Key, CryptoError> {
    if wrapped.len() != WRAPPED_DEK_LEN || wrapped[0] != VERSION {
        return Err(CryptoError::DecryptionFailed);
    }
    let nonce: [u8; NONCE_LEN] = wrapped[1..1 + NONCE_LEN]
        .try_into()
        .map_err(|_| CryptoError::DecryptionFailed)?;
    let mut body = zeroize::Zeroizing::new(wrapped[1 + NONCE_LEN..].to_vec());
    let plain = aead_key(kek)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(object_identity),
            &mut body,
        )
        .map_err(|_| CryptoError::DecryptionFailed)?;
    Aes256Key::from_bytes(plain).map_err(|_| CryptoError::DecryptionFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_to_kek_and_identity() {
        let kek = Aes256Key::generate().unwrap();
        let dek = Aes256Key::generate().unwrap();
        let wrapped = wrap_dek(&kek, &dek, b"acct/file-1").unwrap();
        assert_eq!(wrapped.len(), WRAPPED_DEK_LEN);
        let back = unwrap_dek(&kek, &wrapped, b"acct/file-1").unwrap();
        assert_eq!(back.expose_secret(), dek.expose_secret());
        assert!(matches!(
            unwrap_dek(&kek, &wrapped, b"acct/file-2"),
            Err(CryptoError::DecryptionFailed)
        ));
        let other = Aes256Key::generate().unwrap();
        assert!(unwrap_dek(&other, &wrapped, b"acct/file-1").is_err());
        for i in 0..wrapped.len() {
            let mut bad = wrapped.clone();
            bad[i] ^= 0x80;
            assert!(
                unwrap_dek(&kek, &bad, b"acct/file-1").is_err(),
                "flip at {i}"
            );
        }
    }
}
