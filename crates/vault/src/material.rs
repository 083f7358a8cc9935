//! Key material of every key type, and where it is protected at rest.
//!
//! [`PrivateMaterial`] is an RSA, EC or AES key (never `Debug`, never `Clone`). It is stored
//! as bytes sealed under the vault's key: PKCS#8 DER for RSA (untagged, as the first format
//! was), `E` + curve + PKCS#8 DER for EC, `O` + raw bytes for AES. Keys whose type ends in
//! `-HSM` are protected by an [`Hsm`] instead: the seam where a PKCS#11 module would keep the
//! key and hand back only a reference. The built-in [`SoftwareHsm`] seals under the master key
//! with its own purpose, bound to the vault, key and version.

use keyhold_crypto::{
    CryptoError, EcCurve, EcPrivateKey, Jwk, OctKey, RsaPrivateKey, Sealer, SecretBytes,
};

use crate::error::VaultError;

const EC_TAG: u8 = b'E';
const OCT_TAG: u8 = b'O';

/// The family of a key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// RSA / RSA-HSM.
    Rsa,
    /// EC / EC-HSM.
    Ec,
    /// oct-HSM.
    Oct,
}

/// A validated key type: family and whether it is HSM-protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyType {
    /// Family.
    pub family: KeyFamily,
    /// `-HSM`.
    pub hsm: bool,
}

impl KeyType {
    /// Parses `RSA`, `RSA-HSM`, `EC`, `EC-HSM`, `oct-HSM` (as Key Vault spells them).
    pub fn parse(kty: &str) -> Result<KeyType, VaultError> {
        let (family, hsm) = match kty {
            "RSA" => (KeyFamily::Rsa, false),
            "RSA-HSM" => (KeyFamily::Rsa, true),
            "EC" => (KeyFamily::Ec, false),
            "EC-HSM" => (KeyFamily::Ec, true),
            "oct-HSM" => (KeyFamily::Oct, true),
            "oct" => {
                return Err(VaultError::BadParameter(
                    "Symmetric keys are HSM-protected: use kty oct-HSM".into(),
                ));
            }
            other => {
                return Err(VaultError::BadParameter(format!(
                    "Unsupported key type (kty) {other:?}: use RSA, RSA-HSM, EC, EC-HSM or oct-HSM"
                )));
            }
        };
        Ok(KeyType { family, hsm })
    }

    /// The Key Vault spelling.
    pub fn name(self) -> &'static str {
        match (self.family, self.hsm) {
            (KeyFamily::Rsa, false) => "RSA",
            (KeyFamily::Rsa, true) => "RSA-HSM",
            (KeyFamily::Ec, false) => "EC",
            (KeyFamily::Ec, true) => "EC-HSM",
            (KeyFamily::Oct, _) => "oct-HSM",
        }
    }

    /// Operations a key of this family can do (and the default `key_ops`).
    pub fn operations(self) -> &'static [&'static str] {
        match self.family {
            KeyFamily::Rsa => &[
                "encrypt",
                "decrypt",
                "sign",
                "verify",
                "wrapKey",
                "unwrapKey",
            ],
            KeyFamily::Ec => &["sign", "verify"],
            KeyFamily::Oct => &["encrypt", "decrypt", "wrapKey", "unwrapKey"],
        }
    }
}

/// Private key material. Not `Debug`, not `Clone`.
pub enum PrivateMaterial {
    /// RSA.
    Rsa(RsaPrivateKey),
    /// EC.
    Ec(EcPrivateKey),
    /// AES.
    Oct(OctKey),
}

fn curve_byte(curve: EcCurve) -> u8 {
    match curve {
        EcCurve::P256 => 1,
        EcCurve::P384 => 2,
        EcCurve::P521 => 3,
    }
}

fn curve_of(byte: u8) -> Result<EcCurve, VaultError> {
    match byte {
        1 => Ok(EcCurve::P256),
        2 => Ok(EcCurve::P384),
        3 => Ok(EcCurve::P521),
        _ => Err(VaultError::BadParameter(
            "stored key material is damaged".into(),
        )),
    }
}

