//! Envelope format: round trips (proptest), and proof that every kind of tampering fails with
//! the one opaque error without releasing unauthenticated plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyhold_crypto::{
    Aes256Key, CryptoError, EnvelopeDecryptor, EnvelopeEncryptor, HeaderParse, KeyRef,
    MIN_SEGMENT_SIZE, ciphertext_len, decrypt_stream, encrypt_stream, parse_header, unwrap_dek,
    wrap_dek,
};
use proptest::prelude::*;

const SEG: u32 = MIN_SEGMENT_SIZE;

struct Sealed {
    kek: Aes256Key,
    bytes: Vec<u8>,
    header_len: usize,
}

fn identity() -> KeyRef {
    KeyRef {
        account: "acct-1".into(),
        kek_id: "kek-7".into(),
    }
}

fn seal(plaintext: &[u8], segment: u32) -> Sealed {
    let kek = Aes256Key::generate().unwrap();
    let dek = Aes256Key::generate().unwrap();
    let wrapped = wrap_dek(&kek, &dek, b"acct-1/file-1").unwrap();
    let mut bytes = Vec::new();
    encrypt_stream(&dek, identity(), wrapped, segment, plaintext, &mut bytes).unwrap();
    let header_len = match parse_header(&bytes).unwrap() {
        HeaderParse::Complete { len, .. } => len,
        HeaderParse::Incomplete { .. } => panic!("header incomplete"),
    };
    Sealed {
        kek,
        bytes,
        header_len,
    }
}

fn open(kek: &Aes256Key, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::new();
    decrypt_stream(bytes, &mut out, |h| {
        unwrap_dek(kek, h.wrapped_dek(), b"acct-1/file-1")
    })?;
    Ok(out)
}

/// Push-style decryption, returning what was released before any error.
fn open_push(kek: &Aes256Key, bytes: &[u8], chunk: usize) -> (Vec<u8>, Result<(), CryptoError>) {
    let mut released = Vec::new();
    let header = match parse_header(bytes) {
        Ok(HeaderParse::Complete { header, len }) => (header, len),
        Ok(HeaderParse::Incomplete { .. }) => {
            return (released, Err(CryptoError::DecryptionFailed));
        }
        Err(e) => return (released, Err(e)),
    };
    let dek = match unwrap_dek(kek, header.0.wrapped_dek(), b"acct-1/file-1") {
        Ok(d) => d,
        Err(e) => return (released, Err(e)),
    };
    let mut dec = match EnvelopeDecryptor::new(&dek, &header.0) {
        Ok(d) => d,
        Err(e) => return (released, Err(e)),
    };
    for piece in bytes[header.1..].chunks(chunk.max(1)) {
        let mut out = Vec::new();
        if let Err(e) = dec.update(piece, &mut out) {
            released.extend(out);
            return (released, Err(e));
        }
        released.extend(out);
    }
    let mut out = Vec::new();
    let result = dec.finish(&mut out);
    released.extend(out);
    (released, result)
}

fn plaintext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn round_trip_any_length_and_chunking(len in 0usize..(SEG as usize * 4 + 17), chunk in 1usize..9000, seed in any::<u8>()) {
        let data = plaintext(len, seed);
        let sealed = seal(&data, SEG);
        match parse_header(&sealed.bytes).unwrap() {
            HeaderParse::Complete { header, .. } => prop_assert_eq!(header.key_ref(), &identity()),
            HeaderParse::Incomplete { .. } => prop_assert!(false, "incomplete header"),
        }
        prop_assert_eq!(sealed.bytes.len() as u64, ciphertext_len(sealed.header_len, len as u64, SEG));
        prop_assert_eq!(&open(&sealed.kek, &sealed.bytes).unwrap(), &data);
        let (released, result) = open_push(&sealed.kek, &sealed.bytes, chunk);
        prop_assert!(result.is_ok());
        prop_assert_eq!(released, data.clone());

        // The push encryptor produces a stream the reader accepts, for any chunking.
        let dek = Aes256Key::generate().unwrap();
        let wrapped = wrap_dek(&sealed.kek, &dek, b"acct-1/file-1").unwrap();
        let mut enc = EnvelopeEncryptor::new(&dek, identity(), wrapped, SEG).unwrap();
        let mut bytes = enc.header().as_bytes().to_vec();
        for piece in data.chunks(chunk) {
            let mut out = Vec::new();
            enc.update(piece, &mut out).unwrap();
            bytes.extend(out);
        }
        let mut out = Vec::new();
        enc.finish(&mut out).unwrap();
        bytes.extend(out);
        prop_assert_eq!(open(&sealed.kek, &bytes).unwrap(), data);
    }
}

