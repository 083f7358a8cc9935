//! RSA keys on aws-lc: generation (2048/3072/4096), RSA-OAEP key wrapping with SHA-1 and
//! SHA-256 (Azure's `RSA-OAEP` and `RSA-OAEP-256`), RSASSA-PKCS1-v1_5 and PSS signatures, and
//! JWK import/export.
//!
//! Security notes: unwrap failures are opaque ([`CryptoError::DecryptionFailed`]), whatever
//! went wrong, to avoid a padding oracle. The private key is held by aws-lc (freed and cleansed
//! there) plus one zeroizing PKCS#8 copy for sealing; [`RsaPrivateKey`] is neither `Debug` nor
//! `Clone`.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeyPair, KeyPairComponents, KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
    PublicKeyComponents,
};
use aws_lc_rs::signature::{self, KeyPair as _, RsaEncoding, RsaParameters};
use zeroize::Zeroizing;

use crate::der::{parse_rsa_pkcs8, rsa_spki};
use crate::error::CryptoError;
use crate::jwk::{Jwk, JwkSecret};
use crate::secret::SecretBytes;

/// RSA-OAEP variants, by their Azure names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaOaepAlgorithm {
    /// `RSA-OAEP`: SHA-1 and MGF1-SHA-1 (what Azure Storage CMK still sends).
    RsaOaep,
    /// `RSA-OAEP-256`: SHA-256 and MGF1-SHA-256.
    RsaOaep256,
}

impl RsaOaepAlgorithm {
    /// The Azure/JOSE name.
    pub fn azure_name(self) -> &'static str {
        match self {
            RsaOaepAlgorithm::RsaOaep => "RSA-OAEP",
            RsaOaepAlgorithm::RsaOaep256 => "RSA-OAEP-256",
        }
    }
    /// Parses an Azure/JOSE name (exact, case-sensitive as Azure is).
    pub fn from_azure_name(name: &str) -> Option<Self> {
        match name {
            "RSA-OAEP" => Some(RsaOaepAlgorithm::RsaOaep),
            "RSA-OAEP-256" => Some(RsaOaepAlgorithm::RsaOaep256),
            _ => None,
        }
    }
    fn params(self) -> &'static aws_lc_rs::rsa::OaepAlgorithm {
        match self {
            RsaOaepAlgorithm::RsaOaep => &OAEP_SHA1_MGF1SHA1,
            RsaOaepAlgorithm::RsaOaep256 => &OAEP_SHA256_MGF1SHA256,
        }
    }
}

/// RSA encryption paddings of the Key Vault `encrypt`/`wrapKey` operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaEncryptionAlgorithm {
    /// `RSA1_5`: PKCS#1 v1.5 (legacy; Azure marks it "not recommended").
    Rsa1_5,
    /// An OAEP variant.
    Oaep(RsaOaepAlgorithm),
}

impl RsaEncryptionAlgorithm {
    /// Parses an Azure name (`RSA1_5`, `RSA-OAEP`, `RSA-OAEP-256`).
    pub fn from_azure_name(name: &str) -> Option<Self> {
        if name == "RSA1_5" {
            return Some(RsaEncryptionAlgorithm::Rsa1_5);
        }
        RsaOaepAlgorithm::from_azure_name(name).map(RsaEncryptionAlgorithm::Oaep)
    }
}

/// RSA signature algorithms, by their JOSE names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaSignAlgorithm {
    /// RSASSA-PKCS1-v1_5 SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 SHA-512.
    Rs512,
    /// RSASSA-PSS SHA-256.
    Ps256,
    /// RSASSA-PSS SHA-384.
    Ps384,
    /// RSASSA-PSS SHA-512.
    Ps512,
}

