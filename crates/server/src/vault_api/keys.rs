//! Handlers of the keys API: request bodies, calls into the vault service, KeyBundle answers.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_crypto::Jwk;
use keyhold_vault::{AuditEvent, CreateKey, KeyUpdate, OpRequest, OpResult, Vault};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{body_json, shapes, vault_error};
use crate::http::ApiError;
use crate::http::RequestHead;
use crate::http::api_version::query_param;
use crate::state::AppState;
use crate::vault_api::routes::{KeyOperation, VaultRoute};

/// The audit name of a route.
pub fn operation_name(route: &VaultRoute) -> &'static str {
    match route {
        VaultRoute::ListKeys => "KeyList",
        VaultRoute::CreateKey { .. } => "KeyCreate",
        VaultRoute::ImportKey { .. } => "KeyImport",
        VaultRoute::GetKey { .. } => "KeyGet",
        VaultRoute::UpdateKey { .. } => "KeyUpdate",
        VaultRoute::DeleteKey { .. } => "KeyDelete",
        VaultRoute::ListVersions { .. } => "KeyListVersions",
        VaultRoute::Backup { .. } => "KeyBackup",
        VaultRoute::Restore => "KeyRestore",
        VaultRoute::Rotate { .. } => "KeyRotate",
        VaultRoute::GetRotationPolicy { .. } => "KeyRotationPolicyGet",
        VaultRoute::SetRotationPolicy { .. } => "KeyRotationPolicySet",
        VaultRoute::Operation { operation, .. } => match operation {
            KeyOperation::Encrypt => "KeyEncrypt",
            KeyOperation::Decrypt => "KeyDecrypt",
            KeyOperation::WrapKey => "KeyWrap",
            KeyOperation::UnwrapKey => "KeyUnwrap",
            KeyOperation::Sign => "KeySign",
            KeyOperation::Verify => "KeyVerify",
        },
        VaultRoute::ListDeletedKeys => "DeletedKeyList",
        VaultRoute::GetDeletedKey { .. } => "DeletedKeyGet",
        VaultRoute::PurgeDeletedKey { .. } => "DeletedKeyPurge",
        VaultRoute::RecoverDeletedKey { .. } => "DeletedKeyRecover",
        VaultRoute::RandomBytes => "RandomBytes",
    }
}

/// The key a route names, if any.
pub fn key_name(route: &VaultRoute) -> Option<&str> {
    match route {
        VaultRoute::CreateKey { name }
        | VaultRoute::ImportKey { name }
        | VaultRoute::GetKey { name, .. }
        | VaultRoute::UpdateKey { name, .. }
        | VaultRoute::DeleteKey { name }
        | VaultRoute::ListVersions { name }
        | VaultRoute::Backup { name }
        | VaultRoute::Rotate { name }
        | VaultRoute::GetRotationPolicy { name }
        | VaultRoute::SetRotationPolicy { name }
        | VaultRoute::Operation { name, .. }
        | VaultRoute::GetDeletedKey { name }
        | VaultRoute::PurgeDeletedKey { name }
        | VaultRoute::RecoverDeletedKey { name } => Some(name),
        VaultRoute::ListKeys
        | VaultRoute::Restore
        | VaultRoute::ListDeletedKeys
        | VaultRoute::RandomBytes => None,
    }
}

#[derive(Deserialize, Default)]
struct AttributesBody {
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    nbf: Option<Option<u64>>,
    #[serde(default, deserialize_with = "nullable")]
    exp: Option<Option<u64>>,
    exportable: Option<bool>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

#[derive(Deserialize)]
struct CreateBody {
    kty: Option<String>,
    key_size: Option<usize>,
    public_exponent: Option<u64>,
    crv: Option<String>,
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    attributes: AttributesBody,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ImportBody {
    key: Jwk,
    #[serde(rename = "Hsm")]
    hsm: Option<bool>,
    #[serde(default)]
    attributes: AttributesBody,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct UpdateBody {
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    attributes: AttributesBody,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct OperationBody {
    alg: String,
    value: String,
    digest: Option<String>,
    iv: Option<String>,
    aad: Option<String>,
    tag: Option<String>,
}

#[derive(Deserialize)]
struct ValueBody {
    value: String,
}

#[derive(Deserialize)]
struct RandomBody {
    count: u32,
}

fn b64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| {
            ApiError::bad_request(
                "BadParameter",
                format!("Property '{field}' is not valid base64url."),
            )
        })
}

fn ok(value: Value) -> Result<Response, ApiError> {
    Ok((StatusCode::OK, axum::Json(value)).into_response())
}

fn max_results(head: &RequestHead) -> Result<usize, ApiError> {
    match query_param(head.uri(), "maxresults") {
        None => Ok(25),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=25).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                "BadParameter",
                format!("maxresults must be a number from 1 to 25 (got {v:?})"),
            )),
        },
    }
}

