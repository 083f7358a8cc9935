//! Elliptic-curve keys on aws-lc: P-256, P-384 and P-521, ECDSA over a precomputed digest
//! (Key Vault's `sign`/`verify` take digests) with JOSE's fixed-size `r || s` signatures, and
//! JWK import/export.
//!
//! Security notes: [`EcPrivateKey`] is neither `Debug` nor `Clone`; its PKCS#8 copy (for
//! sealing) is zeroized on drop, and aws-lc cleanses its own copy. Imported keys must carry a
//! public point that matches the private scalar (aws-lc checks the pair), and every
//! verification failure is the same opaque error.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair as _,
};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::jwk::{Jwk, JwkSecret};
use crate::secret::SecretBytes;

/// A NIST curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl EcCurve {
    /// The JWK `crv` name.
    pub fn jwk_name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    /// Parses a JWK `crv` name (exact).
    pub fn from_jwk_name(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(EcCurve::P256),
            "P-384" => Some(EcCurve::P384),
            "P-521" => Some(EcCurve::P521),
            _ => None,
        }
    }

    /// Bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }

    /// The signature algorithm of this curve (ES256/ES384/ES512).
    pub fn algorithm(self) -> EcSignAlgorithm {
        match self {
            EcCurve::P256 => EcSignAlgorithm::Es256,
            EcCurve::P384 => EcSignAlgorithm::Es384,
            EcCurve::P521 => EcSignAlgorithm::Es512,
        }
    }

    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            EcCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            EcCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            EcCurve::P521 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }

    fn verification(self) -> &'static EcdsaVerificationAlgorithm {
        match self {
            EcCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            EcCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            EcCurve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }
}

/// ECDSA algorithms by their JOSE names; each belongs to exactly one curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcSignAlgorithm {
    /// ES256: P-256 with SHA-256.
    Es256,
    /// ES384: P-384 with SHA-384.
    Es384,
    /// ES512: P-521 with SHA-512.
    Es512,
}

impl EcSignAlgorithm {
    /// The JOSE name.
    pub fn azure_name(self) -> &'static str {
        match self {
            EcSignAlgorithm::Es256 => "ES256",
            EcSignAlgorithm::Es384 => "ES384",
            EcSignAlgorithm::Es512 => "ES512",
        }
    }

    /// Parses a JOSE name (exact).
    pub fn from_azure_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(EcSignAlgorithm::Es256),
            "ES384" => Some(EcSignAlgorithm::Es384),
            "ES512" => Some(EcSignAlgorithm::Es512),
            _ => None,
        }
    }

    /// The curve this algorithm signs with.
    pub fn curve(self) -> EcCurve {
        match self {
            EcSignAlgorithm::Es256 => EcCurve::P256,
            EcSignAlgorithm::Es384 => EcCurve::P384,
            EcSignAlgorithm::Es512 => EcCurve::P521,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            EcSignAlgorithm::Es256 => &digest::SHA256,
            EcSignAlgorithm::Es384 => &digest::SHA384,
            EcSignAlgorithm::Es512 => &digest::SHA512,
        }
    }
}

fn check_pair(
    alg: EcSignAlgorithm,
    curve: EcCurve,
    digest_bytes: &[u8],
) -> Result<digest::Digest, CryptoError> {
    if alg.curve() != curve {
        return Err(CryptoError::InvalidParameter(
            "the signature algorithm does not match the key's curve",
        ));
    }
    digest::Digest::import_less_safe(digest_bytes, alg.digest())
        .map_err(|_| CryptoError::InvalidParameter("digest length does not match the algorithm"))
}