impl PrivateMaterial {
    /// New material of `family` with the request's size or curve (validated here).
    pub fn generate(
        family: KeyFamily,
        size: Option<usize>,
        crv: Option<&str>,
    ) -> Result<PrivateMaterial, VaultError> {
        match family {
            KeyFamily::Rsa => {
                if crv.is_some() {
                    return Err(VaultError::BadParameter(
                        "crv applies to EC keys only".into(),
                    ));
                }
                let size = size.unwrap_or(2048);
                if ![2048, 3072, 4096].contains(&size) {
                    return Err(VaultError::BadParameter(format!(
                        "Unsupported RSA key size {size}: use 2048, 3072 or 4096"
                    )));
                }
                Ok(PrivateMaterial::Rsa(RsaPrivateKey::generate(size)?))
            }
            KeyFamily::Ec => {
                if size.is_some() {
                    return Err(VaultError::BadParameter(
                        "key_size does not apply to EC keys: give crv".into(),
                    ));
                }
                let name = crv.unwrap_or("P-256");
                let curve = EcCurve::from_jwk_name(name).ok_or_else(|| {
                    VaultError::BadParameter(format!(
                        "Unsupported curve {name:?}: use P-256, P-384 or P-521"
                    ))
                })?;
                Ok(PrivateMaterial::Ec(EcPrivateKey::generate(curve)?))
            }
            KeyFamily::Oct => {
                if crv.is_some() {
                    return Err(VaultError::BadParameter(
                        "crv applies to EC keys only".into(),
                    ));
                }
                let size = size.unwrap_or(256);
                if ![128, 256].contains(&size) {
                    return Err(VaultError::BadParameter(format!(
                        "Unsupported oct-HSM key size {size}: use 128 or 256"
                    )));
                }
                Ok(PrivateMaterial::Oct(OctKey::generate(size)?))
            }
        }
    }

    /// From a private JWK of `family`.
    pub fn from_jwk(family: KeyFamily, jwk: &Jwk) -> Result<PrivateMaterial, VaultError> {
        if !jwk.has_private_members() {
            return Err(VaultError::BadParameter(
                "The JWK has no private key: import needs the private members".into(),
            ));
        }
        Ok(match family {
            KeyFamily::Rsa => PrivateMaterial::Rsa(RsaPrivateKey::from_jwk(jwk)?),
            KeyFamily::Ec => PrivateMaterial::Ec(EcPrivateKey::from_jwk(jwk)?),
            KeyFamily::Oct => PrivateMaterial::Oct(OctKey::from_jwk(jwk)?),
        })
    }

    /// Material for the same family, size and curve (rotation).
    pub fn regenerate(&self) -> Result<PrivateMaterial, VaultError> {
        match self {
            PrivateMaterial::Rsa(k) => {
                PrivateMaterial::generate(KeyFamily::Rsa, Some(k.bits()), None)
            }
            PrivateMaterial::Ec(k) => {
                PrivateMaterial::generate(KeyFamily::Ec, None, Some(k.curve().jwk_name()))
            }
            PrivateMaterial::Oct(k) => {
                PrivateMaterial::generate(KeyFamily::Oct, Some(k.bits()), None)
            }
        }
    }

    /// The storage encoding (secret).
    pub fn encode(&self) -> Result<SecretBytes, VaultError> {
        Ok(match self {
            PrivateMaterial::Rsa(k) => k.to_pkcs8_der()?,
            PrivateMaterial::Ec(k) => {
                let der = k.to_pkcs8_der();
                let mut out = vec![EC_TAG, curve_byte(k.curve())];
                out.extend_from_slice(der.expose_secret());
                SecretBytes::new(out)
            }
            PrivateMaterial::Oct(k) => {
                let mut out = vec![OCT_TAG];
                out.extend_from_slice(k.expose_secret());
                SecretBytes::new(out)
            }
        })
    }

