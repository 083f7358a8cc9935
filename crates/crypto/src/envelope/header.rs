//! Envelope header: building, serialising and strict streaming parsing.

use aws_lc_rs::constant_time::verify_slices_are_equal;

use super::{
    FORMAT_VERSION, MAGIC, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, SUITE_AES256GCM_HKDF_COMMIT,
};
use crate::error::CryptoError;
use crate::seal::hkdf_derive;
use crate::secret::Aes256Key;

/// Field limits.
const MAX_ACCOUNT_LEN: usize = 1024;
const MAX_KEK_ID_LEN: usize = 1024;
const MAX_WRAPPED_DEK_LEN: usize = 4096;
const SALT_LEN: usize = 32;
const COMMITMENT_LEN: usize = 32;
/// Bytes before the first variable field.
const FIXED_PREFIX: usize = 5 + 1 + 2 + 4;

/// Which key protects an object: the owning account and the KEK (by id) that wrapped its DEK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// Owning account (or hub, or service scope).
    pub account: String,
    /// The KEK that wrapped the DEK.
    pub kek_id: String,
}

/// A parsed or freshly built header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    key_ref: KeyRef,
    wrapped_dek: Vec<u8>,
    segment_size: u32,
    salt: [u8; SALT_LEN],
    commitment: [u8; COMMITMENT_LEN],
    raw: Vec<u8>,
}

/// Result of parsing a possibly incomplete prefix of an envelope.
#[derive(Debug)]
pub enum HeaderParse {
    /// More bytes are needed (at least this many in total).
    Incomplete {
        /// Total prefix length needed before parsing can make progress.
        needed_at_least: usize,
    },
    /// The header, and its length in bytes.
    Complete {
        /// The header.
        header: EnvelopeHeader,
        /// How many bytes of the input it occupies.
        len: usize,
    },
}

/// Keys derived from a DEK and salt.
pub(crate) struct Derived {
    pub data_key: Aes256Key,
    pub nonce_prefix: [u8; 7],
    pub commitment: [u8; COMMITMENT_LEN],
}

pub(crate) fn derive(dek: &Aes256Key, salt: &[u8]) -> Result<Derived, CryptoError> {
    let secret = dek.expose_secret();
    let data = zeroize::Zeroizing::new(hkdf_derive::<32>(
        secret,
        salt,
        b"keyhold-envelope-v1 data",
    )?);
    Ok(Derived {
        data_key: Aes256Key::from_bytes(data.as_ref())?,
        nonce_prefix: hkdf_derive::<7>(secret, salt, b"keyhold-envelope-v1 nonce")?,
        commitment: hkdf_derive::<32>(secret, salt, b"keyhold-envelope-v1 commit")?,
    })
}

fn put_field(out: &mut Vec<u8>, field: &[u8]) {
    // Lengths are checked by the caller against limits far below u16::MAX.
    out.extend_from_slice(&(field.len() as u16).to_be_bytes());
    out.extend_from_slice(field);
}

