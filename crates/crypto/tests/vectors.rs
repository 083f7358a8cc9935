//! Known-answer tests: the GCM specification's AES-256 test cases (McGrew–Viega, as used by
//! NIST SP 800-38D validation) and the Wycheproof AES-GCM, RSA-OAEP and RSA signature suites,
//! all through aws-lc and through this crate's RSA types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use keyhold_crypto::{RsaOaepAlgorithm, RsaPrivateKey, RsaPublicKey, RsaSignAlgorithm};
use wycheproof::TestResult;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// GCM spec test cases 13–16 (AES-256).
#[test]
fn gcm_spec_aes256_vectors() {
    let k0 = "0000000000000000000000000000000000000000000000000000000000000000";
    let k = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
    let p = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
    let p16 = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    let a16 = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    let cases: [(&str, &str, &str, &str, &str, &str); 4] = [
        (
            k0,
            "000000000000000000000000",
            "",
            "",
            "",
            "530f8afbc74536b9a963b4f1c4cb738b",
        ),
        (
            k0,
            "000000000000000000000000",
            "00000000000000000000000000000000",
            "",
            "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919",
        ),
        (
            k,
            "cafebabefacedbaddecaf888",
            p,
            "",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
            "b094dac5d93471bdec1a502270e3cc6c",
        ),
        (
            k,
            "cafebabefacedbaddecaf888",
            p16,
            a16,
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b",
        ),
    ];
    for (i, (key, iv, pt, aad, ct, tag)) in cases.iter().enumerate() {
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &h(key)).unwrap());
        let nonce = || Nonce::try_assume_unique_for_key(&h(iv)).unwrap();
        let mut buf = h(pt);
        let t = key
            .seal_in_place_separate_tag(nonce(), Aad::from(h(aad)), &mut buf)
            .unwrap();
        assert_eq!(hex::encode(&buf), *ct, "case {}", i + 13);
        assert_eq!(hex::encode(t.as_ref()), *tag, "case {}", i + 13);
        buf.extend_from_slice(t.as_ref());
        let plain = key
            .open_in_place(nonce(), Aad::from(h(aad)), &mut buf)
            .unwrap();
        assert_eq!(hex::encode(plain), *pt);
    }
}

#[test]
fn wycheproof_aes_gcm_256() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    let (mut ran, mut skipped) = (0, 0);
    for group in set.test_groups {
        if group.key_size != 256 || group.tag_size != 128 || group.nonce_size != 96 {
            skipped += group.tests.len();
            continue;
        }
        for test in group.tests {
            let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &test.key).unwrap());
            let nonce = Nonce::try_assume_unique_for_key(&test.nonce).unwrap();
            let mut buf = test.ct.to_vec();
            buf.extend_from_slice(&test.tag);
            let opened = key.open_in_place(nonce, Aad::from(&test.aad[..]), &mut buf);
            match test.result {
                TestResult::Valid => assert_eq!(opened.unwrap(), &test.pt[..], "tc {}", test.tc_id),
                TestResult::Invalid => assert!(opened.is_err(), "tc {} must fail", test.tc_id),
                TestResult::Acceptable => {}
            }
            ran += 1;
        }
    }
    assert!(
        ran > 50,
        "ran {ran} (skipped {skipped} non-256/96/128 cases)"
    );
}

#[test]
fn wycheproof_rsa_oaep_through_our_types() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let suites = [
        (TestName::Rsa2048Sha1Mgf1Sha1, RsaOaepAlgorithm::RsaOaep),
        (
            TestName::Rsa2048Sha256Mgf1Sha256,
            RsaOaepAlgorithm::RsaOaep256,
        ),
        (
            TestName::Rsa3072Sha256Mgf1Sha256,
            RsaOaepAlgorithm::RsaOaep256,
        ),
        (
            TestName::Rsa4096Sha256Mgf1Sha256,
            RsaOaepAlgorithm::RsaOaep256,
        ),
    ];
    let (mut ran, mut with_label) = (0, 0);
    for (name, alg) in suites {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let key = RsaPrivateKey::from_pkcs8_der(&group.pkcs8).unwrap();
            for test in group.tests {
                if !test.label.is_empty() {
                    // Our API (like Azure's) has no OAEP label; such cases cannot apply.
                    with_label += 1;
                    continue;
                }
                let result = key.unwrap_key(alg, &test.ct);
                match test.result {
                    TestResult::Valid => {
                        assert_eq!(
                            result.unwrap().expose_secret(),
                            &test.pt[..],
                            "tc {}",
                            test.tc_id
                        )
                    }
                    TestResult::Invalid => assert!(result.is_err(), "tc {} must fail", test.tc_id),
                    TestResult::Acceptable => {}
                }
                ran += 1;
            }
        }
    }
    assert!(ran > 100, "ran {ran}, skipped {with_label} labelled cases");
}

#[test]
fn wycheproof_rsa_signatures_through_our_types() {
    let mut ran = 0;
    let pkcs1 = [
        (
            wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha256,
            RsaSignAlgorithm::Rs256,
        ),
        (
            wycheproof::rsa_pkcs1_verify::TestName::Rsa2048Sha512,
            RsaSignAlgorithm::Rs512,
        ),
    ];
    for (name, alg) in pkcs1 {
        let set = wycheproof::rsa_pkcs1_verify::TestSet::load(name).unwrap();
        for group in set.test_groups {
            let key = RsaPublicKey::from_components(&group.key.n, &group.key.e).unwrap();
            for test in group.tests {
                let ok = key.verify(alg, &test.msg, &test.sig).is_ok();
                match test.result {
                    TestResult::Valid => assert!(ok, "tc {}", test.tc_id),
                    TestResult::Invalid => assert!(!ok, "tc {} must fail", test.tc_id),
                    TestResult::Acceptable => {}
                }
                ran += 1;
            }
        }
    }
    let set = wycheproof::rsa_pss_verify::TestSet::load(
        wycheproof::rsa_pss_verify::TestName::RsaPss2048Sha256Mgf1SaltLen32,
    )
    .unwrap();
    for group in set.test_groups {
        let key = RsaPublicKey::from_components(&group.key.n, &group.key.e).unwrap();
        for test in group.tests {
            let ok = key
                .verify(RsaSignAlgorithm::Ps256, &test.msg, &test.sig)
                .is_ok();
            match test.result {
                TestResult::Valid => assert!(ok, "pss tc {}", test.tc_id),
                TestResult::Invalid => assert!(!ok, "pss tc {} must fail", test.tc_id),
                TestResult::Acceptable => {}
            }
            ran += 1;
        }
    }
    assert!(ran > 100, "ran {ran}");
}
