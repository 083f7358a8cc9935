//! Re-sealing from one master key to another, for master-key rotation.
//!
//! A [`Resealer`] holds both master keys. Given a blob sealed for some purpose it tells which key
//! sealed it (the key id in the blob's header, see [`Sealer`]) and, if it is the old one, opens
//! it and seals the same plaintext for the same purpose under the new key. The plaintext exists
//! only inside a zeroizing [`SecretBytes`] for the length of the call.
//!
//! Re-sealing is idempotent by construction: a blob already under the new key is authenticated
//! (opened and dropped) and reported as current, so a rotation that is run again after a crash
//! recognises the work it already did instead of failing or sealing twice. A blob under neither
//! key is an error ([`CryptoError::WrongSealingKey`]), never silently skipped: a rotation must
//! not finish while something it cannot open remains.

use crate::error::CryptoError;
use crate::seal::Sealer;

/// What [`Resealer::reseal`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Resealed {
    /// The blob was already sealed under the new key (and authenticates under it).
    Current,
    /// The blob was sealed under the old key; this is the same plaintext sealed under the new.
    Resealed(Vec<u8>),
}

impl Resealed {
    /// The new blob, if one had to be made.
    pub fn into_new(self) -> Option<Vec<u8>> {
        match self {
            Resealed::Current => None,
            Resealed::Resealed(blob) => Some(blob),
        }
    }
}

/// Both master keys of a rotation. Not `Debug`, not `Clone` (it holds two master keys).
pub struct Resealer {
    old: Sealer,
    new: Sealer,
}

impl Resealer {
    /// A resealer from `old` to `new`; refuses two sealers of the same key, which would make
    /// every blob look current and the rotation a silent no-op.
    pub fn new(old: Sealer, new: Sealer) -> Result<Self, CryptoError> {
        if old.key_id() == new.key_id() {
            return Err(CryptoError::InvalidParameter(
                "the new master key is the old master key",
            ));
        }
        Ok(Self { old, new })
    }

    /// The old master key.
    pub fn old(&self) -> &Sealer {
        &self.old
    }

    /// The new master key.
    pub fn new_key(&self) -> &Sealer {
        &self.new
    }

    /// Re-seals one blob for `purpose` (see the module docs). Errors: the blob is damaged or was
    /// sealed for another purpose ([`CryptoError::DecryptionFailed`]), or under a third key
    /// ([`CryptoError::WrongSealingKey`]).
    pub fn reseal(&self, purpose: &str, sealed: &[u8]) -> Result<Resealed, CryptoError> {
        match Sealer::sealed_key_id(sealed) {
            Some(id) if id == self.new.key_id() => {
                self.new.open(purpose, sealed)?;
                Ok(Resealed::Current)
            }
            Some(id) if id == self.old.key_id() => {
                let plain = self.old.open(purpose, sealed)?;
                Ok(Resealed::Resealed(
                    self.new.seal(purpose, plain.expose_secret())?,
                ))
            }
            Some(_) => Err(CryptoError::WrongSealingKey),
            None => Err(CryptoError::DecryptionFailed),
        }
    }

    /// [`Resealer::reseal`] for a hex-encoded blob (how most records store them); returns the
    /// new blob hex-encoded.
    pub fn reseal_hex(
        &self,
        purpose: &str,
        sealed_hex: &str,
    ) -> Result<Option<String>, CryptoError> {
        let sealed = hex::decode(sealed_hex).map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(self.reseal(purpose, &sealed)?.into_new().map(hex::encode))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Aes256Key;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(Aes256Key::from_bytes(&[byte; 32]).unwrap())
    }

    #[test]
    fn reseals_old_blobs_and_recognises_new_ones() {
        let resealer = Resealer::new(sealer(1), sealer(2)).unwrap();
        let old_blob = sealer(1).seal("p", b"secret").unwrap();
        let Resealed::Resealed(new_blob) = resealer.reseal("p", &old_blob).unwrap() else {
            panic!("an old blob is re-sealed");
        };
        assert_eq!(
            sealer(2).open("p", &new_blob).unwrap().expose_secret(),
            b"secret"
        );
        assert!(matches!(
            sealer(1).open("p", &new_blob),
            Err(CryptoError::WrongSealingKey)
        ));
        assert_eq!(resealer.reseal("p", &new_blob).unwrap(), Resealed::Current);
        // The purpose stays bound.
        assert!(matches!(
            resealer.reseal("q", &old_blob),
            Err(CryptoError::DecryptionFailed)
        ));
        assert!(matches!(
            resealer.reseal("q", &new_blob),
            Err(CryptoError::DecryptionFailed)
        ));
        // A damaged "current" blob is not taken for current.
        let mut damaged = new_blob.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(resealer.reseal("p", &damaged).is_err());
        // A third key is an error, not a skip.
        let third = sealer(3).seal("p", b"secret").unwrap();
        assert!(matches!(
            resealer.reseal("p", &third),
            Err(CryptoError::WrongSealingKey)
        ));
        assert!(matches!(
            resealer.reseal("p", b"not sealed"),
            Err(CryptoError::DecryptionFailed)
        ));
    }

    #[test]
    fn hex_form_and_same_key_refused() {
        let resealer = Resealer::new(sealer(1), sealer(2)).unwrap();
        let old_hex = hex::encode(sealer(1).seal("p", b"k").unwrap());
        let new_hex = resealer.reseal_hex("p", &old_hex).unwrap().unwrap();
        assert_eq!(resealer.reseal_hex("p", &new_hex).unwrap(), None);
        assert!(resealer.reseal_hex("p", "zz").is_err());
        assert!(Resealer::new(sealer(4), sealer(4)).is_err());
    }
}