    /// Parses the storage encoding.
    pub fn decode(bytes: &[u8]) -> Result<PrivateMaterial, VaultError> {
        match bytes.first() {
            Some(&EC_TAG) if bytes.len() > 2 => Ok(PrivateMaterial::Ec(
                EcPrivateKey::from_pkcs8_der(curve_of(bytes[1])?, &bytes[2..])?,
            )),
            Some(&OCT_TAG) => Ok(PrivateMaterial::Oct(OctKey::from_bytes(&bytes[1..])?)),
            Some(0x30) => Ok(PrivateMaterial::Rsa(RsaPrivateKey::from_pkcs8_der(bytes)?)),
            _ => Err(VaultError::BadParameter(
                "stored key material is damaged".into(),
            )),
        }
    }

    /// Public parts: (`n`, `e`) for RSA, (`crv`, `x`, `y`) for EC, base64url; nothing for AES.
    pub fn public_parts(&self) -> PublicParts {
        use base64::Engine as _;
        let b = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        match self {
            PrivateMaterial::Rsa(k) => {
                let p = k.public_key();
                PublicParts {
                    n: b(p.n()),
                    e: b(p.e()),
                    ..PublicParts::default()
                }
            }
            PrivateMaterial::Ec(k) => {
                let p = k.public_key();
                PublicParts {
                    crv: Some(k.curve().jwk_name().to_owned()),
                    x: b(p.x()),
                    y: b(p.y()),
                    ..PublicParts::default()
                }
            }
            PrivateMaterial::Oct(_) => PublicParts::default(),
        }
    }
}

/// The public members of a key version.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublicParts {
    /// RSA modulus.
    pub n: String,
    /// RSA exponent.
    pub e: String,
    /// EC curve.
    pub crv: Option<String>,
    /// EC x.
    pub x: String,
    /// EC y.
    pub y: String,
}

/// Where `-HSM` keys live. `protect` turns encoded material into what is stored with the key
/// version; `recover` turns it back, for the operations. A PKCS#11 backend would generate or
/// import the key on its token and return a reference instead of a sealed copy.
pub trait Hsm: Send + Sync {
    /// The backend's name (shown in logs and the key's attributes).
    fn name(&self) -> &'static str;
    /// Protects material for the key version named by `binding` (`vault/key/version`).
    fn protect(&self, binding: &str, material: &SecretBytes) -> Result<Vec<u8>, VaultError>;
    /// Recovers material protected for `binding`.
    fn recover(&self, binding: &str, stored: &[u8]) -> Result<SecretBytes, VaultError>;
}

/// The built-in HSM: material sealed under the master key, bound to its key version.
pub struct SoftwareHsm {
    sealer: std::sync::Arc<Sealer>,
}

/// Seal purpose of software-HSM material. DO NOT CHANGE.
pub(crate) const HSM_PURPOSE: &str = "vault.hsm.v1";

impl SoftwareHsm {
    /// Over the master key's sealer.
    pub fn new(sealer: std::sync::Arc<Sealer>) -> Self {
        Self { sealer }
    }
}

impl Hsm for SoftwareHsm {
    fn name(&self) -> &'static str {
        "software"
    }

    fn protect(&self, binding: &str, material: &SecretBytes) -> Result<Vec<u8>, VaultError> {
        Ok(self.sealer.seal(
            &format!("{HSM_PURPOSE}/{binding}"),
            material.expose_secret(),
        )?)
    }

    fn recover(&self, binding: &str, stored: &[u8]) -> Result<SecretBytes, VaultError> {
        self.sealer
            .open(&format!("{HSM_PURPOSE}/{binding}"), stored)
            .map_err(|e| match e {
                CryptoError::DecryptionFailed => {
                    VaultError::BadParameter("stored key material is damaged".into())
                }
                other => VaultError::from(other),
            })
    }
}