impl RsaSignAlgorithm {
    /// The JOSE name.
    pub fn azure_name(self) -> &'static str {
        match self {
            RsaSignAlgorithm::Rs256 => "RS256",
            RsaSignAlgorithm::Rs384 => "RS384",
            RsaSignAlgorithm::Rs512 => "RS512",
            RsaSignAlgorithm::Ps256 => "PS256",
            RsaSignAlgorithm::Ps384 => "PS384",
            RsaSignAlgorithm::Ps512 => "PS512",
        }
    }
    /// Parses a JOSE name.
    pub fn from_azure_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => RsaSignAlgorithm::Rs256,
            "RS384" => RsaSignAlgorithm::Rs384,
            "RS512" => RsaSignAlgorithm::Rs512,
            "PS256" => RsaSignAlgorithm::Ps256,
            "PS384" => RsaSignAlgorithm::Ps384,
            "PS512" => RsaSignAlgorithm::Ps512,
            _ => return None,
        })
    }
    fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            RsaSignAlgorithm::Rs256 => &signature::RSA_PKCS1_SHA256,
            RsaSignAlgorithm::Rs384 => &signature::RSA_PKCS1_SHA384,
            RsaSignAlgorithm::Rs512 => &signature::RSA_PKCS1_SHA512,
            RsaSignAlgorithm::Ps256 => &signature::RSA_PSS_SHA256,
            RsaSignAlgorithm::Ps384 => &signature::RSA_PSS_SHA384,
            RsaSignAlgorithm::Ps512 => &signature::RSA_PSS_SHA512,
        }
    }
    fn verification(self) -> &'static RsaParameters {
        match self {
            RsaSignAlgorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            RsaSignAlgorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            RsaSignAlgorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            RsaSignAlgorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            RsaSignAlgorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            RsaSignAlgorithm::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
        }
    }
    fn digest(self) -> &'static digest::Algorithm {
        match self {
            RsaSignAlgorithm::Rs256 | RsaSignAlgorithm::Ps256 => &digest::SHA256,
            RsaSignAlgorithm::Rs384 | RsaSignAlgorithm::Ps384 => &digest::SHA384,
            RsaSignAlgorithm::Rs512 | RsaSignAlgorithm::Ps512 => &digest::SHA512,
        }
    }
}

/// An RSA private key. Not `Debug`, not `Clone`.
pub struct RsaPrivateKey {
    pkcs8: Zeroizing<Vec<u8>>,
    signer: KeyPair,
    decrypter: OaepPrivateDecryptingKey,
    public: RsaPublicKey,
}

