//! Sealing under the server master key: AES-256-GCM with a purpose string bound as AAD, so a
//! blob sealed for one purpose (a vault key) cannot be opened as another (a signing key).
//!
//! Format v1 (DO NOT CHANGE): `b"KHS1" | key id (8) | nonce (12) | ciphertext | tag (16)`.
//! The key id is a one-way fingerprint of the master key (HKDF), so a blob sealed under another
//! master key is recognised as such ("wrong master key") without revealing anything about
//! either key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;

use crate::error::CryptoError;
use crate::secret::{Aes256Key, SecretBytes, random_bytes};

const MAGIC: &[u8; 4] = b"KHS1";
const AAD_PREFIX: &[u8] = b"keyhold-seal-v1\0";
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 4 + 8 + NONCE_LEN;

/// Seals and opens service secrets under the master key. Not `Debug`, not `Clone`.
pub struct Sealer {
    master: Aes256Key,
    key_id: [u8; 8],
}

struct Len<const N: usize>;
impl<const N: usize> hkdf::KeyType for Len<N> {
    fn len(&self) -> usize {
        N
    }
}

/// HKDF-SHA256 with a fixed label, used for one-way fingerprints and sub-keys.
pub(crate) fn hkdf_derive<const N: usize>(
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
) -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(ikm)
        .expand(&[info], Len::<N>)
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| CryptoError::InvalidParameter("hkdf output length"))?;
    Ok(out)
}

impl Sealer {
    /// Wraps the master key.
    pub fn new(master: Aes256Key) -> Self {
        let key_id = hkdf_derive::<8>(master.expose_secret(), b"", b"keyhold-master-key-id-v1")
            .unwrap_or([0u8; 8]);
        Self { master, key_id }
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, self.master.expose_secret())
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::InvalidKey("master key"))
    }

    /// The master key's public fingerprint.
    pub fn key_id(&self) -> [u8; 8] {
        self.key_id
    }

    /// The fingerprint of the key that sealed `sealed`, read from its header (not
    /// authenticated: [`Sealer::open`] is what proves a blob genuine). `None` if `sealed` is not
    /// a sealed blob at all.
    pub fn sealed_key_id(sealed: &[u8]) -> Option<[u8; 8]> {
        if sealed.len() < HEADER_LEN + TAG_LEN || &sealed[..4] != MAGIC {
            return None;
        }
        sealed[4..12].try_into().ok()
    }

    /// Seals `plaintext` for `purpose`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes(NONCE_LEN)?
            .try_into()
            .map_err(|_| CryptoError::Rng)?;
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&nonce_bytes);
        let mut body = plaintext.to_vec();
        let tag = self
            .aead()?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad(purpose)),
                &mut body,
            )
            .map_err(|_| CryptoError::InvalidParameter("plaintext too long"))?;
        out.extend_from_slice(&body);
        out.extend_from_slice(tag.as_ref());
        zeroize::Zeroize::zeroize(&mut body);
        Ok(out)
    }

    /// Opens a sealed blob; [`CryptoError::WrongSealingKey`] if another master key sealed it,
    /// otherwise any failure is [`CryptoError::DecryptionFailed`].
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<SecretBytes, CryptoError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || &sealed[..4] != MAGIC {
            return Err(CryptoError::DecryptionFailed);
        }
        if sealed[4..12] != self.key_id {
            return Err(CryptoError::WrongSealingKey);
        }
        let nonce: [u8; NONCE_LEN] = sealed[12..HEADER_LEN]
            .try_into()
            .map_err(|_| CryptoError::DecryptionFailed)?;
        let mut body = sealed[HEADER_LEN..].to_vec();
        let len = self
            .aead()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose)),
                &mut body,
            )
            .map_err(|_| CryptoError::DecryptionFailed)?
            .len();
        body.truncate(len);
        Ok(SecretBytes::new(body))
    }
}

fn aad(purpose: &str) -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(Aes256Key::from_bytes(&[byte; 32]).unwrap())
    }

    #[test]
    fn round_trip_and_purpose_binding() {
        let s = sealer(1);
        let sealed = s.seal("vault.key", b"secret").unwrap();
        assert_eq!(
            s.open("vault.key", &sealed).unwrap().expose_secret(),
            b"secret"
        );
        assert!(matches!(
            s.open("other", &sealed),
            Err(CryptoError::DecryptionFailed)
        ));
        assert!(matches!(
            sealer(2).open("vault.key", &sealed),
            Err(CryptoError::WrongSealingKey)
        ));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(s.open("vault.key", &bad).is_err(), "bit flip at {i}");
        }
        assert!(s.open("vault.key", &sealed[..sealed.len() - 1]).is_err());
        assert_ne!(
            s.seal("p", b"x").unwrap(),
            s.seal("p", b"x").unwrap(),
            "random nonces"
        );
        assert_eq!(s.key_id(), sealer(1).key_id());
        assert_eq!(Sealer::sealed_key_id(&sealed), Some(s.key_id()));
        assert_eq!(Sealer::sealed_key_id(b"KHS1 too short"), None);
        assert_ne!(s.key_id(), sealer(2).key_id());
    }
}
