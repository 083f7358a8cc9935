//! `Read`/`Write` adapters with constant memory (two segment buffers). Reads go straight into
//! the segment buffer, which is sealed or opened in place.

use std::io::{Read, Write};

use super::TAG_LEN;
use super::header::{EnvelopeHeader, HeaderParse, KeyRef, parse_header};
use super::stream::{EnvelopeDecryptor, EnvelopeEncryptor};
use crate::error::CryptoError;
use crate::secret::Aes256Key;

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, CryptoError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// Encrypts everything `r` yields into `w` (header, then segments). Returns bytes written.
/// Two segment buffers are allocated once and reused; reads land directly in them.
pub fn encrypt_stream<R: Read, W: Write>(
    dek: &Aes256Key,
    key_ref: KeyRef,
    wrapped_dek: Vec<u8>,
    segment_size: u32,
    mut r: R,
    mut w: W,
) -> Result<u64, CryptoError> {
    let mut enc = EnvelopeEncryptor::new(dek, key_ref, wrapped_dek, segment_size)?;
    let seg = enc.segment_size();
    w.write_all(enc.header().as_bytes())?;
    let mut written = enc.header().as_bytes().len() as u64;
    let mut cur = vec![0u8; seg + TAG_LEN];
    let mut next = vec![0u8; seg + TAG_LEN];
    let mut cur_len = read_up_to(&mut r, &mut cur[..seg])?;
    loop {
        let mut next_len = 0;
        let last = cur_len < seg || {
            next_len = read_up_to(&mut r, &mut next[..seg])?;
            next_len == 0
        };
        let sealed = enc.seal_slice(&mut cur, cur_len, last)?;
        w.write_all(&cur[..sealed])?;
        written += sealed as u64;
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    w.flush()?;
    Ok(written)
}

/// Decrypts an envelope from `r` into `w`. `unwrap` receives the parsed header and returns the
/// DEK (unwrapping it under the KEK the header names). Returns plaintext bytes written. Only
/// authenticated segments reach `w`; on failure, what was written so far is authentic but
/// incomplete, and the caller must discard it.
pub fn decrypt_stream<R: Read, W: Write>(
    mut r: R,
    mut w: W,
    unwrap: impl FnOnce(&EnvelopeHeader) -> Result<Aes256Key, CryptoError>,
) -> Result<u64, CryptoError> {
    let mut prefix = Vec::with_capacity(512);
    let (header, header_len) = loop {
        match parse_header(&prefix)? {
            HeaderParse::Complete { header, len } => break (header, len),
            HeaderParse::Incomplete { needed_at_least } => {
                let before = prefix.len();
                prefix.resize(needed_at_least, 0);
                let got = read_up_to(&mut r, &mut prefix[before..])?;
                prefix.truncate(before + got);
                if got == 0 {
                    return Err(CryptoError::DecryptionFailed);
                }
            }
        }
    };
    let dek = unwrap(&header)?;
    let mut dec = EnvelopeDecryptor::new(&dek, &header)?;
    let full = dec.segment_size() + TAG_LEN;
    let mut cur = vec![0u8; full];
    let mut next = vec![0u8; full];
    // `parse_header` asked only for what it needed, so nothing past the header was read.
    debug_assert_eq!(prefix.len(), header_len);
    let mut cur_len = read_up_to(&mut r, &mut cur)?;
    let mut written = 0u64;
    loop {
        let mut next_len = 0;
        let last = cur_len < full || {
            next_len = read_up_to(&mut r, &mut next)?;
            next_len == 0
        };
        let plain = dec.open_slice(&mut cur[..cur_len], last)?;
        w.write_all(&cur[..plain])?;
        written += plain as u64;
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    w.flush()?;
    Ok(written)
}
