//! Push-style (sans-I/O) envelope encryption and decryption with bounded memory: at most one
//! segment is buffered. Sealing and opening happen in place, and a sealed segment is handed
//! over by swapping buffers when the caller's output is empty, so the steady state copies each
//! byte once (from the caller's input into the segment buffer).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

use super::TAG_LEN;
use super::header::{EnvelopeHeader, KeyRef};
use crate::error::CryptoError;
use crate::secret::Aes256Key;

struct SegmentCipher {
    key: LessSafeKey,
    nonce_prefix: [u8; 7],
    aad: Vec<u8>,
    index: u32,
    exhausted: bool,
}

impl SegmentCipher {
    fn new(
        data_key: &Aes256Key,
        nonce_prefix: [u8; 7],
        header: &EnvelopeHeader,
    ) -> Result<Self, CryptoError> {
        let key = UnboundKey::new(&AES_256_GCM, data_key.expose_secret())
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::InvalidKey("segment key"))?;
        Ok(Self {
            key,
            nonce_prefix,
            aad: header.as_bytes().to_vec(),
            index: 0,
            exhausted: false,
        })
    }

    /// The next segment's nonce; fails after 2^32 segments (never reuse a nonce).
    fn next_nonce(&mut self, last: bool) -> Result<Nonce, CryptoError> {
        if self.exhausted {
            return Err(CryptoError::InvalidParameter("too many segments"));
        }
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&self.nonce_prefix);
        nonce[7..11].copy_from_slice(&self.index.to_be_bytes());
        nonce[11] = u8::from(last);
        match self.index.checked_add(1) {
            Some(next) => self.index = next,
            None => self.exhausted = true,
        }
        Ok(Nonce::assume_unique_for_key(nonce))
    }
}

/// Hands `buf` to `out`: by swapping when `out` is empty (no copy), else by appending.
fn hand_over(buf: &mut Vec<u8>, out: &mut Vec<u8>, capacity: usize) {
    if out.is_empty() {
        std::mem::swap(buf, out);
        buf.clear();
        buf.reserve(capacity);
    } else {
        out.extend_from_slice(buf);
        buf.clear();
    }
}

/// Encrypts one object.
pub struct EnvelopeEncryptor {
    header: EnvelopeHeader,
    cipher: SegmentCipher,
    segment: usize,
    buf: Vec<u8>,
}

impl EnvelopeEncryptor {
    /// Starts an object: `wrapped_dek` is `dek` wrapped under the KEK named by `key_ref`.
    pub fn new(
        dek: &Aes256Key,
        key_ref: KeyRef,
        wrapped_dek: Vec<u8>,
        segment_size: u32,
    ) -> Result<Self, CryptoError> {
        let (header, derived) = EnvelopeHeader::build(dek, key_ref, wrapped_dek, segment_size)?;
        let cipher = SegmentCipher::new(&derived.data_key, derived.nonce_prefix, &header)?;
        let segment = segment_size as usize;
        Ok(Self {
            header,
            cipher,
            segment,
            buf: Vec::with_capacity(segment + TAG_LEN),
        })
    }

    /// The header; write its bytes before any segment.
    pub fn header(&self) -> &EnvelopeHeader {
        &self.header
    }

    /// Adds plaintext; appends every segment that is certainly not the last to `out`.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        while !input.is_empty() {
            if self.buf.len() == self.segment {
                self.seal_buffered(false, out)?;
            }
            let take = (self.segment - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Seals the final segment (possibly empty) and appends it to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        self.seal_buffered(true, out)
    }

    fn seal_buffered(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let mut buf = std::mem::take(&mut self.buf);
        self.seal_in_place(&mut buf, last)?;
        hand_over(&mut buf, out, self.segment + TAG_LEN);
        self.buf = buf;
        Ok(())
    }

    /// Seals `buf` (exactly one segment of plaintext; shorter only if `last`) in place and
    /// appends its tag.
    pub(crate) fn seal_in_place(
        &mut self,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), CryptoError> {
        let len = buf.len();
        buf.resize(len + TAG_LEN, 0);
        self.seal_slice(buf, len, last).map(|_| ())
    }

