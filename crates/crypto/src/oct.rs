//! Symmetric (`oct`) keys: AES key wrap (RFC 3394, Azure's `A128KW`/`A192KW`/`A256KW`) and
//! AES-GCM (`A128GCM`/`A192GCM`/`A256GCM`) with caller-visible IV and tag, as the Key Vault
//! API (managed HSM `oct-HSM` keys) exposes them.
//!
//! Security notes: [`OctKey`] is neither `Debug` nor `Clone` and zeroizes its bytes on drop.
//! Unwrap and decrypt failures are the one opaque [`CryptoError::DecryptionFailed`]. A random
//! 96-bit IV is generated for every encryption unless the caller supplies one (Key Vault lets
//! callers choose; reusing an IV with the same key is the caller's responsibility then).

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::key_wrap::{AES_128, AES_256, AesKek, KeyWrap};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::jwk::Jwk;
use crate::secret::{SecretBytes, random_bytes};

/// Symmetric algorithms by their Azure names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OctAlgorithm {
    /// AES key wrap with a key of this many bits.
    KeyWrap(usize),
    /// AES-GCM with a key of this many bits.
    Gcm(usize),
}

impl OctAlgorithm {
    /// Parses an Azure name (`A256KW`, `A256GCM`, …).
    pub fn from_azure_name(name: &str) -> Option<Self> {
        Some(match name {
            "A128KW" => OctAlgorithm::KeyWrap(128),
            "A192KW" => OctAlgorithm::KeyWrap(192),
            "A256KW" => OctAlgorithm::KeyWrap(256),
            "A128GCM" => OctAlgorithm::Gcm(128),
            "A192GCM" => OctAlgorithm::Gcm(192),
            "A256GCM" => OctAlgorithm::Gcm(256),
            _ => return None,
        })
    }

    /// The key size the algorithm needs.
    pub fn key_bits(self) -> usize {
        match self {
            OctAlgorithm::KeyWrap(b) | OctAlgorithm::Gcm(b) => b,
        }
    }
}

/// The output of [`OctKey::encrypt_gcm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcmOutput {
    /// The 12-byte IV used.
    pub iv: Vec<u8>,
    /// Ciphertext (same length as the plaintext).
    pub ciphertext: Vec<u8>,
    /// The 16-byte tag.
    pub tag: Vec<u8>,
}

/// An AES key. Not `Debug`, not `Clone`.
pub struct OctKey(Zeroizing<Vec<u8>>);

impl OctKey {
    /// A new random key of 128, 192 or 256 bits.
    pub fn generate(bits: usize) -> Result<Self, CryptoError> {
        if ![128, 192, 256].contains(&bits) {
            return Err(CryptoError::InvalidParameter(
                "oct keys are 128, 192 or 256 bits",
            ));
        }
        Ok(Self(Zeroizing::new(random_bytes(bits / 8)?)))
    }

    /// From raw bytes (16, 24 or 32).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if ![16, 24, 32].contains(&bytes.len()) {
            return Err(CryptoError::InvalidKey("oct keys are 16, 24 or 32 bytes"));
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// From a JWK (`kty` oct or oct-HSM, `k`).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        if !jwk.kty.starts_with("oct") {
            return Err(CryptoError::InvalidKey("JWK kty is not oct"));
        }
        let k = jwk
            .k
            .as_ref()
            .ok_or(CryptoError::InvalidKey("oct JWK needs k"))?;
        Self::from_bytes(k.expose_secret())
    }

    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.0.len() * 8
    }

    /// The key bytes (for sealing).
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    fn check(&self, alg: OctAlgorithm) -> Result<(), CryptoError> {
        if alg.key_bits() == self.bits() {
            Ok(())
        } else {
            Err(CryptoError::InvalidParameter(
                "the algorithm does not match the key size",
            ))
        }
    }

    fn kek(&self) -> Result<AesKek, CryptoError> {
        let cipher = match self.bits() {
            128 => &AES_128,
            256 => &AES_256,
            _ => return Err(CryptoError::UnsupportedAlgorithm("A192KW".into())),
        };
        AesKek::new(cipher, &self.0).map_err(|_| CryptoError::InvalidKey("AES key"))
    }

    /// RFC 3394 key wrap of `plaintext` (16 bytes or more, a multiple of 8).
    pub fn wrap_kw(&self, alg: OctAlgorithm, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.check(alg)?;
        if plaintext.len() < 16 || !plaintext.len().is_multiple_of(8) {
            return Err(CryptoError::InvalidParameter(
                "key wrap input must be at least 16 bytes and a multiple of 8",
            ));
        }
        let mut out = vec![0u8; plaintext.len() + 8];
        let len = self
            .kek()?
            .wrap(plaintext, &mut out)
            .map_err(|_| CryptoError::InvalidParameter("key wrap failed"))?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// RFC 3394 key unwrap. Every failure is `DecryptionFailed`.
    pub fn unwrap_kw(
        &self,
        alg: OctAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        self.check(alg)?;
        let mut out = Zeroizing::new(vec![0u8; ciphertext.len()]);
        let len = self
            .kek()?
            .unwrap(ciphertext, &mut out)
            .map_err(|_| CryptoError::DecryptionFailed)?
            .len();
        Ok(SecretBytes::new(out[..len].to_vec()))
    }

    fn gcm(&self) -> Result<LessSafeKey, CryptoError> {
        let alg = match self.bits() {
            128 => &aead::AES_128_GCM,
            256 => &aead::AES_256_GCM,
            _ => return Err(CryptoError::UnsupportedAlgorithm("A192GCM".into())),
        };
        Ok(LessSafeKey::new(
            UnboundKey::new(alg, &self.0).map_err(|_| CryptoError::InvalidKey("AES key"))?,
        ))
    }

    /// AES-GCM encryption with `aad`; a random IV unless one is given.
    pub fn encrypt_gcm(
        &self,
        alg: OctAlgorithm,
        plaintext: &[u8],
        iv: Option<&[u8]>,
        aad: &[u8],
    ) -> Result<GcmOutput, CryptoError> {
        self.check(alg)?;
        let iv = match iv {
            Some(iv) => iv.to_vec(),
            None => random_bytes(12)?,
        };
        let nonce = Nonce::try_assume_unique_for_key(&iv)
            .map_err(|_| CryptoError::InvalidParameter("the IV must be 12 bytes"))?;
        let mut ciphertext = plaintext.to_vec();
        let tag = self
            .gcm()?
            .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut ciphertext)
            .map_err(|_| CryptoError::InvalidParameter("encryption failed"))?;
        Ok(GcmOutput {
            iv,
            ciphertext,
            tag: tag.as_ref().to_vec(),
        })
    }

    /// AES-GCM decryption. Every failure is `DecryptionFailed`.
    pub fn decrypt_gcm(
        &self,
        alg: OctAlgorithm,
        iv: &[u8],
        ciphertext: &[u8],
        aad: &[u8],
        tag: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        self.check(alg)?;
        let nonce =
            Nonce::try_assume_unique_for_key(iv).map_err(|_| CryptoError::DecryptionFailed)?;
        let mut buffer = Zeroizing::new([ciphertext, tag].concat());
        let len = self
            .gcm()?
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| CryptoError::DecryptionFailed)?
            .len();
        Ok(SecretBytes::new(buffer[..len].to_vec()))
    }
}
