//! `keyhold key …`: keys through a vault's data plane, mirroring `az keyvault key` verbs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Context, runtime};
use crate::output::Output;

/// Options naming one key.
#[derive(Debug, Args)]
pub struct KeyName {
    /// Vault name.
    #[arg(long)]
    vault_name: String,
    /// Key name.
    #[arg(long, short = 'n')]
    name: String,
}

/// `keyhold key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key, or a new version of an existing one.
    Create {
        #[command(flatten)]
        key: KeyName,
        /// Key type: RSA, RSA-HSM, EC, EC-HSM or oct-HSM.
        #[arg(long, default_value = "RSA")]
        kty: String,
        /// RSA size (2048, 3072, 4096) or oct size (256).
        #[arg(long)]
        size: Option<u32>,
        /// EC curve (P-256, P-384, P-521).
        #[arg(long)]
        curve: Option<String>,
        /// Permitted operations (default: every operation of the key type).
        #[arg(long, num_args = 1..)]
        ops: Vec<String>,
        /// Create disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Import a private key from a JWK file (JSON).
    Import {
        #[command(flatten)]
        key: KeyName,
        /// JWK file with the private key.
        #[arg(long)]
        jwk_file: PathBuf,
        /// Import as an HSM-protected key.
        #[arg(long)]
        hsm: bool,
    },
    /// Show a key (its newest version unless --version).
    Show {
        #[command(flatten)]
        key: KeyName,
        /// Version.
        #[arg(long)]
        version: Option<String>,
    },
    /// List a vault's keys.
    List {
        /// Vault name.
        #[arg(long)]
        vault_name: String,
    },
    /// List a key's versions.
    Versions(KeyName),
    /// Make a new version now.
    Rotate(KeyName),
    /// Enable or disable a key version.
    SetAttributes {
        #[command(flatten)]
        key: KeyName,
        /// Version (default: newest).
        #[arg(long)]
        version: Option<String>,
        /// true or false (`--enabled` alone means true).
        #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
        enabled: Option<bool>,
        /// Disable the version (the same as `--enabled false`).
        #[arg(long, conflicts_with = "enabled")]
        disabled: bool,
    },
    /// Delete a key (soft delete: recoverable until purged or its retention passes).
    Delete(KeyName),
    /// Recover a soft-deleted key.
    Recover(KeyName),
    /// Purge a soft-deleted key (refused under purge protection).
    Purge(KeyName),
    /// List soft-deleted keys.
    ListDeleted {
        /// Vault name.
        #[arg(long)]
        vault_name: String,
    },
    /// Write an opaque backup of every version to a file.
    Backup {
        #[command(flatten)]
        key: KeyName,
        /// Output file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Restore a backup file into a vault of the same tenant.
    Restore {
        /// Vault name.
        #[arg(long)]
        vault_name: String,
        /// Backup file.
        #[arg(long)]
        file: PathBuf,
    },
}

/// Follows `nextLink`s and returns every item.
async fn list_all(ctx: &Context, vault: &str, path: &str) -> Result<Value, String> {
    let mut items = Vec::new();
    let mut page = ctx.vault(Method::GET, vault, path, None).await?;
    loop {
        items.extend(page["value"].as_array().cloned().unwrap_or_default());
        match page["nextLink"].as_str() {
            Some(next) => page = ctx.vault_next(vault, next).await?,
            None => return Ok(Value::Array(items)),
        }
    }
}

/// Runs `keyhold key …`.
pub fn run(command: KeyCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            KeyCommand::Create {
                key,
                kty,
                size,
                curve,
                ops,
                disabled,
            } => {
                let mut body = json!({ "kty": kty, "attributes": { "enabled": !disabled } });
                if let Some(size) = size {
                    body["key_size"] = size.into();
                }
                if let Some(curve) = curve {
                    body["crv"] = curve.into();
                }
                if !ops.is_empty() {
                    body["key_ops"] = json!(ops);
                }
                ctx.vault(
                    Method::POST,
                    &key.vault_name,
                    &format!("/keys/{}/create", key.name),
                    Some(&body),
                )
                .await
            }
            KeyCommand::Import { key, jwk_file, hsm } => {
                let text = std::fs::read_to_string(&jwk_file)
                    .map_err(|e| format!("cannot read {}: {e}", jwk_file.display()))?;
                let jwk: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("{} is not a JSON JWK: {e}", jwk_file.display()))?;
                let body = json!({ "key": jwk, "Hsm": hsm });
                ctx.vault(
                    Method::PUT,
                    &key.vault_name,
                    &format!("/keys/{}", key.name),
                    Some(&body),
                )
                .await
            }
            KeyCommand::Show { key, version } => {
                let path = format!("/keys/{}/{}", key.name, version.unwrap_or_default());
                ctx.vault(Method::GET, &key.vault_name, &path, None).await
            }
            KeyCommand::List { vault_name } => list_all(&ctx, &vault_name, "/keys").await,
            KeyCommand::Versions(key) => {
                list_all(
                    &ctx,
                    &key.vault_name,
                    &format!("/keys/{}/versions", key.name),
                )
                .await
            }
            KeyCommand::Rotate(key) => {
                let path = format!("/keys/{}/rotate", key.name);
                ctx.vault(Method::POST, &key.vault_name, &path, None).await
            }
            KeyCommand::SetAttributes {
                key,
                version,
                enabled,
                disabled,
            } => {
                let enabled = match (enabled, disabled) {
                    (Some(enabled), _) => enabled,
                    (None, true) => false,
                    (None, false) => {
                        return Err("give --enabled true|false (or --disabled)".to_owned());
                    }
                };
                let path = format!("/keys/{}/{}", key.name, version.unwrap_or_default());
                let body = json!({ "attributes": { "enabled": enabled } });
                ctx.vault(Method::PATCH, &key.vault_name, &path, Some(&body))
                    .await
            }
            KeyCommand::Delete(key) => {
                let path = format!("/keys/{}", key.name);
                ctx.vault(Method::DELETE, &key.vault_name, &path, None)
                    .await
            }
            KeyCommand::Recover(key) => {
                let path = format!("/deletedkeys/{}/recover", key.name);
                ctx.vault(Method::POST, &key.vault_name, &path, None).await
            }
            KeyCommand::Purge(key) => {
                let path = format!("/deletedkeys/{}", key.name);
                ctx.vault(Method::DELETE, &key.vault_name, &path, None)
                    .await?;
                Ok(json!({ "purged": key.name }))
            }
            KeyCommand::ListDeleted { vault_name } => {
                list_all(&ctx, &vault_name, "/deletedkeys").await
            }
            KeyCommand::Backup { key, file } => {
                let path = format!("/keys/{}/backup", key.name);
                let answer = ctx
                    .vault(Method::POST, &key.vault_name, &path, None)
                    .await?;
                let blob = answer["value"].as_str().ok_or("the answer has no backup")?;
                write_new_file(&file, blob.as_bytes())?;
                Ok(json!({ "backup": file, "bytes": blob.len() }))
            }
            KeyCommand::Restore { vault_name, file } => {
                let blob = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let body = json!({ "value": blob.trim() });
                ctx.vault(Method::POST, &vault_name, "/keys/restore", Some(&body))
                    .await
            }
        }
    })?;
    out.print(&value)
}

/// Writes a new file (never overwriting one), private to its owner, synced to disk.
fn write_new_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