    /// Seals the first `len` bytes of `buf` in place and writes the tag right after them;
    /// returns the sealed length. `buf` must have room for the tag. For adapters that keep
    /// their buffers allocated and initialised across segments.
    pub(crate) fn seal_slice(
        &mut self,
        buf: &mut [u8],
        len: usize,
        last: bool,
    ) -> Result<usize, CryptoError> {
        if len > self.segment || (!last && len != self.segment) || buf.len() < len + TAG_LEN {
            return Err(CryptoError::InvalidParameter("segment of the wrong size"));
        }
        let nonce = self.cipher.next_nonce(last)?;
        let (plain, rest) = buf.split_at_mut(len);
        let tag = self
            .cipher
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(self.cipher.aad.as_slice()), plain)
            .map_err(|_| CryptoError::InvalidParameter("segment"))?;
        rest[..TAG_LEN].copy_from_slice(tag.as_ref());
        Ok(len + TAG_LEN)
    }

    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> usize {
        self.segment
    }
}

/// Decrypts one object. After any failure every later call fails too.
pub struct EnvelopeDecryptor {
    cipher: SegmentCipher,
    segment: usize,
    buf: Vec<u8>,
    failed: bool,
}

impl EnvelopeDecryptor {
    /// Checks `dek` against the header's commitment and prepares the segment key.
    pub fn new(dek: &Aes256Key, header: &EnvelopeHeader) -> Result<Self, CryptoError> {
        let derived = header.open_with(dek)?;
        let segment = header.segment_size() as usize;
        Ok(Self {
            cipher: SegmentCipher::new(&derived.data_key, derived.nonce_prefix, header)?,
            segment,
            buf: Vec::with_capacity(segment + TAG_LEN),
            failed: false,
        })
    }

    /// Adds ciphertext (the bytes after the header); appends the plaintext of every segment that
    /// authenticated and is certainly not the last.
    pub fn update(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.failed {
            return Err(CryptoError::DecryptionFailed);
        }
        let full = self.segment + TAG_LEN;
        while !input.is_empty() {
            if self.buf.len() == full {
                self.open_buffered(false, out)?;
            }
            let take = (full - self.buf.len()).min(input.len());
            self.buf.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Opens the final segment; fails if it is missing, truncated or followed by extra bytes.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        if self.failed {
            return Err(CryptoError::DecryptionFailed);
        }
        self.open_buffered(true, out)
    }

    fn open_buffered(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let mut buf = std::mem::take(&mut self.buf);
        let opened = self.open_in_place(&mut buf, last);
        if opened.is_ok() {
            hand_over(&mut buf, out, self.segment + TAG_LEN);
        }
        self.buf = buf;
        opened
    }

    /// Opens one sealed segment in place (plaintext left in `buf`). A non-final segment must be
    /// exactly one full segment plus tag.
    pub(crate) fn open_in_place(
        &mut self,
        buf: &mut Vec<u8>,
        last: bool,
    ) -> Result<(), CryptoError> {
        match self.open_slice(buf, last) {
            Ok(len) => {
                buf.truncate(len);
                Ok(())
            }
            Err(e) => {
                buf.clear();
                Err(e)
            }
        }
    }

    /// Opens the sealed segment that is exactly `buf`, in place; returns the plaintext length
    /// (the plaintext is `buf[..len]`). On failure the buffer is wiped: unauthenticated
    /// plaintext is never left behind.
    pub(crate) fn open_slice(&mut self, buf: &mut [u8], last: bool) -> Result<usize, CryptoError> {
        let full = self.segment + TAG_LEN;
        if self.failed || buf.len() < TAG_LEN || buf.len() > full || (!last && buf.len() != full) {
            self.failed = true;
            return Err(CryptoError::DecryptionFailed);
        }
        let nonce = self
            .cipher
            .next_nonce(last)
            .map_err(|_| CryptoError::DecryptionFailed)?;
        let result = self
            .cipher
            .key
            .open_in_place(nonce, Aad::from(self.cipher.aad.as_slice()), buf)
            .map(|plain| plain.len());
        result.map_err(|_| {
            zeroize::Zeroize::zeroize(buf);
            self.failed = true;
            CryptoError::DecryptionFailed
        })
    }

    /// Plaintext bytes per segment.
    pub fn segment_size(&self) -> usize {
        self.segment
    }
}