impl RsaPrivateKey {
    /// Generates a key of 2048, 3072 or 4096 bits.
    pub fn generate(bits: usize) -> Result<Self, CryptoError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => {
                return Err(CryptoError::InvalidParameter(
                    "RSA key size must be 2048, 3072 or 4096",
                ));
            }
        };
        let key = PrivateDecryptingKey::generate(size).map_err(|_| CryptoError::Rng)?;
        let der = key
            .as_der()
            .map_err(|_| CryptoError::InvalidKey("cannot encode generated key"))?;
        Self::from_pkcs8_der(der.as_ref())
    }

    /// Parses a PKCS#8 v1 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let signer = KeyPair::from_pkcs8(der)
            .map_err(|_| CryptoError::InvalidKey("not an RSA PKCS#8 key"))?;
        let decrypter = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| CryptoError::InvalidKey("not an RSA PKCS#8 key"))
            .and_then(|k| {
                OaepPrivateDecryptingKey::new(k)
                    .map_err(|_| CryptoError::InvalidKey("not an RSA PKCS#8 key"))
            })?;
        let components: PublicKeyComponents<Vec<u8>> = signer.public_key().into();
        let public = RsaPublicKey::from_components(&components.n, &components.e)?;
        Ok(Self {
            pkcs8: Zeroizing::new(der.to_vec()),
            signer,
            decrypter,
            public,
        })
    }

    /// The PKCS#8 DER encoding, for sealing at rest.
    pub fn to_pkcs8_der(&self) -> Result<SecretBytes, CryptoError> {
        Ok(SecretBytes::new(self.pkcs8.to_vec()))
    }

    /// Imports a private JWK (`n, e, d, p, q, dp, dq, qi` all required).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        if !jwk.kty.starts_with("RSA") {
            return Err(CryptoError::InvalidKey("JWK kty is not RSA"));
        }
        fn secret(m: &Option<JwkSecret>) -> Result<&[u8], CryptoError> {
            m.as_ref()
                .map(JwkSecret::expose_secret)
                .ok_or(CryptoError::InvalidKey(
                    "private RSA JWK needs n, e, d, p, q, dp, dq, qi",
                ))
        }
        let n = jwk
            .n
            .as_deref()
            .ok_or(CryptoError::InvalidKey("RSA JWK needs n"))?;
        let e = jwk
            .e
            .as_deref()
            .ok_or(CryptoError::InvalidKey("RSA JWK needs e"))?;
        let components = KeyPairComponents {
            public_key: PublicKeyComponents {
                n: strip(n),
                e: strip(e),
            },
            d: secret(&jwk.d)?,
            p: secret(&jwk.p)?,
            q: secret(&jwk.q)?,
            dP: secret(&jwk.dp)?,
            dQ: secret(&jwk.dq)?,
            qInv: secret(&jwk.qi)?,
        };
        let pair = KeyPair::from_components(&components).map_err(|_| {
            CryptoError::InvalidKey("RSA JWK components are inconsistent or too small")
        })?;
        let der = pair
            .as_der()
            .map_err(|_| CryptoError::InvalidKey("cannot encode imported key"))?;
        let key = Self::from_pkcs8_der(der.as_ref())?;
        if key.bits() < 2048 {
            return Err(CryptoError::InvalidKey(
                "RSA keys must have at least 2048 bits",
            ));
        }
        Ok(key)
    }

    /// Exports the private key as a JWK (`kty` = `RSA`).
    pub fn to_private_jwk(&self) -> Result<Jwk, CryptoError> {
        let parts = parse_rsa_pkcs8(&self.pkcs8)?;
        let secret = |b: &[u8]| Some(JwkSecret::new(b.to_vec()));
        Ok(Jwk {
            kty: "RSA".into(),
            n: Some(parts.n.to_vec()),
            e: Some(parts.e.to_vec()),
            d: secret(parts.d),
            p: secret(parts.p),
            q: secret(parts.q),
            dp: secret(parts.dp),
            dq: secret(parts.dq),
            qi: secret(parts.qi),
            ..Jwk::default()
        })
    }

    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// RSA-OAEP decryption of a wrapped key. Every failure is `DecryptionFailed`.
    pub fn unwrap_key(
        &self,
        alg: RsaOaepAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        let mut out = Zeroizing::new(vec![0u8; self.decrypter.key_size_bytes()]);
        let len = self
            .decrypter
            .decrypt(alg.params(), ciphertext, &mut out, None)
            .map_err(|_| CryptoError::DecryptionFailed)?
            .len();
        Ok(SecretBytes::new(out[..len].to_vec()))
    }

    /// Decrypts with any Key Vault padding. Every failure is `DecryptionFailed` (for PKCS#1
    /// v1.5 this matters most: a distinguishable padding error is Bleichenbacher's oracle).
    pub fn decrypt(
        &self,
        alg: RsaEncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes, CryptoError> {
        match alg {
            RsaEncryptionAlgorithm::Oaep(oaep) => self.unwrap_key(oaep, ciphertext),
            RsaEncryptionAlgorithm::Rsa1_5 => {
                let key = PrivateDecryptingKey::from_pkcs8(&self.pkcs8)
                    .map_err(|_| CryptoError::DecryptionFailed)
                    .and_then(|k| {
                        aws_lc_rs::rsa::Pkcs1PrivateDecryptingKey::new(k)
                            .map_err(|_| CryptoError::DecryptionFailed)
                    })?;
                let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
                let len = key
                    .decrypt(ciphertext, &mut out)
                    .map_err(|_| CryptoError::DecryptionFailed)?
                    .len();
                Ok(SecretBytes::new(out[..len].to_vec()))
            }
        }
    }

    /// Signs `message` (hashing it with the algorithm's digest).
    pub fn sign(&self, alg: RsaSignAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut sig = vec![0u8; self.signer.public_modulus_len()];
        self.signer
            .sign(alg.encoding(), &SystemRandom::new(), message, &mut sig)
            .map_err(|_| CryptoError::InvalidParameter("signing failed"))?;
        Ok(sig)
    }

    /// Signs a precomputed digest, as Key Vault's `sign` operation does. The digest length must
    /// match the algorithm's hash.
    pub fn sign_digest(
        &self,
        alg: RsaSignAlgorithm,
        digest_bytes: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if digest_bytes.len() != alg.digest().output_len() {
            return Err(CryptoError::InvalidParameter(
                "digest length does not match the algorithm",
            ));
        }
        let digest = digest::Digest::import_less_safe(digest_bytes, alg.digest())
            .map_err(|_| CryptoError::InvalidParameter("digest"))?;
        let mut sig = vec![0u8; self.signer.public_modulus_len()];
        self.signer
            .sign_digest(alg.encoding(), &digest, &mut sig)
            .map_err(|_| CryptoError::InvalidParameter("signing failed"))?;
        Ok(sig)
    }
}

/// An RSA public key (`n`, `e`), big-endian without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

fn strip(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[zeros.min(bytes.len().saturating_sub(1))..]
}

