//! EC keys (Wycheproof ECDSA P1363 vectors, round trips, JWK import), AES key wrap (RFC 3394
//! and Wycheproof vectors), AES-GCM of `oct` keys, and RSA1_5.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::digest;
use keyhold_crypto::{
    CryptoError, EcCurve, EcPrivateKey, EcPublicKey, EcSignAlgorithm, OctAlgorithm, OctKey,
    RsaEncryptionAlgorithm, RsaOaepAlgorithm, RsaPrivateKey,
};
use proptest::prelude::*;
use wycheproof::TestResult;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn hash(alg: EcSignAlgorithm, msg: &[u8]) -> Vec<u8> {
    let d = match alg {
        EcSignAlgorithm::Es256 => &digest::SHA256,
        EcSignAlgorithm::Es384 => &digest::SHA384,
        EcSignAlgorithm::Es512 => &digest::SHA512,
    };
    digest::digest(d, msg).as_ref().to_vec()
}

#[test]
fn wycheproof_ecdsa_p1363_through_our_types() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let suites = [
        (
            TestName::EcdsaSecp256r1Sha256P1363,
            EcCurve::P256,
            EcSignAlgorithm::Es256,
        ),
        (
            TestName::EcdsaSecp384r1Sha384P1363,
            EcCurve::P384,
            EcSignAlgorithm::Es384,
        ),
        (
            TestName::EcdsaSecp521r1Sha512P1363,
            EcCurve::P521,
            EcSignAlgorithm::Es512,
        ),
    ];
    let mut ran = 0;
    for (name, curve, alg) in suites {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let point = &group.key.key;
            let len = curve.coordinate_len();
            let key =
                EcPublicKey::from_components(curve, &point[1..=len], &point[len + 1..]).unwrap();
            for test in group.tests {
                let ok = key
                    .verify_digest(alg, &hash(alg, &test.msg), &test.sig)
                    .is_ok();
                match test.result {
                    TestResult::Valid => assert!(ok, "{name:?} test {} should verify", test.tc_id),
                    TestResult::Invalid => assert!(!ok, "{name:?} test {} should fail", test.tc_id),
                    TestResult::Acceptable => {}
                }
                ran += 1;
            }
        }
    }
    assert!(ran > 500, "ran {ran}");
}

#[test]
fn ec_round_trips_and_refusals() {
    for curve in [EcCurve::P256, EcCurve::P384, EcCurve::P521] {
        let alg = curve.algorithm();
        let key = EcPrivateKey::generate(curve).unwrap();
        let digest = hash(alg, b"message");
        let sig = key.sign_digest(alg, &digest).unwrap();
        assert_eq!(sig.len(), 2 * curve.coordinate_len());
        let public = key.public_key();
        public.verify_digest(alg, &digest, &sig).unwrap();
        let mut bad = sig.clone();
        bad[3] ^= 1;
        assert!(matches!(
            public.verify_digest(alg, &digest, &bad),
            Err(CryptoError::DecryptionFailed)
        ));
        // Reload from PKCS#8 and from a private JWK: same public key, interoperable signatures.
        let again =
            EcPrivateKey::from_pkcs8_der(curve, key.to_pkcs8_der().expose_secret()).unwrap();
        assert_eq!(again.public_key(), public);
        let jwk = key.to_private_jwk().unwrap();
        let imported = EcPrivateKey::from_jwk(&jwk).unwrap();
        public
            .verify_digest(alg, &digest, &imported.sign_digest(alg, &digest).unwrap())
            .unwrap();
        // A JWK whose d belongs to another key is refused.
        let mut mismatched = EcPrivateKey::generate(curve)
            .unwrap()
            .to_private_jwk()
            .unwrap();
        mismatched.x = jwk.x.clone();
        mismatched.y = jwk.y.clone();
        assert!(EcPrivateKey::from_jwk(&mismatched).is_err());
        // Wrong curve for the algorithm, wrong digest length.
        let other = if curve == EcCurve::P256 {
            EcSignAlgorithm::Es384
        } else {
            EcSignAlgorithm::Es256
        };
        assert!(key.sign_digest(other, &hash(other, b"m")).is_err());
        assert!(key.sign_digest(alg, &digest[1..]).is_err());
    }
    // Off-curve points are refused.
    assert!(EcPublicKey::from_components(EcCurve::P256, &[1u8; 32], &[2u8; 32]).is_err());
}

