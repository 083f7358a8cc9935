//! The envelope format v1: one streaming, committing, authenticated format for every object
//! keyhold stores (docs/DESIGN.md section 3). FROZEN: objects written today must decrypt forever;
//! a new layout needs a new format version.
//!
//! ```text
//! header (authenticated: its bytes are the AAD of every segment)
//!   magic            5  b"KHENV"
//!   format version   1  0x01
//!   suite            2  0x0001 = AES-256-GCM segments, HKDF-SHA256 derivation, key commitment
//!   segment size     4  plaintext bytes per segment, 4 KiB ..= 16 MiB, big-endian
//!   account          2+n  UTF-8, n ≤ 1024
//!   kek id           2+n  UTF-8, n ≤ 1024
//!   wrapped DEK      2+n  n ≤ 4096
//!   salt             32 random
//!   commitment       32 HKDF(DEK, salt, "keyhold-envelope-v1 commit")
//! body
//!   segment i        ciphertext (segment size bytes, except the last: 0 ..= segment size)
//!                    || 16-byte GCM tag
//! ```
//!
//! Keys: the segment key is `HKDF-SHA256(ikm = DEK, salt, "keyhold-envelope-v1 data")` and the
//! 7-byte nonce prefix `HKDF(…, "keyhold-envelope-v1 nonce")`; so every object has its own key
//! and nonce space even if a DEK were ever reused. Segment `i`'s nonce is
//! `prefix || u32be(i) || final flag (0x00 / 0x01)`: the STREAM construction (as in age), so
//! truncation (no final segment), extension (data after it), reordering, dropping or
//! duplicating segments all fail authentication. The commitment is checked (in constant time)
//! before any segment is opened, so a ciphertext cannot decrypt validly under two DEKs
//! (key commitment, as in the AWS Encryption SDK's committing suites). Splicing a header from
//! another object fails at the first segment because the header is the AAD.
//!
//! Every decryption-path failure, header parsing included, is the one opaque
//! [`CryptoError::DecryptionFailed`](crate::CryptoError::DecryptionFailed). Plaintext of a
//! segment is released only after that segment authenticated.

mod header;
mod io;
mod stream;

pub use header::{EnvelopeHeader, HeaderParse, KeyRef, parse_header};
pub use io::{decrypt_stream, encrypt_stream};
pub use stream::{EnvelopeDecryptor, EnvelopeEncryptor};

/// Magic bytes. DO NOT CHANGE.
pub const MAGIC: &[u8; 5] = b"KHENV";
/// Format version. DO NOT CHANGE.
pub const FORMAT_VERSION: u8 = 1;
/// Suite 1: AES-256-GCM, HKDF-SHA256, committing. DO NOT CHANGE.
pub const SUITE_AES256GCM_HKDF_COMMIT: u16 = 1;
/// GCM tag length.
pub const TAG_LEN: usize = 16;
/// Smallest allowed segment size.
pub const MIN_SEGMENT_SIZE: u32 = 4 * 1024;
/// Largest allowed segment size.
pub const MAX_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;
/// Default segment size (1 MiB: throughput of large buffers, bounded memory).
pub const DEFAULT_SEGMENT_SIZE: u32 = 1024 * 1024;

/// Total ciphertext length for a plaintext of `plaintext_len` bytes.
pub fn ciphertext_len(header_len: usize, plaintext_len: u64, segment_size: u32) -> u64 {
    let seg = u64::from(segment_size.max(1));
    let segments = if plaintext_len == 0 {
        1
    } else {
        plaintext_len.div_ceil(seg)
    };
    header_len as u64 + plaintext_len + segments * TAG_LEN as u64
}