/// An EC private key. Not `Debug`, not `Clone`.
pub struct EcPrivateKey {
    curve: EcCurve,
    pair: EcdsaKeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl EcPrivateKey {
    /// Generates a key on `curve`.
    pub fn generate(curve: EcCurve) -> Result<Self, CryptoError> {
        let doc = EcdsaKeyPair::generate_pkcs8(curve.signing(), &SystemRandom::new())
            .map_err(|_| CryptoError::Rng)?;
        Self::from_pkcs8_der(curve, doc.as_ref())
    }

    /// From PKCS#8 DER.
    pub fn from_pkcs8_der(curve: EcCurve, der: &[u8]) -> Result<Self, CryptoError> {
        let pair = EcdsaKeyPair::from_pkcs8(curve.signing(), der)
            .map_err(|_| CryptoError::InvalidKey("not a PKCS#8 key on this curve"))?;
        Ok(Self {
            curve,
            pair,
            pkcs8: Zeroizing::new(der.to_vec()),
        })
    }

    /// From a private JWK (`kty` EC or EC-HSM, `crv`, `x`, `y`, `d`).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        if !jwk.kty.starts_with("EC") {
            return Err(CryptoError::InvalidKey("JWK kty is not EC"));
        }
        let curve =
            jwk.crv
                .as_deref()
                .and_then(EcCurve::from_jwk_name)
                .ok_or(CryptoError::InvalidKey(
                    "EC JWK needs crv P-256, P-384 or P-521",
                ))?;
        let public = EcPublicKey::from_jwk(jwk)?;
        let d = jwk
            .d
            .as_ref()
            .ok_or(CryptoError::InvalidKey("EC JWK has no private key d"))?;
        if d.expose_secret().len() != curve.coordinate_len() {
            return Err(CryptoError::InvalidKey("EC JWK d has the wrong length"));
        }
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            curve.signing(),
            d.expose_secret(),
            &public.uncompressed_point(),
        )
        .map_err(|_| CryptoError::InvalidKey("EC JWK d does not match x and y"))?;
        let doc = pair
            .to_pkcs8v1()
            .map_err(|_| CryptoError::InvalidKey("EC key cannot be encoded"))?;
        Ok(Self {
            curve,
            pkcs8: Zeroizing::new(doc.as_ref().to_vec()),
            pair,
        })
    }

    /// PKCS#8 DER of the key (for sealing).
    pub fn to_pkcs8_der(&self) -> SecretBytes {
        SecretBytes::new(self.pkcs8.to_vec())
    }

    /// The private JWK (for backups within the vault; never sent to clients).
    pub fn to_private_jwk(&self) -> Result<Jwk, CryptoError> {
        let d: EcPrivateKeyBin<'static> = self
            .pair
            .private_key()
            .as_be_bytes()
            .map_err(|_| CryptoError::InvalidKey("EC private key"))?;
        let mut jwk = self.public_key().to_jwk();
        jwk.d = Some(JwkSecret::new(d.as_ref().to_vec()));
        Ok(jwk)
    }

    /// The curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }

    /// The public key.
    pub fn public_key(&self) -> EcPublicKey {
        let point = self.pair.public_key().as_ref();
        let len = self.curve.coordinate_len();
        EcPublicKey {
            curve: self.curve,
            x: point[1..=len].to_vec(),
            y: point[len + 1..].to_vec(),
        }
    }

    /// Signs a digest; the signature is JOSE's fixed-size `r || s`.
    pub fn sign_digest(&self, alg: EcSignAlgorithm, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let digest = check_pair(alg, self.curve, digest)?;
        let signature = self
            .pair
            .sign_digest(&digest)
            .map_err(|_| CryptoError::InvalidParameter("signing failed"))?;
        Ok(signature.as_ref().to_vec())
    }
}

/// An EC public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcPublicKey {
    curve: EcCurve,
    x: Vec<u8>,
    y: Vec<u8>,
}

impl EcPublicKey {
    /// From coordinates; the point must be on the curve.
    pub fn from_components(curve: EcCurve, x: &[u8], y: &[u8]) -> Result<Self, CryptoError> {
        if x.len() != curve.coordinate_len() || y.len() != curve.coordinate_len() {
            return Err(CryptoError::InvalidKey(
                "EC coordinates have the wrong length",
            ));
        }
        let key = Self {
            curve,
            x: x.to_vec(),
            y: y.to_vec(),
        };
        signature::ParsedPublicKey::new(curve.verification(), key.uncompressed_point())
            .map_err(|_| CryptoError::InvalidKey("the point is not on the curve"))?;
        Ok(key)
    }

    /// From a JWK's `crv`, `x`, `y`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        let curve =
            jwk.crv
                .as_deref()
                .and_then(EcCurve::from_jwk_name)
                .ok_or(CryptoError::InvalidKey(
                    "EC JWK needs crv P-256, P-384 or P-521",
                ))?;
        match (&jwk.x, &jwk.y) {
            (Some(x), Some(y)) => Self::from_components(curve, x, y),
            _ => Err(CryptoError::InvalidKey("EC JWK needs x and y")),
        }
    }

    fn uncompressed_point(&self) -> Vec<u8> {
        let mut point = Vec::with_capacity(1 + 2 * self.x.len());
        point.push(0x04);
        point.extend_from_slice(&self.x);
        point.extend_from_slice(&self.y);
        point
    }

    /// The curve.
    pub fn curve(&self) -> EcCurve {
        self.curve
    }

    /// x coordinate.
    pub fn x(&self) -> &[u8] {
        &self.x
    }

    /// y coordinate.
    pub fn y(&self) -> &[u8] {
        &self.y
    }

    /// As a public JWK.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "EC".into(),
            crv: Some(self.curve.jwk_name().into()),
            x: Some(self.x.clone()),
            y: Some(self.y.clone()),
            ..Jwk::default()
        }
    }

    /// Verifies a fixed-size `r || s` signature over a digest. One opaque error for any failure.
    pub fn verify_digest(
        &self,
        alg: EcSignAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let digest = check_pair(alg, self.curve, digest)?;
        signature::UnparsedPublicKey::new(self.curve.verification(), self.uncompressed_point())
            .verify_digest(&digest, signature)
            .map_err(|_| CryptoError::DecryptionFailed)
    }
}
