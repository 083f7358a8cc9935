//! Request bodies of `Microsoft.CognitiveServices/accounts` and their parsing into the
//! platform's typed requests (identity types, encryption settings), with ARM errors that say
//! what to fix.

use std::collections::BTreeMap;

use keyhold_platform::{AccountIdentity, CmkRequest, EncryptionRequest};
use serde::Deserialize;
use serde_json::Value;

use crate::http::ApiError;

#[derive(Deserialize, Default)]
pub(crate) struct SkuBody {
    pub(crate) name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityBody {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) user_assigned_identities: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyVaultPropertiesBody {
    pub(crate) key_name: Option<String>,
    pub(crate) key_version: Option<String>,
    pub(crate) key_vault_uri: Option<String>,
    pub(crate) identity_client_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EncryptionBody {
    pub(crate) key_source: Option<String>,
    #[serde(default)]
    pub(crate) key_vault_properties: Option<KeyVaultPropertiesBody>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PropertiesBody {
    pub(crate) encryption: Option<EncryptionBody>,
    #[serde(default)]
    pub(crate) restore: bool,
    pub(crate) allow_project_management: Option<bool>,
    pub(crate) disable_local_auth: Option<bool>,
}

#[derive(Deserialize)]
pub(crate) struct AccountBody {
    pub(crate) location: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) sku: Option<SkuBody>,
    pub(crate) tags: Option<BTreeMap<String, String>>,
    pub(crate) identity: Option<IdentityBody>,
    #[serde(default)]
    pub(crate) properties: PropertiesBody,
}

/// `identity.type` → (system-assigned, user-assigned); spaces and case do not matter, as in
/// ARM ("SystemAssigned, UserAssigned" and "SystemAssigned,UserAssigned" are the same).
pub(crate) fn identity_kinds(kind: &str) -> Result<(bool, bool), ApiError> {
    let compact: String = kind.chars().filter(|c| !c.is_whitespace()).collect();
    match compact.to_ascii_lowercase().as_str() {
        "none" => Ok((false, false)),
        "systemassigned" => Ok((true, false)),
        "userassigned" => Ok((false, true)),
        "systemassigned,userassigned" => Ok((true, true)),
        _ => Err(ApiError::bad_request(
            "InvalidIdentityType",
            format!(
                "identity.type {kind:?} is invalid: use None, SystemAssigned, UserAssigned or \"SystemAssigned, UserAssigned\"."
            ),
        )),
    }
}

pub(crate) fn parse_identity(body: IdentityBody) -> Result<AccountIdentity, ApiError> {
    let (system, user) = identity_kinds(&body.kind)?;
    if user && body.user_assigned_identities.is_empty() {
        return Err(ApiError::bad_request(
            "InvalidIdentity",
            "identity.type UserAssigned needs identity.userAssignedIdentities.",
        ));
    }
    Ok(AccountIdentity {
        system_assigned: system,
        user_assigned: if user {
            body.user_assigned_identities.into_keys().collect()
        } else {
            vec![]
        },
    })
}

pub(crate) fn parse_encryption(body: EncryptionBody) -> Result<EncryptionRequest, ApiError> {
    match body
        .key_source
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("microsoft.cognitiveservices") => Ok(EncryptionRequest::Mmk),
        Some("microsoft.keyvault") | None => {
            let p = body.key_vault_properties.unwrap_or_default();
            let uri = p.key_vault_uri.filter(|u| !u.is_empty()).ok_or_else(|| {
                ApiError::bad_request(
                    "InvalidKeyVaultUri",
                    "keyVaultProperties.keyVaultUri is required with keySource Microsoft.KeyVault.",
                )
            })?;
            Ok(EncryptionRequest::Cmk(CmkRequest {
                key_vault_uri: uri,
                key_name: p.key_name,
                key_version: p.key_version,
                identity_client_id: p.identity_client_id,
            }))
        }
        Some(other) => Err(ApiError::bad_request(
            "InvalidKeySource",
            format!(
                "keySource {other:?} is invalid: use Microsoft.CognitiveServices or Microsoft.KeyVault."
            ),
        )),
    }
}
