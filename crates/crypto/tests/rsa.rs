//! RSA keys: generation sizes, OAEP wrap/unwrap both ways, signatures, JWK round trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyhold_crypto::{
    CryptoError, Jwk, RsaOaepAlgorithm, RsaPrivateKey, RsaPublicKey, RsaSignAlgorithm,
};
use proptest::prelude::*;
use std::sync::OnceLock;

fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::generate(2048).unwrap())
}

#[test]
fn sizes() {
    assert_eq!(key().bits(), 2048);
    assert_eq!(RsaPrivateKey::generate(3072).unwrap().bits(), 3072);
    assert!(matches!(
        RsaPrivateKey::generate(1024),
        Err(CryptoError::InvalidParameter(_))
    ));
    assert!(RsaPrivateKey::generate(2047).is_err());
}

#[test]
fn names() {
    for alg in [RsaOaepAlgorithm::RsaOaep, RsaOaepAlgorithm::RsaOaep256] {
        assert_eq!(
            RsaOaepAlgorithm::from_azure_name(alg.azure_name()),
            Some(alg)
        );
    }
    assert_eq!(RsaOaepAlgorithm::from_azure_name("RSA1_5"), None);
    assert_eq!(
        RsaSignAlgorithm::from_azure_name("PS384"),
        Some(RsaSignAlgorithm::Ps384)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    #[test]
    fn wrap_unwrap_round_trip(secret in proptest::collection::vec(any::<u8>(), 1..190), sha256 in any::<bool>()) {
        let alg = if sha256 { RsaOaepAlgorithm::RsaOaep256 } else { RsaOaepAlgorithm::RsaOaep };
        let wrapped = key().public_key().wrap_key(alg, &secret).unwrap();
        prop_assert_eq!(wrapped.len(), 256);
        let unwrapped = key().unwrap_key(alg, &wrapped).unwrap();
        prop_assert_eq!(unwrapped.expose_secret(), &secret[..]);
        let other = if sha256 { RsaOaepAlgorithm::RsaOaep } else { RsaOaepAlgorithm::RsaOaep256 };
        prop_assert!(matches!(key().unwrap_key(other, &wrapped), Err(CryptoError::DecryptionFailed)));
    }
}

#[test]
fn unwrap_rejects_damage_opaquely() {
    let wrapped = key()
        .public_key()
        .wrap_key(RsaOaepAlgorithm::RsaOaep256, &[7u8; 32])
        .unwrap();
    for i in [0, 1, 100, 255] {
        let mut bad = wrapped.clone();
        bad[i] ^= 0x40;
        assert!(matches!(
            key().unwrap_key(RsaOaepAlgorithm::RsaOaep256, &bad),
            Err(CryptoError::DecryptionFailed)
        ));
    }
    assert!(
        key()
            .unwrap_key(RsaOaepAlgorithm::RsaOaep256, &wrapped[..200])
            .is_err()
    );
    assert!(
        key()
            .public_key()
            .wrap_key(RsaOaepAlgorithm::RsaOaep256, &[0u8; 300])
            .is_err()
    );
}

#[test]
fn signatures() {
    let msg = b"keyhold";
    for alg in [
        RsaSignAlgorithm::Rs256,
        RsaSignAlgorithm::Rs384,
        RsaSignAlgorithm::Rs512,
        RsaSignAlgorithm::Ps256,
        RsaSignAlgorithm::Ps384,
        RsaSignAlgorithm::Ps512,
    ] {
        let sig = key().sign(alg, msg).unwrap();
        key().public_key().verify(alg, msg, &sig).unwrap();
        assert!(key().public_key().verify(alg, b"other", &sig).is_err());
    }
    // Key Vault style: sign a digest, verify the message (and the digest).
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, msg);
    let sig = key()
        .sign_digest(RsaSignAlgorithm::Rs256, digest.as_ref())
        .unwrap();
    key()
        .public_key()
        .verify(RsaSignAlgorithm::Rs256, msg, &sig)
        .unwrap();
    key()
        .public_key()
        .verify_digest(RsaSignAlgorithm::Rs256, digest.as_ref(), &sig)
        .unwrap();
    assert!(
        key()
            .sign_digest(RsaSignAlgorithm::Rs256, &[0u8; 31])
            .is_err()
    );
}

#[test]
fn jwk_round_trips() {
    let private = key().to_private_jwk().unwrap();
    assert!(private.has_private_members());
    let json = serde_json::to_string(&private).unwrap();
    let parsed: Jwk = serde_json::from_str(&json).unwrap();
    let imported = RsaPrivateKey::from_jwk(&parsed).unwrap();
    assert_eq!(imported.public_key(), key().public_key());
    let wrapped = key()
        .public_key()
        .wrap_key(RsaOaepAlgorithm::RsaOaep, b"dek")
        .unwrap();
    assert_eq!(
        imported
            .unwrap_key(RsaOaepAlgorithm::RsaOaep, &wrapped)
            .unwrap()
            .expose_secret(),
        b"dek"
    );

    let public = key().public_key().to_jwk();
    assert!(!public.has_private_members());
    assert_eq!(RsaPublicKey::from_jwk(&public).unwrap(), key().public_key());
    assert!(
        RsaPrivateKey::from_jwk(&public).is_err(),
        "no private members"
    );

    // PKCS#8 round trip.
    let der = key().to_pkcs8_der().unwrap();
    assert_eq!(
        RsaPrivateKey::from_pkcs8_der(der.expose_secret())
            .unwrap()
            .public_key(),
        key().public_key()
    );

    // Inconsistent components are refused.
    let mut broken: Jwk = serde_json::from_str(&json).unwrap();
    broken.d = Some(keyhold_crypto::JwkSecret::new(vec![1, 2, 3]));
    assert!(RsaPrivateKey::from_jwk(&broken).is_err());
    assert!(
        RsaPublicKey::from_components(&[0xff; 128], &[1, 0, 1]).is_err(),
        "1024-bit refused"
    );
}
