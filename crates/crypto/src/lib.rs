//! keyhold's crypto core: the envelope format for data at rest, DEK and KEK wrapping, RSA keys
//! and JWKs, sealing under the master key, and secret types.
//!
//! No I/O, no async, no HTTP: everything here is computation on bytes (the `Read`/`Write`
//! adapters take whatever stream the caller gives). All primitives come from aws-lc-rs.
//!
//! Key hierarchy (docs/DESIGN.md section 2): a customer-managed RSA key (CMK) wraps an account KEK
//! with RSA-OAEP ([`RsaPublicKey::wrap_key`]); the KEK wraps one DEK per object with AES-256-GCM
//! bound to the object's identity ([`wrap_dek`]); the DEK encrypts the object in the streaming
//! [`envelope`] format.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod der;
mod digest;
mod ec;
pub mod envelope;
mod error;
mod jwk;
mod oct;
mod reseal;
mod rsa;
mod seal;
mod secret;
mod wrap;

pub use digest::{constant_time_eq, sha256};
pub use ec::{EcCurve, EcPrivateKey, EcPublicKey, EcSignAlgorithm};
pub use envelope::{
    DEFAULT_SEGMENT_SIZE, EnvelopeDecryptor, EnvelopeEncryptor, EnvelopeHeader, HeaderParse,
    KeyRef, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, ciphertext_len, decrypt_stream, encrypt_stream,
    parse_header,
};
pub use error::CryptoError;
pub use jwk::{Jwk, JwkSecret};
pub use oct::{GcmOutput, OctAlgorithm, OctKey};
pub use reseal::{Resealed, Resealer};
pub use rsa::{
    RsaEncryptionAlgorithm, RsaOaepAlgorithm, RsaPrivateKey, RsaPublicKey, RsaSignAlgorithm,
};
pub use seal::Sealer;
pub use secret::{Aes256Key, SecretBytes, random_bytes};
pub use wrap::{WRAPPED_DEK_LEN, unwrap_dek, wrap_dek};
