//! Wire shapes of the keys API: KeyBundle, DeletedKeyBundle, KeyItem, DeletedKeyItem and
//! paged lists. Times are unix seconds; `recoveryLevel`/`recoverableDays` come from the vault.

use keyhold_vault::model::{DeletedInfo, KeyAttributes};
use keyhold_vault::{KeyVersion, Vault};
use serde_json::{Value, json};

use crate::state::AppState;

/// `https://{vault}.{domain}:{port}/keys/{name}[/{version}]`.
pub fn kid(state: &AppState, vault: &Vault, name: &str, version: Option<&str>) -> String {
    let base = format!("{}/keys/{name}", state.vault_url(&vault.name));
    match version {
        Some(v) => format!("{base}/{v}"),
        None => base,
    }
}

/// The `attributes` object.
pub fn attributes(vault: &Vault, a: &KeyAttributes) -> Value {
    let mut out = json!({
        "enabled": a.enabled,
        "created": a.created,
        "updated": a.updated,
        "recoveryLevel": vault.recovery_level(),
        "recoverableDays": vault.soft_delete_retention_days,
        "exportable": a.exportable,
    });
    if let Some(nbf) = a.nbf {
        out["nbf"] = nbf.into();
    }
    if let Some(exp) = a.exp {
        out["exp"] = exp.into();
    }
    out
}

fn with_tags(mut value: Value, version: &KeyVersion) -> Value {
    if !version.tags.is_empty() {
        value["tags"] = json!(version.tags);
    }
    value
}

/// A KeyBundle.
pub fn key_bundle(state: &AppState, vault: &Vault, version: &KeyVersion) -> Value {
    let kid = kid(state, vault, &version.name, Some(&version.version));
    with_tags(
        json!({
            "key": version.public_jwk(&kid),
            "attributes": attributes(vault, &version.attributes),
        }),
        version,
    )
}

fn add_deleted(
    mut value: Value,
    state: &AppState,
    vault: &Vault,
    name: &str,
    d: &DeletedInfo,
) -> Value {
    value["recoveryId"] = format!("{}/deletedkeys/{name}", state.vault_url(&vault.name)).into();
    value["deletedDate"] = d.deleted.into();
    value["scheduledPurgeDate"] = d.scheduled_purge.into();
    value
}

/// A DeletedKeyBundle.
pub fn deleted_bundle(
    state: &AppState,
    vault: &Vault,
    d: &DeletedInfo,
    version: &KeyVersion,
) -> Value {
    add_deleted(
        key_bundle(state, vault, version),
        state,
        vault,
        &version.name,
        d,
    )
}

/// A KeyItem (`kid` without version in key lists, with it in version lists).
pub fn key_item(state: &AppState, vault: &Vault, version: &KeyVersion, versioned: bool) -> Value {
    let kid = kid(
        state,
        vault,
        &version.name,
        versioned.then_some(version.version.as_str()),
    );
    with_tags(
        json!({
            "kid": kid,
            "attributes": attributes(vault, &version.attributes),
        }),
        version,
    )
}

/// A DeletedKeyItem.
pub fn deleted_item(
    state: &AppState,
    vault: &Vault,
    d: &DeletedInfo,
    version: &KeyVersion,
) -> Value {
    add_deleted(
        key_item(state, vault, version, false),
        state,
        vault,
        &version.name,
        d,
    )
}

/// A page: `{value, nextLink}` with the continuation as `$skiptoken`.
pub fn page(
    state: &AppState,
    vault: &Vault,
    path: &str,
    api_version: &str,
    max: usize,
    items: Vec<Value>,
    next: Option<String>,
) -> Value {
    let next_link = next.map(|token| {
        let query = serde_urlencoded::to_string([
            ("api-version", api_version),
            ("$skiptoken", token.as_str()),
            ("maxresults", &max.to_string()),
        ])
        .unwrap_or_default();
        format!("{}{path}?{query}", state.vault_url(&vault.name))
    });
    json!({ "value": items, "nextLink": next_link })
}
