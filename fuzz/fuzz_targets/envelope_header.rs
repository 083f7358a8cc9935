//! Arbitrary bytes through the envelope header parser and a decryptor with a fixed DEK: must
//! never panic, and must never release plaintext from a forged stream.
#![no_main]

use keyhold_crypto::{Aes256Key, EnvelopeDecryptor, HeaderParse, parse_header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(HeaderParse::Complete { header, len }) = parse_header(data) else {
        return;
    };
    let Ok(dek) = Aes256Key::from_bytes(&[7u8; 32]) else {
        return;
    };
    // A forged header can only pass the commitment check by breaking HKDF.
    if let Ok(mut dec) = EnvelopeDecryptor::new(&dek, &header) {
        let mut out = Vec::new();
        let _ = dec.update(&data[len..], &mut out);
        let _ = dec.finish(&mut out);
    }
});
