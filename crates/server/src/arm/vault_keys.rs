//! `Microsoft.KeyVault/vaults/{vault}/keys/{name}`: keys through the management plane, as ARM
//! templates create them (`properties.kty`, `keySize`, `curveName`, `keyOps`, `attributes`).
//!
//! As in Azure, a PUT creates the key's first version if the key does not exist and otherwise
//! answers the key as it is, writing nothing (the control plane makes no new versions and
//! updates nothing). The version is made by the vault service exactly as the data plane's
//! `create` makes it, and is audited as a `KeyCreate` of the vault, besides the ARM gate's own
//! entry. The management action (`Microsoft.KeyVault/vaults/keys/write`) is what authorizes
//! it, not the vault's access policies, as in Azure.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_vault::{AuditEvent, CreateKey, KeyVersion, Vault, VaultError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::vault_error;
use super::routes::{ArmRoute, ResourceOp};
use super::vaults::{not_found, vault_in_group};
use crate::arm::error::api_version;
use crate::http::api_version::Plane;
use crate::http::authz::Grant;
use crate::http::{ApiError, RequestHead, json, json_body};
use crate::state::AppState;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AttributesBody {
    enabled: Option<bool>,
    nbf: Option<u64>,
    exp: Option<u64>,
    exportable: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct KeyProperties {
    kty: Option<String>,
    key_size: Option<usize>,
    curve_name: Option<String>,
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    attributes: AttributesBody,
}

#[derive(Deserialize)]
struct KeyBody {
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: KeyProperties,
}

/// The ARM shape of a key (its newest version).
fn key_json(state: &AppState, vault: &Vault, key: &KeyVersion) -> Value {
    let uri = format!("{}/keys/{}", state.vault_url(&vault.name), key.name);
    let a = &key.attributes;
    let mut attributes = json!({
        "enabled": a.enabled,
        "created": a.created,
        "updated": a.updated,
        "recoveryLevel": vault.recovery_level(),
        "exportable": a.exportable,
    });
    if let Some(nbf) = a.nbf {
        attributes["nbf"] = nbf.into();
    }
    if let Some(exp) = a.exp {
        attributes["exp"] = exp.into();
    }
    let mut properties = json!({
        "attributes": attributes,
        "kty": key.kty,
        "keyOps": key.key_ops,
        "keyUri": uri,
        "keyUriWithVersion": format!("{uri}/{}", key.version),
    });
    if let Some(crv) = &key.crv {
        properties["curveName"] = json!(crv);
    } else if let Ok(modulus) = URL_SAFE_NO_PAD.decode(&key.n)
        && !modulus.is_empty()
    {
        properties["keySize"] = json!(modulus.len() * 8);
    }
    json!({
        "id": format!("{}/keys/{}", vault.resource_id(), key.name),
        "name": key.name,
        "type": "Microsoft.KeyVault/vaults/keys",
        "location": vault.location,
        "tags": key.tags,
        "properties": properties,
    })
}

fn key_not_found(vault: &str, name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("The Resource 'Microsoft.KeyVault/vaults/{vault}/keys/{name}' was not found."),
    )
}

/// The key's newest version; `None` when it does not exist (or is deleted).
async fn existing_key(
    state: &AppState,
    vault: &Vault,
    name: &str,
) -> Result<Option<KeyVersion>, ApiError> {
    match state.vaults().get_key(vault, name, None).await {
        Ok(k) => Ok(Some(k)),
        Err(VaultError::KeyNotFound(_) | VaultError::BadParameter(_)) => Ok(None),
        Err(other) => Err(vault_error(other)),
    }
}

/// Dispatches a `Microsoft.KeyVault/vaults/keys` request (authorized and audited by the ARM
/// gate).
pub async fn handle(
    state: &AppState,
    request: &RequestHead,
    body: Body,
    route: ArmRoute,
    grant: &Grant,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::KeyVault)?;
    let sub = grant.sub()?;
    match route {
        ArmRoute::ListVaultKeys {
            resource_group,
            vault,
            ..
        } => {
            let vault = vault_in_group(state, sub, &resource_group, &vault)
                .await?
                .ok_or_else(|| not_found(&vault, &resource_group))?;
            let (keys, _) = state
                .vaults()
                .list_keys(&vault, None, 1000, false)
                .await
                .map_err(vault_error)?;
            let value: Vec<Value> = keys
                .iter()
                .map(|(_, k)| key_json(state, &vault, k))
                .collect();
            Ok(json(StatusCode::OK, json!({ "value": value })))
        }
        ArmRoute::VaultKey {
            resource_group,
            vault,
            name,
            op,
            ..
        } => {
            let vault = vault_in_group(state, sub, &resource_group, &vault)
                .await?
                .ok_or_else(|| not_found(&vault, &resource_group))?;
            let found = existing_key(state, &vault, &name).await?;
            match (op, found) {
                (ResourceOp::Put, Some(key)) => {
                    // Azure: an existing key is answered as it is, nothing is written.
                    let _: KeyBody = json_body(state, body).await?;
                    Ok(json(StatusCode::OK, key_json(state, &vault, &key)))
                }
                (ResourceOp::Put, None) => {
                    let body: KeyBody = json_body(state, body).await?;
                    super::limits::check_tags(&body.tags)?;
                    let key = create(state, grant, &vault, &name, body).await?;
                    Ok(json(StatusCode::CREATED, key_json(state, &vault, &key)))
                }
                (_, Some(key)) => Ok(json(StatusCode::OK, key_json(state, &vault, &key))),
                (_, None) => Err(key_not_found(&vault.name, &name)),
            }
        }
        _ => Err(ApiError::no_route(
            request.method().as_str(),
            request.uri().path(),
        )),
    }
}

/// Creates the key's first version through the vault service, audited as the data plane's
/// `KeyCreate` is (before the answer leaves).
async fn create(
    state: &AppState,
    grant: &Grant,
    vault: &Vault,
    name: &str,
    body: KeyBody,
) -> Result<KeyVersion, ApiError> {
    let p = body.properties;
    let request = CreateKey {
        kty: p.kty.unwrap_or_else(|| "RSA".into()),
        key_size: p.key_size,
        crv: p.curve_name,
        exportable: p.attributes.exportable.unwrap_or(false),
        key_ops: p.key_ops,
        enabled: p.attributes.enabled,
        nbf: p.attributes.nbf,
        exp: p.attributes.exp,
        tags: body.tags,
    };
    let created = state.vaults().create_key(vault, name, request).await;
    let mut event = AuditEvent {
        caller: grant.caller.principal.object_id.to_string(),
        operation: "KeyCreate".into(),
        vault: Some(vault.name.clone()),
        key: Some(name.to_owned()),
        ..AuditEvent::default()
    };
    let outcome = created.map_err(vault_error);
    match &outcome {
        Ok(key) => {
            event.version = Some(key.version.clone());
            event.result = "201".into();
        }
        Err(err) => event.result = format!("{} {}", err.status().as_u16(), err.code()),
    }
    state.audit().append(event).await.map_err(ApiError::from)?;
    outcome
}
