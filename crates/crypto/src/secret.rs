//! Types that hold secret bytes. None of them is `Debug`, `Clone` or `Copy`, and all zeroize
//! their memory on drop, so key material can be neither printed by accident nor silently
//! duplicated. Reading the bytes needs an explicit, greppable `expose_secret()`.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, Zeroizing};

use crate::error::CryptoError;

/// A 256-bit AES key (DEK, KEK, master key, service key).
pub struct Aes256Key(Zeroizing<[u8; 32]>);

impl Aes256Key {
    /// A fresh random key from the system CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| CryptoError::Rng)?;
        Ok(Self(bytes))
    }

    /// Copies exactly 32 bytes into a key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("an AES-256 key is 32 bytes"))?;
        let key = Self(Zeroizing::new(array));
        let mut array = array;
        array.zeroize();
        Ok(key)
    }

    /// The key bytes. Only for wrapping, sealing and handing to aws-lc.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Variable-length secret bytes (unwrapped keys, decrypted private keys, sealed payloads).
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `n` random bytes from the system CSPRNG (ids, salts, nonces, the vault's `/rng`).
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Rng)?;
    Ok(out)
}

/// ```compile_fail
/// fn needs_debug<T: std::fmt::Debug>() {}
/// needs_debug::<keyhold_crypto::Aes256Key>();
/// ```
/// ```compile_fail
/// fn needs_clone<T: Clone>() {}
/// needs_clone::<keyhold_crypto::Aes256Key>();
/// ```
/// ```compile_fail
/// fn needs_debug<T: std::fmt::Debug>() {}
/// needs_debug::<keyhold_crypto::SecretBytes>();
/// ```
/// ```compile_fail
/// fn needs_clone<T: Clone>() {}
/// needs_clone::<keyhold_crypto::SecretBytes>();
/// ```
/// ```compile_fail
/// fn needs_debug<T: std::fmt::Debug>() {}
/// needs_debug::<keyhold_crypto::RsaPrivateKey>();
/// ```
/// ```compile_fail
/// fn needs_clone<T: Clone>() {}
/// needs_clone::<keyhold_crypto::RsaPrivateKey>();
/// ```
/// ```compile_fail
/// fn needs_debug<T: std::fmt::Debug>() {}
/// needs_debug::<keyhold_crypto::Sealer>();
/// ```
#[doc(hidden)]
pub fn _secret_types_are_neither_debug_nor_clone() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_sized() {
        let a = Aes256Key::generate().unwrap();
        let b = Aes256Key::generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(Aes256Key::from_bytes(&[0u8; 31]).is_err());
        assert!(Aes256Key::from_bytes(&[0u8; 33]).is_err());
        assert_eq!(
            Aes256Key::from_bytes(&[7u8; 32]).unwrap().expose_secret(),
            &[7u8; 32]
        );
        assert_eq!(random_bytes(17).unwrap().len(), 17);
    }
}