/// Runs one authorized request.
pub async fn handle(
    state: &AppState,
    vault: &Vault,
    route: VaultRoute,
    head: &RequestHead,
    body: Body,
    event: &mut AuditEvent,
) -> Result<Response, ApiError> {
    let vaults = state.vaults();
    let api_version = query_param(head.uri(), "api-version").unwrap_or_default();
    match route {
        VaultRoute::CreateKey { name } => {
            let body: CreateBody = body_json(body).await?;
            if body.public_exponent.is_some_and(|e| e != 65537) {
                return Err(ApiError::bad_request(
                    "BadParameter",
                    "public_exponent must be 65537",
                ));
            }
            let version = vaults
                .create_key(
                    vault,
                    &name,
                    CreateKey {
                        kty: body.kty.unwrap_or_default(),
                        key_size: body.key_size,
                        crv: body.crv,
                        key_ops: body.key_ops,
                        enabled: body.attributes.enabled,
                        nbf: body.attributes.nbf.flatten(),
                        exp: body.attributes.exp.flatten(),
                        exportable: body.attributes.exportable.unwrap_or(false),
                        tags: body.tags,
                    },
                )
                .await
                .map_err(vault_error)?;
            event.version = Some(version.version.clone());
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::ImportKey { name } => {
            let body: ImportBody = body_json(body).await?;
            let version = vaults
                .import_key(
                    vault,
                    &name,
                    &body.key,
                    body.hsm.unwrap_or(false),
                    body.attributes.enabled,
                    body.tags,
                )
                .await
                .map_err(vault_error)?;
            event.version = Some(version.version.clone());
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::GetKey { name, version } => {
            let version = vaults
                .get_key(vault, &name, version.as_deref())
                .await
                .map_err(vault_error)?;
            event.version = Some(version.version.clone());
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::UpdateKey { name, version } => {
            let body: UpdateBody = body_json(body).await?;
            let version = vaults
                .update_key(
                    vault,
                    &name,
                    version.as_deref(),
                    KeyUpdate {
                        enabled: body.attributes.enabled,
                        nbf: body.attributes.nbf,
                        exp: body.attributes.exp,
                        key_ops: body.key_ops,
                        tags: body.tags,
                    },
                )
                .await
                .map_err(vault_error)?;
            event.version = Some(version.version.clone());
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::DeleteKey { name } => {
            let (meta, latest) = vaults.delete_key(vault, &name).await.map_err(vault_error)?;
            let deleted = meta.deleted.unwrap_or_default();
            ok(shapes::deleted_bundle(state, vault, &deleted, &latest))
        }
        VaultRoute::ListKeys | VaultRoute::ListDeletedKeys => {
            let deleted = matches!(route, VaultRoute::ListDeletedKeys);
            let max = max_results(head)?;
            let skip = query_param(head.uri(), "$skiptoken");
            let (items, next) = vaults
                .list_keys(vault, skip.as_deref(), max, deleted)
                .await
                .map_err(vault_error)?;
            let values = items
                .iter()
                .map(|(meta, v)| match &meta.deleted {
                    Some(d) => shapes::deleted_item(state, vault, d, v),
                    None => shapes::key_item(state, vault, v, false),
                })
                .collect();
            let path = if deleted { "/deletedkeys" } else { "/keys" };
            ok(shapes::page(
                state,
                vault,
                path,
                &api_version,
                max,
                values,
                next,
            ))
        }
        VaultRoute::ListVersions { name } => {
            let max = max_results(head)?;
            let skip = query_param(head.uri(), "$skiptoken");
            let (versions, next) = vaults
                .list_versions(vault, &name, skip.as_deref(), max)
                .await
                .map_err(vault_error)?;
            let values = versions
                .iter()
                .map(|v| shapes::key_item(state, vault, v, true))
                .collect();
            ok(shapes::page(
                state,
                vault,
                &format!("/keys/{name}/versions"),
                &api_version,
                max,
                values,
                next,
            ))
        }
        VaultRoute::Backup { name } => {
            let blob = vaults.backup_key(vault, &name).await.map_err(vault_error)?;
            ok(json!({ "value": blob }))
        }
        VaultRoute::Restore => {
            let body: ValueBody = body_json(body).await?;
            let version = vaults
                .restore_key(vault, &body.value)
                .await
                .map_err(vault_error)?;
            event.key = Some(version.name.clone());
            event.version = Some(version.version.clone());
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::Rotate { name } => {
            let version = vaults.rotate_key(vault, &name).await.map_err(vault_error)?;
            event.version = Some(version.version.clone());
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::GetRotationPolicy { name } => {
            let policy = vaults
                .rotation_policy(vault, &name)
                .await
                .map_err(vault_error)?;
            ok(rotation_policy_json(state, vault, &name, policy))
        }
        VaultRoute::SetRotationPolicy { name } => {
            let body: Value = body_json(body).await?;
            let policy = keyhold_vault::RotationPolicy::from_wire(&body).map_err(vault_error)?;
            let policy = vaults
                .set_rotation_policy(vault, &name, policy)
                .await
                .map_err(vault_error)?;
            ok(rotation_policy_json(state, vault, &name, Some(policy)))
        }
        VaultRoute::Operation {
            name,
            version,
            operation,
        } => {
            let body: OperationBody = body_json(body).await?;
            let optional = |field: &str, value: &Option<String>| {
                value.as_deref().map(|v| b64(field, v)).transpose()
            };
            let (iv, aad, tag) = (
                optional("iv", &body.iv)?,
                optional("aad", &body.aad)?,
                optional("tag", &body.tag)?,
            );
            let (value, signature) = match operation {
                KeyOperation::Verify => {
                    let digest = body.digest.ok_or_else(|| {
                        ApiError::bad_request("BadParameter", "Property 'digest' is required.")
                    })?;
                    (b64("digest", &digest)?, Some(b64("value", &body.value)?))
                }
                _ => (b64("value", &body.value)?, None),
            };
            let (record, result) = vaults
                .key_operation(
                    vault,
                    &name,
                    version.as_deref(),
                    OpRequest {
                        signature: signature.as_deref(),
                        iv: iv.as_deref(),
                        aad: aad.as_deref(),
                        tag: tag.as_deref(),
                        ..OpRequest::new(operation, &body.alg, &value)
                    },
                )
                .await
                .map_err(vault_error)?;
            event.version = Some(record.version.clone());
            let kid = shapes::kid(state, vault, &record.name, Some(&record.version));
            match result {
                OpResult::Bytes(bytes) => ok(json!({
                    "kid": kid,
                    "value": URL_SAFE_NO_PAD.encode(bytes),
                })),
                OpResult::Sealed {
                    ciphertext,
                    iv,
                    tag,
                } => {
                    let mut answer = json!({
                        "kid": kid,
                        "value": URL_SAFE_NO_PAD.encode(ciphertext),
                        "iv": URL_SAFE_NO_PAD.encode(iv),
                        "tag": URL_SAFE_NO_PAD.encode(tag),
                    });
                    if let Some(aad) = &body.aad {
                        answer["aad"] = aad.clone().into();
                    }
                    ok(answer)
                }
                OpResult::Verified(valid) => ok(json!({ "value": valid })),
            }
        }
        VaultRoute::GetDeletedKey { name } => {
            let (meta, latest) = vaults
                .deleted_key(vault, &name)
                .await
                .map_err(vault_error)?;
            let deleted = meta.deleted.unwrap_or_default();
            ok(shapes::deleted_bundle(state, vault, &deleted, &latest))
        }
        VaultRoute::PurgeDeletedKey { name } => {
            vaults.purge_key(vault, &name).await.map_err(vault_error)?;
            Ok(crate::http::empty(StatusCode::NO_CONTENT))
        }
        VaultRoute::RecoverDeletedKey { name } => {
            let version = vaults
                .recover_key(vault, &name)
                .await
                .map_err(vault_error)?;
            ok(shapes::key_bundle(state, vault, &version))
        }
        VaultRoute::RandomBytes => {
            let body: RandomBody = body_json(body).await?;
            if !(1..=128).contains(&body.count) {
                return Err(ApiError::bad_request(
                    "BadParameter",
                    "count must be between 1 and 128",
                ));
            }
            let bytes = keyhold_crypto::random_bytes(body.count as usize)
                .map_err(|e| ApiError::internal(&e))?;
            ok(json!({ "value": URL_SAFE_NO_PAD.encode(bytes) }))
        }
    }
}

fn rotation_policy_json(
    state: &AppState,
    vault: &Vault,
    name: &str,
    policy: Option<keyhold_vault::RotationPolicy>,
) -> Value {
    let id = format!("{}/rotationpolicy", shapes::kid(state, vault, name, None));
    match policy {
        Some(p) => p.to_wire(&id),
        None => json!({ "id": id, "lifetimeActions": [], "attributes": {} }),
    }
}