#[test]
fn every_flipped_byte_fails_and_releases_nothing_unauthenticated() {
    let data = plaintext(SEG as usize * 2 + 100, 3);
    let sealed = seal(&data, SEG);
    let seg_wire = SEG as usize + 16;
    for i in 0..sealed.bytes.len() {
        let mut bad = sealed.bytes.clone();
        bad[i] ^= 1 << (i % 8);
        assert!(
            matches!(open(&sealed.kek, &bad), Err(CryptoError::DecryptionFailed)),
            "flip at {i}"
        );
        let (released, result) = open_push(&sealed.kek, &bad, 1000);
        assert!(
            matches!(result, Err(CryptoError::DecryptionFailed)),
            "push flip at {i}"
        );
        // Only whole segments before the damaged one may have been released, and they are authentic.
        if i >= sealed.header_len {
            let damaged_segment = (i - sealed.header_len) / seg_wire;
            assert!(
                released.len() <= damaged_segment * SEG as usize,
                "flip at {i} released too much"
            );
        } else {
            assert!(released.is_empty(), "header flip at {i} released plaintext");
        }
        assert_eq!(&data[..released.len()], &released[..]);
    }
}

#[test]
fn truncation_extension_reorder_duplicate_drop() {
    let data = plaintext(SEG as usize * 3 + 5, 9);
    let s = seal(&data, SEG);
    let h = s.header_len;
    let w = SEG as usize + 16;
    let segs: Vec<&[u8]> = vec![
        &s.bytes[h..h + w],
        &s.bytes[h + w..h + 2 * w],
        &s.bytes[h + 2 * w..h + 3 * w],
        &s.bytes[h + 3 * w..],
    ];
    let join = |parts: &[&[u8]]| {
        let mut v = s.bytes[..h].to_vec();
        for p in parts {
            v.extend_from_slice(p);
        }
        v
    };
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("drop last".into(), join(&segs[..3])),
        ("drop middle".into(), join(&[segs[0], segs[2], segs[3]])),
        (
            "reorder".into(),
            join(&[segs[1], segs[0], segs[2], segs[3]]),
        ),
        (
            "duplicate".into(),
            join(&[segs[0], segs[0], segs[1], segs[2], segs[3]]),
        ),
        (
            "extend".into(),
            join(&[segs[0], segs[1], segs[2], segs[3], b"x"]),
        ),
        (
            "extend with segment".into(),
            join(&[segs[0], segs[1], segs[2], segs[3], segs[3]]),
        ),
        ("header only".into(), s.bytes[..h].to_vec()),
        ("empty".into(), vec![]),
    ];
    for cut in [
        h + 1,
        h + w - 1,
        h + w,
        h + w + 1,
        h + 2 * w,
        s.bytes.len() - 1,
        h - 1,
        3,
    ] {
        cases.push((format!("truncate at {cut}"), s.bytes[..cut].to_vec()));
    }
    for (name, bytes) in cases {
        assert!(
            matches!(open(&s.kek, &bytes), Err(CryptoError::DecryptionFailed)),
            "{name}"
        );
        let (_, result) = open_push(&s.kek, &bytes, 777);
        assert!(result.is_err(), "push {name}");
    }
}

#[test]
fn spliced_header_and_wrong_keys_fail() {
    let data = plaintext(10_000, 1);
    let a = seal(&data, SEG);
    let b = seal(&data, SEG);
    // b's header (with its own wrapped DEK) on a's segments.
    let mut spliced = b.bytes[..b.header_len].to_vec();
    spliced.extend_from_slice(&a.bytes[a.header_len..]);
    assert!(matches!(
        open(&b.kek, &spliced),
        Err(CryptoError::DecryptionFailed)
    ));
    // Wrong KEK: the wrapped DEK does not unwrap.
    assert!(matches!(
        open(&b.kek, &a.bytes),
        Err(CryptoError::DecryptionFailed)
    ));
    // Wrong DEK handed over directly: the commitment check refuses before any segment.
    let (header, _) = match parse_header(&a.bytes).unwrap() {
        HeaderParse::Complete { header, len } => (header, len),
        HeaderParse::Incomplete { .. } => unreachable!(),
    };
    let wrong = Aes256Key::generate().unwrap();
    assert!(matches!(
        EnvelopeDecryptor::new(&wrong, &header),
        Err(CryptoError::DecryptionFailed)
    ));
}

#[test]
fn header_parser_is_streaming_and_strict() {
    let s = seal(b"hello", SEG);
    for cut in 0..s.header_len {
        match parse_header(&s.bytes[..cut]) {
            Ok(HeaderParse::Incomplete { needed_at_least }) => assert!(needed_at_least > cut),
            other => panic!("prefix {cut}: {other:?}"),
        }
    }
    let mut bad_magic = s.bytes.clone();
    bad_magic[0] = b'X';
    assert!(matches!(
        parse_header(&bad_magic),
        Err(CryptoError::DecryptionFailed)
    ));
    let mut bad_segment = s.bytes.clone();
    bad_segment[8..12].copy_from_slice(&1u32.to_be_bytes());
    assert!(matches!(
        parse_header(&bad_segment),
        Err(CryptoError::DecryptionFailed)
    ));
    assert!(
        EnvelopeEncryptor::new(&Aes256Key::generate().unwrap(), identity(), vec![], 100).is_err()
    );
}