impl RsaPublicKey {
    /// From modulus and exponent; at least 2048 bits.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, CryptoError> {
        let (n, e) = (strip(n), strip(e));
        if n.is_empty() || e.is_empty() {
            return Err(CryptoError::InvalidKey("RSA n and e must not be empty"));
        }
        let key = Self {
            n: n.to_vec(),
            e: e.to_vec(),
        };
        if key.bits() < 2048 || key.bits() > 8192 {
            return Err(CryptoError::InvalidKey(
                "RSA modulus must be 2048 to 8192 bits",
            ));
        }
        PublicEncryptingKey::from_der(&key.to_spki_der()?)
            .map_err(|_| CryptoError::InvalidKey("not a valid RSA public key"))?;
        Ok(key)
    }

    /// From a JWK's `n` and `e`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, CryptoError> {
        if !jwk.kty.starts_with("RSA") {
            return Err(CryptoError::InvalidKey("JWK kty is not RSA"));
        }
        match (&jwk.n, &jwk.e) {
            (Some(n), Some(e)) => Self::from_components(n, e),
            _ => Err(CryptoError::InvalidKey("RSA JWK needs n and e")),
        }
    }

    /// As a public JWK.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA".into(),
            n: Some(self.n.clone()),
            e: Some(self.e.clone()),
            ..Jwk::default()
        }
    }

    /// Modulus.
    pub fn n(&self) -> &[u8] {
        &self.n
    }

    /// Public exponent.
    pub fn e(&self) -> &[u8] {
        &self.e
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        let lead = self.n.first().map_or(0, |b| 8 - b.leading_zeros() as usize);
        (self.n.len().saturating_sub(1)) * 8 + lead
    }

    /// RSA-OAEP encryption of a key.
    pub fn wrap_key(
        &self,
        alg: RsaOaepAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = PublicEncryptingKey::from_der(&self.to_spki_der()?)
            .map_err(|_| CryptoError::InvalidKey("RSA public key"))
            .and_then(|k| {
                OaepPublicEncryptingKey::new(k)
                    .map_err(|_| CryptoError::InvalidKey("RSA public key"))
            })?;
        let mut out = vec![0u8; key.ciphertext_size()];
        let len = key
            .encrypt(alg.params(), plaintext, &mut out, None)
            .map_err(|_| {
                CryptoError::InvalidParameter("plaintext too long for this key and padding")
            })?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// Encrypts with any Key Vault padding.
    pub fn encrypt(
        &self,
        alg: RsaEncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match alg {
            RsaEncryptionAlgorithm::Oaep(oaep) => self.wrap_key(oaep, plaintext),
            RsaEncryptionAlgorithm::Rsa1_5 => {
                let key = PublicEncryptingKey::from_der(&self.to_spki_der()?)
                    .map_err(|_| CryptoError::InvalidKey("RSA public key"))
                    .and_then(|k| {
                        aws_lc_rs::rsa::Pkcs1PublicEncryptingKey::new(k)
                            .map_err(|_| CryptoError::InvalidKey("RSA public key"))
                    })?;
                let mut out = vec![0u8; key.ciphertext_size()];
                let len = key
                    .encrypt(plaintext, &mut out)
                    .map_err(|_| {
                        CryptoError::InvalidParameter("plaintext too long for this key and padding")
                    })?
                    .len();
                out.truncate(len);
                Ok(out)
            }
        }
    }

    /// Verifies a signature over `message`.
    pub fn verify(
        &self,
        alg: RsaSignAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        signature::RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        }
        .verify(alg.verification(), message, signature)
        .map_err(|_| CryptoError::DecryptionFailed)
    }

    /// Verifies a signature over a precomputed digest (Key Vault `verify`).
    pub fn verify_digest(
        &self,
        alg: RsaSignAlgorithm,
        digest_bytes: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        if digest_bytes.len() != alg.digest().output_len() {
            return Err(CryptoError::InvalidParameter(
                "digest length does not match the algorithm",
            ));
        }
        let digest = digest::Digest::import_less_safe(digest_bytes, alg.digest())
            .map_err(|_| CryptoError::InvalidParameter("digest"))?;
        let key = signature::UnparsedPublicKey::new(alg.verification(), self.to_pkcs1_der());
        key.verify_digest(&digest, signature)
            .map_err(|_| CryptoError::DecryptionFailed)
    }

    /// `SubjectPublicKeyInfo` DER.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(rsa_spki(&self.n, &self.e))
    }

    fn to_pkcs1_der(&self) -> Vec<u8> {
        crate::der::rsa_public_pkcs1(&self.n, &self.e)
    }
}
