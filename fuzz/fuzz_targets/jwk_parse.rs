//! Arbitrary JSON through the JWK parser and RSA key import: no panics, no acceptance of
//! inconsistent keys.
#![no_main]

use keyhold_crypto::{Jwk, RsaPrivateKey, RsaPublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(jwk) = serde_json::from_slice::<Jwk>(data) {
        let _ = RsaPublicKey::from_jwk(&jwk);
        let _ = RsaPrivateKey::from_jwk(&jwk);
        let _ = RsaPrivateKey::from_pkcs8_der(data);
    }
});
