//! Key operations. RSA: encrypt/decrypt and wrapKey/unwrapKey with RSA1_5, RSA-OAEP and
//! RSA-OAEP-256, sign/verify of a digest (RS256/384/512, PS256/384/512). EC: sign/verify
//! (ES256/384/512). oct-HSM: wrapKey/unwrapKey (A128KW, A256KW) and encrypt/decrypt (A128GCM,
//! A256GCM, with IV, AAD and tag). Each checks that the version is usable now and that the
//! operation is in its `key_ops`; decryption failures are one opaque error.

use keyhold_crypto::{
    EcSignAlgorithm, OctAlgorithm, RsaEncryptionAlgorithm, RsaPublicKey, RsaSignAlgorithm,
};

use crate::Vaults;
use crate::error::VaultError;
use crate::material::PrivateMaterial;
use crate::model::{KeyVersion, Vault};

/// Result of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// Output bytes (ciphertext, plaintext, signature).
    Bytes(Vec<u8>),
    /// AES-GCM ciphertext with its IV and tag.
    Sealed {
        /// Ciphertext.
        ciphertext: Vec<u8>,
        /// IV used.
        iv: Vec<u8>,
        /// Authentication tag.
        tag: Vec<u8>,
    },
    /// Verification outcome.
    Verified(bool),
}

/// A cryptographic operation on one key version (Key Vault's `/keys/{name}/{version}/{op}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyOperation {
    /// `encrypt`
    Encrypt,
    /// `decrypt`
    Decrypt,
    /// `wrapKey`
    WrapKey,
    /// `unwrapKey`
    UnwrapKey,
    /// `sign`
    Sign,
    /// `verify`
    Verify,
}

impl KeyOperation {
    /// The operation's name as in a key's `key_ops` (`wrapKey`).
    pub fn name(self) -> &'static str {
        match self {
            KeyOperation::Encrypt => "encrypt",
            KeyOperation::Decrypt => "decrypt",
            KeyOperation::WrapKey => "wrapKey",
            KeyOperation::UnwrapKey => "unwrapKey",
            KeyOperation::Sign => "sign",
            KeyOperation::Verify => "verify",
        }
    }

    /// Parses a name, without regard to case (`wrapkey`, `wrapKey`).
    pub fn parse(name: &str) -> Option<KeyOperation> {
        Some(match name.to_ascii_lowercase().as_str() {
            "encrypt" => KeyOperation::Encrypt,
            "decrypt" => KeyOperation::Decrypt,
            "wrapkey" => KeyOperation::WrapKey,
            "unwrapkey" => KeyOperation::UnwrapKey,
            "sign" => KeyOperation::Sign,
            "verify" => KeyOperation::Verify,
            _ => return None,
        })
    }
}

/// A key operation request.
#[derive(Debug, Clone, Copy)]
pub struct OpRequest<'a> {
    /// The operation.
    pub operation: KeyOperation,
    /// Algorithm (Azure name).
    pub alg: &'a str,
    /// Input (for `verify`: the digest).
    pub value: &'a [u8],
    /// For `verify`: the signature.
    pub signature: Option<&'a [u8]>,
    /// AES-GCM IV (encrypt: optional; decrypt: required).
    pub iv: Option<&'a [u8]>,
    /// AES-GCM additional authenticated data.
    pub aad: Option<&'a [u8]>,
    /// AES-GCM tag (decrypt).
    pub tag: Option<&'a [u8]>,
}

impl<'a> OpRequest<'a> {
    /// A request without AES-GCM parameters.
    pub fn new(operation: KeyOperation, alg: &'a str, value: &'a [u8]) -> Self {
        Self {
            operation,
            alg,
            value,
            signature: None,
            iv: None,
            aad: None,
            tag: None,
        }
    }
}

fn unsupported(alg: &str, kty: &str) -> VaultError {
    VaultError::BadParameter(format!(
        "Invalid or unsupported algorithm {alg:?} for a {kty} key"
    ))
}

fn rsa_public(record: &KeyVersion) -> Result<RsaPublicKey, VaultError> {
    use base64::Engine as _;
    let d = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| VaultError::BadParameter("stored key is damaged".into()))
    };
    Ok(RsaPublicKey::from_components(
        &d(&record.n)?,
        &d(&record.e)?,
    )?)
}

