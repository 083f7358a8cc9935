//! Arbitrary bytes through the sealed-blob and wrapped-DEK parsers.
#![no_main]

use keyhold_crypto::{Aes256Key, Sealer, unwrap_dek};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (Ok(master), Ok(kek)) = (Aes256Key::from_bytes(&[1u8; 32]), Aes256Key::from_bytes(&[2u8; 32])) else {
        return;
    };
    let sealer = Sealer::new(master);
    let _ = sealer.open("fuzz", data);
    let _ = unwrap_dek(&kek, data, b"fuzz");
});