#[test]
fn rfc3394_aes256_key_wrap_vector() {
    let kek = OctKey::from_bytes(&h(
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
    ))
    .unwrap();
    let data = h("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
    let expected =
        h("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
    let alg = OctAlgorithm::from_azure_name("A256KW").unwrap();
    assert_eq!(kek.wrap_kw(alg, &data).unwrap(), expected);
    assert_eq!(
        kek.unwrap_kw(alg, &expected).unwrap().expose_secret(),
        data.as_slice()
    );
    let mut tampered = expected.clone();
    tampered[0] ^= 1;
    assert!(matches!(
        kek.unwrap_kw(alg, &tampered),
        Err(CryptoError::DecryptionFailed)
    ));
    // The algorithm must match the key size.
    assert!(kek.wrap_kw(OctAlgorithm::KeyWrap(128), &data).is_err());
}

#[test]
fn wycheproof_aes_key_wrap() {
    use wycheproof::keywrap::{TestName, TestSet};
    let set = TestSet::load(TestName::AesKeyWrap).unwrap();
    let mut ran = 0;
    for group in set.test_groups {
        if group.key_size != 256 {
            continue;
        }
        for test in group.tests {
            let key = OctKey::from_bytes(&test.key).unwrap();
            let alg = OctAlgorithm::KeyWrap(256);
            let unwrapped = key.unwrap_kw(alg, &test.ct);
            match test.result {
                TestResult::Valid => {
                    assert_eq!(
                        unwrapped.unwrap().expose_secret(),
                        &test.pt[..],
                        "tc {}",
                        test.tc_id
                    );
                    assert_eq!(key.wrap_kw(alg, &test.pt).unwrap(), test.ct.to_vec());
                }
                TestResult::Invalid => assert!(unwrapped.is_err(), "tc {} should fail", test.tc_id),
                TestResult::Acceptable => {}
            }
            ran += 1;
        }
    }
    assert!(ran > 20, "ran {ran}");
}

#[test]
fn gcm_with_oct_keys() {
    let key = OctKey::generate(256).unwrap();
    let alg = OctAlgorithm::from_azure_name("A256GCM").unwrap();
    let out = key.encrypt_gcm(alg, b"secret data", None, b"aad").unwrap();
    assert_eq!(out.iv.len(), 12);
    let plain = key
        .decrypt_gcm(alg, &out.iv, &out.ciphertext, b"aad", &out.tag)
        .unwrap();
    assert_eq!(plain.expose_secret(), b"secret data");
    for (iv, ct, aad, tag) in [
        (
            out.iv.clone(),
            out.ciphertext.clone(),
            b"bad".to_vec(),
            out.tag.clone(),
        ),
        (
            out.iv.clone(),
            out.ciphertext.clone(),
            b"aad".to_vec(),
            vec![0u8; 16],
        ),
        (
            vec![0u8; 12],
            out.ciphertext.clone(),
            b"aad".to_vec(),
            out.tag.clone(),
        ),
    ] {
        assert!(matches!(
            key.decrypt_gcm(alg, &iv, &ct, &aad, &tag),
            Err(CryptoError::DecryptionFailed)
        ));
    }
    assert!(OctKey::generate(100).is_err());
}

#[test]
fn rsa1_5_round_trip_and_opaque_failure() {
    let key = RsaPrivateKey::generate(2048).unwrap();
    let public = key.public_key();
    let alg = RsaEncryptionAlgorithm::from_azure_name("RSA1_5").unwrap();
    let ct = public.encrypt(alg, b"0123456789abcdef").unwrap();
    assert_eq!(
        key.decrypt(alg, &ct).unwrap().expose_secret(),
        b"0123456789abcdef"
    );
    let mut bad = ct.clone();
    bad[10] ^= 1;
    assert!(matches!(
        key.decrypt(alg, &bad),
        Err(CryptoError::DecryptionFailed)
    ));
    let other = RsaPrivateKey::generate(2048).unwrap();
    assert!(matches!(
        other.decrypt(alg, &ct),
        Err(CryptoError::DecryptionFailed)
    ));
    let oaep = RsaEncryptionAlgorithm::Oaep(RsaOaepAlgorithm::RsaOaep256);
    assert_eq!(
        key.decrypt(oaep, &public.encrypt(oaep, b"x").unwrap())
            .unwrap()
            .expose_secret(),
        b"x"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn key_wrap_round_trips(blocks in 2usize..64, seed in any::<u8>()) {
        let key = OctKey::generate(256).unwrap();
        let data: Vec<u8> = (0..blocks * 8).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let alg = OctAlgorithm::KeyWrap(256);
        let wrapped = key.wrap_kw(alg, &data).unwrap();
        prop_assert_eq!(wrapped.len(), data.len() + 8);
        let unwrapped = key.unwrap_kw(alg, &wrapped).unwrap();
        prop_assert_eq!(unwrapped.expose_secret(), &data[..]);
    }
}