impl Vaults {
    /// Runs an operation on a key version (the newest when `version` is `None`).
    pub async fn key_operation(
        &self,
        vault: &Vault,
        name: &str,
        version: Option<&str>,
        request: OpRequest<'_>,
    ) -> Result<(KeyVersion, OpResult), VaultError> {
        let record = self.get_key(vault, name, version).await?;
        let op = request.operation;
        if !record.usable(Self::now()) {
            return Err(VaultError::KeyNotUsable {
                op: op.name().into(),
                key: name.into(),
            });
        }
        if !record.allows(op.name()) {
            return Err(VaultError::OperationNotPermitted {
                op: op.name().into(),
                key: name.into(),
            });
        }
        let result = if record.kty.starts_with("RSA") {
            self.rsa_operation(vault, &record, op, request)?
        } else {
            let material = self.private_material(vault, &record)?;
            match material.as_ref() {
                PrivateMaterial::Ec(key) => {
                    let alg = EcSignAlgorithm::from_azure_name(request.alg)
                        .ok_or_else(|| unsupported(request.alg, &record.kty))?;
                    match op {
                        KeyOperation::Sign => OpResult::Bytes(key.sign_digest(alg, request.value)?),
                        KeyOperation::Verify => {
                            let signature = signature_of(request)?;
                            let valid = key
                                .public_key()
                                .verify_digest(alg, request.value, signature)
                                .is_ok();
                            OpResult::Verified(valid)
                        }
                        _ => return Err(unsupported(request.alg, &record.kty)),
                    }
                }
                PrivateMaterial::Oct(key) => {
                    let alg = OctAlgorithm::from_azure_name(request.alg)
                        .ok_or_else(|| unsupported(request.alg, &record.kty))?;
                    let aad = request.aad.unwrap_or_default();
                    match (op, alg) {
                        (KeyOperation::WrapKey, OctAlgorithm::KeyWrap(_)) => {
                            OpResult::Bytes(key.wrap_kw(alg, request.value)?)
                        }
                        (KeyOperation::UnwrapKey, OctAlgorithm::KeyWrap(_)) => OpResult::Bytes(
                            key.unwrap_kw(alg, request.value)?.expose_secret().to_vec(),
                        ),
                        (KeyOperation::Encrypt, OctAlgorithm::Gcm(_)) => {
                            let out = key.encrypt_gcm(alg, request.value, request.iv, aad)?;
                            OpResult::Sealed {
                                ciphertext: out.ciphertext,
                                iv: out.iv,
                                tag: out.tag,
                            }
                        }
                        (KeyOperation::Decrypt, OctAlgorithm::Gcm(_)) => {
                            let (Some(iv), Some(tag)) = (request.iv, request.tag) else {
                                return Err(VaultError::BadParameter(
                                    "AES-GCM decryption needs iv and tag".into(),
                                ));
                            };
                            OpResult::Bytes(
                                key.decrypt_gcm(alg, iv, request.value, aad, tag)?
                                    .expose_secret()
                                    .to_vec(),
                            )
                        }
                        _ => return Err(unsupported(request.alg, &record.kty)),
                    }
                }
                PrivateMaterial::Rsa(_) => return Err(unsupported(request.alg, &record.kty)),
            }
        };
        Ok((record, result))
    }

    fn rsa_operation(
        &self,
        vault: &Vault,
        record: &KeyVersion,
        op: KeyOperation,
        request: OpRequest<'_>,
    ) -> Result<OpResult, VaultError> {
        let encryption = || {
            RsaEncryptionAlgorithm::from_azure_name(request.alg)
                .ok_or_else(|| unsupported(request.alg, &record.kty))
        };
        let signing = || {
            RsaSignAlgorithm::from_azure_name(request.alg)
                .ok_or_else(|| unsupported(request.alg, &record.kty))
        };
        Ok(match op {
            KeyOperation::Encrypt | KeyOperation::WrapKey => {
                OpResult::Bytes(rsa_public(record)?.encrypt(encryption()?, request.value)?)
            }
            KeyOperation::Decrypt | KeyOperation::UnwrapKey => {
                let alg = encryption()?;
                let material = self.private_material(vault, record)?;
                let PrivateMaterial::Rsa(key) = material.as_ref() else {
                    return Err(unsupported(request.alg, &record.kty));
                };
                OpResult::Bytes(key.decrypt(alg, request.value)?.expose_secret().to_vec())
            }
            KeyOperation::Sign => {
                let alg = signing()?;
                let material = self.private_material(vault, record)?;
                let PrivateMaterial::Rsa(key) = material.as_ref() else {
                    return Err(unsupported(request.alg, &record.kty));
                };
                OpResult::Bytes(key.sign_digest(alg, request.value)?)
            }
            KeyOperation::Verify => {
                let valid = rsa_public(record)?
                    .verify_digest(signing()?, request.value, signature_of(request)?)
                    .is_ok();
                OpResult::Verified(valid)
            }
        })
    }
}

fn signature_of<'a>(request: OpRequest<'a>) -> Result<&'a [u8], VaultError> {
    request.signature.ok_or_else(|| {
        VaultError::BadParameter(
            "verify needs the signature in 'value' and the digest in 'digest'".into(),
        )
    })
}