impl EnvelopeHeader {
    /// Builds a header for a new object (the salt is random).
    pub(crate) fn build(
        dek: &Aes256Key,
        key_ref: KeyRef,
        wrapped_dek: Vec<u8>,
        segment_size: u32,
    ) -> Result<(Self, Derived), CryptoError> {
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size) {
            return Err(CryptoError::InvalidParameter(
                "segment size must be 4 KiB to 16 MiB",
            ));
        }
        if key_ref.account.len() > MAX_ACCOUNT_LEN
            || key_ref.kek_id.len() > MAX_KEK_ID_LEN
            || wrapped_dek.len() > MAX_WRAPPED_DEK_LEN
        {
            return Err(CryptoError::InvalidParameter(
                "envelope key reference too long",
            ));
        }
        let salt: [u8; SALT_LEN] = crate::secret::random_bytes(SALT_LEN)?
            .try_into()
            .map_err(|_| CryptoError::Rng)?;
        let derived = derive(dek, &salt)?;
        let mut raw = Vec::with_capacity(
            FIXED_PREFIX
                + 6
                + key_ref.account.len()
                + key_ref.kek_id.len()
                + wrapped_dek.len()
                + 64,
        );
        raw.extend_from_slice(MAGIC);
        raw.push(FORMAT_VERSION);
        raw.extend_from_slice(&SUITE_AES256GCM_HKDF_COMMIT.to_be_bytes());
        raw.extend_from_slice(&segment_size.to_be_bytes());
        put_field(&mut raw, key_ref.account.as_bytes());
        put_field(&mut raw, key_ref.kek_id.as_bytes());
        put_field(&mut raw, &wrapped_dek);
        raw.extend_from_slice(&salt);
        raw.extend_from_slice(&derived.commitment);
        let header = Self {
            key_ref,
            wrapped_dek,
            segment_size,
            salt,
            commitment: derived.commitment,
            raw,
        };
        Ok((header, derived))
    }

    /// Derives the keys for `dek` and checks the commitment (constant time).
    pub(crate) fn open_with(&self, dek: &Aes256Key) -> Result<Derived, CryptoError> {
        let derived = derive(dek, &self.salt)?;
        verify_slices_are_equal(&derived.commitment, &self.commitment)
            .map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(derived)
    }

    /// Which key protects the object.
    pub fn key_ref(&self) -> &KeyRef {
        &self.key_ref
    }
    /// The DEK wrapped under the KEK.
    pub fn wrapped_dek(&self) -> &[u8] {
        &self.wrapped_dek
    }
    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> u32 {
        self.segment_size
    }
    /// The serialised header (write it before the segments).
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
}

/// A cursor that reports "need more" instead of failing at the end of input.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

enum Step<T> {
    Ok(T),
    Need(usize),
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Step<&'a [u8]> {
        match self.input.get(self.pos..self.pos + n) {
            Some(slice) => {
                self.pos += n;
                Step::Ok(slice)
            }
            None => Step::Need(self.pos + n),
        }
    }
    fn field(&mut self, max: usize) -> Result<Step<&'a [u8]>, CryptoError> {
        let len = match self.take(2) {
            Step::Ok(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            Step::Need(n) => return Ok(Step::Need(n)),
        };
        if len > max {
            return Err(CryptoError::DecryptionFailed);
        }
        Ok(self.take(len))
    }
}

macro_rules! need {
    ($e:expr) => {
        match $e {
            Step::Ok(v) => v,
            Step::Need(n) => return Ok(HeaderParse::Incomplete { needed_at_least: n }),
        }
    };
}

/// Parses an envelope header from the start of `prefix`. Anything malformed is
/// `DecryptionFailed`; a prefix that is merely short gives `Incomplete`.
pub fn parse_header(prefix: &[u8]) -> Result<HeaderParse, CryptoError> {
    let mut c = Cursor {
        input: prefix,
        pos: 0,
    };
    let fixed = need!(c.take(FIXED_PREFIX));
    if &fixed[..5] != MAGIC
        || fixed[5] != FORMAT_VERSION
        || u16::from_be_bytes([fixed[6], fixed[7]]) != SUITE_AES256GCM_HKDF_COMMIT
    {
        return Err(CryptoError::DecryptionFailed);
    }
    let segment_size = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);
    if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size) {
        return Err(CryptoError::DecryptionFailed);
    }
    let account = need!(c.field(MAX_ACCOUNT_LEN)?);
    let kek_id = need!(c.field(MAX_KEK_ID_LEN)?);
    let wrapped_dek = need!(c.field(MAX_WRAPPED_DEK_LEN)?);
    let salt = need!(c.take(SALT_LEN));
    let commitment = need!(c.take(COMMITMENT_LEN));
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| CryptoError::DecryptionFailed);
    let len = c.pos;
    let header = EnvelopeHeader {
        key_ref: KeyRef {
            account: text(account)?,
            kek_id: text(kek_id)?,
        },
        wrapped_dek: wrapped_dek.to_vec(),
        segment_size,
        salt: salt.try_into().map_err(|_| CryptoError::DecryptionFailed)?,
        commitment: commitment
            .try_into()
            .map_err(|_| CryptoError::DecryptionFailed)?,
        raw: prefix[..len].to_vec(),
    };
    Ok(HeaderParse::Complete { header, len })
}
