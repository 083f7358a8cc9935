//! Key operations: encrypt/decrypt and wrapKey/unwrapKey (RSA-OAEP, RSA-OAEP-256), sign/verify
//! of a digest (RS256/384/512, PS256/384/512). Each checks that the version is usable now and
//! that the operation is in its `key_ops`.

use keyhold_crypto::{RsaOaepAlgorithm, RsaPublicKey, RsaSignAlgorithm};

use crate::Vaults;
use crate::error::VaultError;
use crate::model::{KeyVersion, Vault};

/// Result of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// Output bytes (ciphertext, plaintext, signature).
    Bytes(Vec<u8>),
    /// Verification outcome.
    Verified(bool),
}

fn oaep(alg: &str) -> Result<RsaOaepAlgorithm, VaultError> {
    RsaOaepAlgorithm::from_azure_name(alg).ok_or_else(|| {
        VaultError::BadParameter(format!(
            "Invalid or unsupported algorithm {alg:?} for an RSA key: use RSA-OAEP or RSA-OAEP-256"
        ))
    })
}

fn sign_alg(alg: &str) -> Result<RsaSignAlgorithm, VaultError> {
    RsaSignAlgorithm::from_azure_name(alg).ok_or_else(|| {
        VaultError::BadParameter(format!(
            "Invalid or unsupported signature algorithm {alg:?} for an RSA key"
        ))
    })
}

fn public_of(record: &KeyVersion) -> Result<RsaPublicKey, VaultError> {
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

/// A key operation request.
#[derive(Debug, Clone, Copy)]
pub struct OpRequest<'a> {
    /// `encrypt`, `decrypt`, `wrapKey`, `unwrapKey`, `sign`, `verify` (any case).
    pub operation: &'a str,
    /// Algorithm (Azure name).
    pub alg: &'a str,
    /// Input (for `verify`: the digest).
    pub value: &'a [u8],
    /// For `verify`: the signature.
    pub signature: Option<&'a [u8]>,
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
        let OpRequest {
            operation,
            alg,
            value,
            signature,
        } = request;
        let record = self.get_key(vault, name, version).await?;
        let canonical = match operation.to_ascii_lowercase().as_str() {
            "encrypt" => "encrypt",
            "decrypt" => "decrypt",
            "wrapkey" => "wrapKey",
            "unwrapkey" => "unwrapKey",
            "sign" => "sign",
            "verify" => "verify",
            other => {
                return Err(VaultError::BadParameter(format!(
                    "Unknown key operation {other}"
                )));
            }
        };
        if !record.usable(Self::now()) {
            return Err(VaultError::KeyNotUsable {
                op: canonical.into(),
                key: name.into(),
            });
        }
        if !record.allows(canonical) {
            return Err(VaultError::OperationNotPermitted {
                op: canonical.into(),
                key: name.into(),
            });
        }
        let result = match canonical {
            "encrypt" | "wrapKey" => {
                OpResult::Bytes(public_of(&record)?.wrap_key(oaep(alg)?, value)?)
            }
            "decrypt" | "unwrapKey" => {
                let key = self.private_key(vault, &record)?;
                let alg = oaep(alg)?;
                let plain = key.unwrap_key(alg, value)?;
                OpResult::Bytes(plain.expose_secret().to_vec())
            }
            "sign" => {
                let key = self.private_key(vault, &record)?;
                OpResult::Bytes(key.sign_digest(sign_alg(alg)?, value)?)
            }
            _ => {
                let signature = signature.ok_or_else(|| {
                    VaultError::BadParameter(
                        "verify needs the signature in 'value' and the digest in 'digest'".into(),
                    )
                })?;
                let ok = public_of(&record)?
                    .verify_digest(sign_alg(alg)?, value, signature)
                    .is_ok();
                OpResult::Verified(ok)
            }
        };
        Ok((record, result))
    }
}
