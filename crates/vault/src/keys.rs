//! Key lifecycle: create, import, get, list (paged), versions, update, soft delete, recover,
//! purge, rotate, rotation policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use keyhold_crypto::Jwk;
use keyhold_store::{Batch, Precondition, RecordStoreExt, decode, encode};

use crate::error::VaultError;
use crate::material::{KeyType, PrivateMaterial};
use crate::model::{DeletedInfo, KeyAttributes, KeyMeta, KeyVersion, Vault};
use crate::rotation::RotationPolicy;
use crate::{VaultEvent, Vaults};

pub(crate) const KEYS: &str = "vault.keys";
pub(crate) const VERSIONS: &str = "vault.key_versions";
/// Seal purpose of key material. DO NOT CHANGE.
const MATERIAL_PURPOSE: &str = "vault.material.v1";
const ALL_OPS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
];

/// A create request.
#[derive(Debug, Clone, Default)]
pub struct CreateKey {
    /// `RSA` or `RSA-HSM`.
    pub kty: String,
    /// 2048 (default), 3072 or 4096 for RSA; 256 for oct.
    pub key_size: Option<usize>,
    /// Curve for EC keys (`P-256`, `P-384`, `P-521`).
    pub crv: Option<String>,
    /// The private key may be exported (never true here: keyhold has no export or release).
    pub exportable: bool,
    /// Operations; default: all RSA operations.
    pub key_ops: Option<Vec<String>>,
    /// Enabled (default true).
    pub enabled: Option<bool>,
    /// Not before.
    pub nbf: Option<u64>,
    /// Expiry.
    pub exp: Option<u64>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// An update request (absent fields stay as they are).
#[derive(Debug, Clone, Default)]
pub struct KeyUpdate {
    /// Enabled.
    pub enabled: Option<bool>,
    /// Not before (`Some(None)` clears).
    pub nbf: Option<Option<u64>>,
    /// Expiry (`Some(None)` clears).
    pub exp: Option<Option<u64>>,
    /// Operations.
    pub key_ops: Option<Vec<String>>,
    /// Tags (replace).
    pub tags: Option<BTreeMap<String, String>>,
}

/// The non-material parts of a new version.
struct NewVersion {
    kty: String,
    key_ops: Vec<String>,
    attributes: KeyAttributes,
    tags: BTreeMap<String, String>,
}

/// Key names: 1–127 of letters, digits and hyphens.
pub fn validate_key_name(name: &str) -> Result<(), VaultError> {
    if !name.is_empty()
        && name.len() <= 127
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        Ok(())
    } else {
        Err(VaultError::BadParameter(format!(
            "The request URI contains an invalid name: {name}. Key names must be 1-127 characters of letters, digits and '-'."
        )))
    }
}

/// `key_ops` of a request: never empty (the type's operations by default), each known and
/// possible for the key type.
fn validate_ops(ops: Option<Vec<String>>, kty: KeyType) -> Result<Vec<String>, VaultError> {
    let ops = match ops {
        Some(ops) if !ops.is_empty() => ops,
        _ => return Ok(kty.operations().iter().map(|s| (*s).to_owned()).collect()),
    };
    let mut out = Vec::new();
    for op in ops {
        let canonical = ALL_OPS
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&op))
            .ok_or_else(|| VaultError::BadParameter(format!("Invalid key operation: {op}")))?;
        if !kty.operations().contains(canonical) && !["import", "export"].contains(canonical) {
            return Err(VaultError::BadParameter(format!(
                "Key operation {canonical} is not possible with a {} key",
                kty.name()
            )));
        }
        if !out.iter().any(|o: &String| o == canonical) {
            out.push((*canonical).to_owned());
        }
    }
    Ok(out)
}

fn new_version() -> Result<String, VaultError> {
    Ok(hex::encode(keyhold_crypto::random_bytes(16)?))
}

fn key_id(vault: &Vault, name: &str) -> String {
    format!("{}/{}", vault.name, name.to_ascii_lowercase())
}

impl KeyVersion {
    /// Whether the key may be used now (enabled, within nbf/exp).
    pub fn usable(&self, now: u64) -> bool {
        self.attributes.enabled
            && self.attributes.nbf.is_none_or(|nbf| nbf <= now)
            && self.attributes.exp.is_none_or(|exp| exp > now)
    }

    /// Whether `op` is among the key's operations.
    pub fn allows(&self, op: &str) -> bool {
        self.key_ops.iter().any(|o| o.eq_ignore_ascii_case(op))
    }
}

impl Vaults {
    fn material_purpose(vault: &Vault, name: &str, version: &str) -> String {
        format!("{MATERIAL_PURPOSE}/{}/{version}", key_id(vault, name))
    }

    async fn store_new_version(
        &self,
        vault: &Vault,
        name: &str,
        key: &PrivateMaterial,
        new: NewVersion,
    ) -> Result<KeyVersion, VaultError> {
        let NewVersion {
            kty,
            key_ops,
            attributes,
            tags,
        } = new;
        validate_key_name(name)?;
        let id = key_id(vault, name);
        let existing = self.records.get_typed::<KeyMeta>(KEYS, &id).await?;
        if let Some((meta, _)) = &existing
            && meta.deleted.is_some()
        {
            return Err(VaultError::DeletedButRecoverable(name.to_owned()));
        }
        let version = new_version()?;
        let kty_parsed = KeyType::parse(&kty)?;
        let sealed = self.seal_material(vault, name, &version, kty_parsed, key)?;
        let public = key.public_parts();
        let record = KeyVersion {
            name: existing
                .as_ref()
                .map_or_else(|| name.to_owned(), |(m, _)| m.name.clone()),
            version: version.clone(),
            kty,
            key_ops,
            attributes,
            tags,
            n: public.n,
            e: public.e,
            crv: public.crv,
            x: public.x,
            y: public.y,
            sealed: hex::encode(sealed),
        };
        let (meta, expect) = match existing {
            Some((mut meta, v)) => {
                meta.latest = version.clone();
                (meta, Precondition::Version(v))
            }
            None => (
                KeyMeta {
                    name: name.to_owned(),
                    latest: version.clone(),
                    deleted: None,
                    rotation_policy: None,
                },
                Precondition::Absent,
            ),
        };
        let batch = Batch::new()
            .put_if(
                VERSIONS,
                &format!("{id}/{version}"),
                encode(&record)?,
                Precondition::Absent,
            )
            .put_if(KEYS, &id, encode(&meta)?, expect);
        self.records.commit(batch).await?;
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        Ok(record)
    }

    /// Creates a key, or a new version of an existing one.
    pub async fn create_key(
        &self,
        vault: &Vault,
        name: &str,
        req: CreateKey,
    ) -> Result<KeyVersion, VaultError> {
        validate_key_name(name)?;
        let kty = KeyType::parse(&req.kty)?;
        if req.exportable {
            return Err(VaultError::BadParameter(
                "Exportable keys need a release policy; keyhold never releases private keys, so attributes.exportable must be false.".into(),
            ));
        }
        let key_ops = validate_ops(req.key_ops, kty)?;
        let key = PrivateMaterial::generate(kty.family, req.key_size, req.crv.as_deref())?;
        let now = Self::now();
        let attributes = KeyAttributes {
            enabled: req.enabled.unwrap_or(true),
            nbf: req.nbf,
            exp: req.exp,
            created: now,
            updated: now,
            exportable: false,
        };
        let new = NewVersion {
            kty: kty.name().to_owned(),
            key_ops,
            attributes,
            tags: req.tags,
        };
        self.store_new_version(vault, name, &key, new).await
    }

    /// Imports a private RSA JWK as a new key version.
    pub async fn import_key(
        &self,
        vault: &Vault,
        name: &str,
        jwk: &Jwk,
        hsm: bool,
        enabled: Option<bool>,
        tags: BTreeMap<String, String>,
    ) -> Result<KeyVersion, VaultError> {
        validate_key_name(name)?;
        let base = jwk.kty.trim_end_matches("-HSM");
        let hsm = hsm || jwk.kty.ends_with("-HSM") || base == "oct";
        let kty = KeyType::parse(&if hsm {
            format!("{base}-HSM")
        } else {
            base.to_owned()
        })?;
        let key = PrivateMaterial::from_jwk(kty.family, jwk)?;
        let key_ops = validate_ops(jwk.key_ops.clone(), kty)?;
        let now = Self::now();
        let attributes = KeyAttributes {
            enabled: enabled.unwrap_or(true),
            nbf: None,
            exp: None,
            created: now,
            updated: now,
            exportable: false,
        };
        let new = NewVersion {
            kty: kty.name().to_owned(),
            key_ops,
            attributes,
            tags,
        };
        self.store_new_version(vault, name, &key, new).await
    }

    async fn meta(&self, vault: &Vault, name: &str) -> Result<(KeyMeta, u64), VaultError> {
        self.records
            .get_typed::<KeyMeta>(KEYS, &key_id(vault, name))
            .await?
            .ok_or_else(|| VaultError::KeyNotFound(name.to_owned()))
    }

    async fn version_record(
        &self,
        vault: &Vault,
        name: &str,
        version: &str,
    ) -> Result<(KeyVersion, u64), VaultError> {
        self.records
            .get_typed::<KeyVersion>(
                VERSIONS,
                &format!("{}/{}", key_id(vault, name), version.to_ascii_lowercase()),
            )
            .await?
            .ok_or_else(|| VaultError::KeyNotFound(format!("{name}/{version}")))
    }

    /// A key version (the newest when `version` is `None`); deleted keys are not found.
    pub async fn get_key(
        &self,
        vault: &Vault,
        name: &str,
        version: Option<&str>,
    ) -> Result<KeyVersion, VaultError> {
        let wanted = version.filter(|v| !v.is_empty());
        let cache_key = format!(
            "{}/{}",
            key_id(vault, name),
            wanted.unwrap_or_default().to_ascii_lowercase()
        );
        if let Ok(cache) = self.version_cache.lock()
            && let Some(found) = cache.get(&cache_key)
        {
            return Ok(found.clone());
        }
        let generation = self.cache_generation();
        let (meta, _) = self.meta(vault, name).await?;
        if meta.deleted.is_some() {
            return Err(VaultError::KeyNotFound(name.to_owned()));
        }
        let version = wanted.unwrap_or(&meta.latest);
        let found = self.version_record(vault, name, version).await?.0;
        if let Ok(mut cache) = self.version_cache.lock()
            && self.unchanged_since(generation)
        {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(cache_key, found.clone());
        }
        Ok(found)
    }

    /// Keys (newest versions), paged by key name; returns the next skip token.
    pub async fn list_keys(
        &self,
        vault: &Vault,
        skip: Option<&str>,
        max: usize,
        deleted: bool,
    ) -> Result<(Vec<(KeyMeta, KeyVersion)>, Option<String>), VaultError> {
        let prefix = format!("{}/", vault.name);
        let after = skip.map(|s| format!("{prefix}{s}"));
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let page = self
                .records
                .scan(KEYS, &prefix, cursor.as_deref(), 100)
                .await?;
            for (k, rec) in &page.items {
                let meta: KeyMeta = decode(&rec.value)?;
                if meta.deleted.is_some() == deleted {
                    let version = self
                        .version_record(vault, &meta.name, &meta.latest)
                        .await?
                        .0;
                    out.push((meta, version));
                    if out.len() == max {
                        let token = k.strip_prefix(&prefix).map(str::to_owned);
                        return Ok((out, token));
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok((out, None)),
            }
        }
    }

    /// Versions of a key, paged by version id.
    pub async fn list_versions(
        &self,
        vault: &Vault,
        name: &str,
        skip: Option<&str>,
        max: usize,
    ) -> Result<(Vec<KeyVersion>, Option<String>), VaultError> {
        let (meta, _) = self.meta(vault, name).await?;
        if meta.deleted.is_some() {
            return Err(VaultError::KeyNotFound(name.to_owned()));
        }
        let prefix = format!("{}/", key_id(vault, name));
        let after = skip.map(|s| format!("{prefix}{s}"));
        let page = self
            .records
            .scan(VERSIONS, &prefix, after.as_deref(), max.clamp(1, 1000))
            .await?;
        let versions = page
            .items
            .iter()
            .map(|(_, r)| decode(&r.value))
            .collect::<Result<Vec<KeyVersion>, _>>()?;
        let next = page
            .next
            .and_then(|n| n.strip_prefix(&prefix).map(str::to_owned));
        Ok((versions, next))
    }

    /// Updates one version's attributes, operations or tags.
    pub async fn update_key(
        &self,
        vault: &Vault,
        name: &str,
        version: Option<&str>,
        update: KeyUpdate,
    ) -> Result<KeyVersion, VaultError> {
        let current = self.get_key(vault, name, version).await?;
        let (mut record, v) = self.version_record(vault, name, &current.version).await?;
        if let Some(enabled) = update.enabled {
            record.attributes.enabled = enabled;
        }
        if let Some(nbf) = update.nbf {
            record.attributes.nbf = nbf;
        }
        if let Some(exp) = update.exp {
            record.attributes.exp = exp;
        }
        if let Some(ops) = update.key_ops {
            record.key_ops = validate_ops(Some(ops), KeyType::parse(&record.kty)?)?;
        }
        if let Some(tags) = update.tags {
            record.tags = tags;
        }
        record.attributes.updated = Self::now();
        let key = format!("{}/{}", key_id(vault, name), record.version);
        self.records
            .put_typed(VERSIONS, &key, &record, Precondition::Version(v))
            .await?;
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        Ok(record)
    }

    /// Soft-deletes a key (all versions); returns its state and newest version.
    pub async fn delete_key(
        &self,
        vault: &Vault,
        name: &str,
    ) -> Result<(KeyMeta, KeyVersion), VaultError> {
        let (mut meta, v) = self.meta(vault, name).await?;
        if meta.deleted.is_some() {
            return Err(VaultError::KeyNotFound(name.to_owned()));
        }
        let now = Self::now();
        meta.deleted = Some(DeletedInfo {
            deleted: now,
            scheduled_purge: now + u64::from(vault.soft_delete_retention_days) * 86_400,
        });
        self.records
            .put_typed(KEYS, &key_id(vault, name), &meta, Precondition::Version(v))
            .await?;
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        let latest = self.version_record(vault, name, &meta.latest).await?.0;
        Ok((meta, latest))
    }

    /// A soft-deleted key.
    pub async fn deleted_key(
        &self,
        vault: &Vault,
        name: &str,
    ) -> Result<(KeyMeta, KeyVersion), VaultError> {
        let (meta, _) = self
            .meta(vault, name)
            .await
            .map_err(|_| VaultError::DeletedKeyNotFound(name.to_owned()))?;
        if meta.deleted.is_none() {
            return Err(VaultError::DeletedKeyNotFound(name.to_owned()));
        }
        let latest = self.version_record(vault, name, &meta.latest).await?.0;
        Ok((meta, latest))
    }

    /// Recovers a soft-deleted key.
    pub async fn recover_key(&self, vault: &Vault, name: &str) -> Result<KeyVersion, VaultError> {
        let (mut meta, v) = self
            .meta(vault, name)
            .await
            .map_err(|_| VaultError::DeletedKeyNotFound(name.to_owned()))?;
        if meta.deleted.is_none() {
            return Err(VaultError::DeletedKeyNotFound(name.to_owned()));
        }
        meta.deleted = None;
        self.records
            .put_typed(KEYS, &key_id(vault, name), &meta, Precondition::Version(v))
            .await?;
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        Ok(self.version_record(vault, name, &meta.latest).await?.0)
    }

    /// Purges a soft-deleted key: all versions are destroyed (refused under purge protection).
    pub async fn purge_key(&self, vault: &Vault, name: &str) -> Result<(), VaultError> {
        let (meta, _) = self
            .meta(vault, name)
            .await
            .map_err(|_| VaultError::DeletedKeyNotFound(name.to_owned()))?;
        if meta.deleted.is_none() {
            return Err(VaultError::DeletedKeyNotFound(name.to_owned()));
        }
        if vault.purge_protection {
            return Err(VaultError::PurgeProtected(format!(
                "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge {name} after its retention period."
            )));
        }
        self.purge_key_unchecked(vault, name).await
    }

    /// Destroys a soft-deleted key and all its versions (retention passed, or no protection).
    pub(crate) async fn purge_key_unchecked(
        &self,
        vault: &Vault,
        name: &str,
    ) -> Result<(), VaultError> {
        let (meta, v) = self
            .meta(vault, name)
            .await
            .map_err(|_| VaultError::DeletedKeyNotFound(name.to_owned()))?;
        if meta.deleted.is_none() {
            return Err(VaultError::DeletedKeyNotFound(name.to_owned()));
        }
        let id = key_id(vault, name);
        let mut batch = Batch::new().delete_if(KEYS, &id, Precondition::Version(v));
        for (k, _) in self
            .records
            .scan_all(VERSIONS, &format!("{id}/"), 1_000_000)
            .await?
        {
            batch = batch.delete(VERSIONS, &k);
        }
        self.records.commit(batch).await?;
        self.forget_cached_keys(&format!("{id}/"));
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        Ok(())
    }

    /// A new version with the newest version's type, size, operations and tags.
    pub async fn rotate_key(&self, vault: &Vault, name: &str) -> Result<KeyVersion, VaultError> {
        let current = self.get_key(vault, name, None).await?;
        let now = Self::now();
        let key = self.private_material(vault, &current)?.regenerate()?;
        let (meta, _) = self.meta(vault, name).await?;
        let attributes = KeyAttributes {
            enabled: true,
            nbf: None,
            exp: meta.rotation_policy.and_then(|p| p.expiry_for(now)),
            created: now,
            updated: now,
            exportable: false,
        };
        let new = NewVersion {
            kty: current.kty.clone(),
            key_ops: current.key_ops.clone(),
            attributes,
            tags: current.tags.clone(),
        };
        self.store_new_version(vault, &current.name, &key, new)
            .await
    }

    /// The rotation policy (or none).
    pub async fn rotation_policy(
        &self,
        vault: &Vault,
        name: &str,
    ) -> Result<Option<RotationPolicy>, VaultError> {
        let (meta, _) = self.meta(vault, name).await?;
        if meta.deleted.is_some() {
            return Err(VaultError::KeyNotFound(name.to_owned()));
        }
        Ok(meta.rotation_policy)
    }

    /// Stores a rotation policy document.
    pub async fn set_rotation_policy(
        &self,
        vault: &Vault,
        name: &str,
        mut policy: RotationPolicy,
    ) -> Result<RotationPolicy, VaultError> {
        let (mut meta, v) = self.meta(vault, name).await?;
        self.publish(VaultEvent::KeyChanged {
            vault: vault.name.clone(),
            key: name.to_ascii_lowercase(),
        });
        if meta.deleted.is_some() {
            return Err(VaultError::KeyNotFound(name.to_owned()));
        }
        if let Some(old) = &meta.rotation_policy {
            policy.created = old.created;
        }
        meta.rotation_policy = Some(policy.clone());
        self.records
            .put_typed(KEYS, &key_id(vault, name), &meta, Precondition::Version(v))
            .await?;
        Ok(policy)
    }

    /// The binding of a version's material: `vault/key/version`.
    fn binding(vault: &Vault, name: &str, version: &str) -> String {
        format!("{}/{version}", key_id(vault, name))
    }

    /// Seals material for storage: under the vault key, or through the HSM for `-HSM` types.
    pub(crate) fn seal_material(
        &self,
        vault: &Vault,
        name: &str,
        version: &str,
        kty: KeyType,
        key: &PrivateMaterial,
    ) -> Result<Vec<u8>, VaultError> {
        let encoded = key.encode()?;
        if kty.hsm {
            return self
                .hsm
                .protect(&Self::binding(vault, name, version), &encoded);
        }
        Ok(self.vault_sealer(vault)?.seal(
            &Self::material_purpose(vault, name, version),
            encoded.expose_secret(),
        )?)
    }

    /// Opens stored material (the encoded secret bytes).
    pub(crate) fn open_material(
        &self,
        vault: &Vault,
        record: &KeyVersion,
    ) -> Result<keyhold_crypto::SecretBytes, VaultError> {
        let sealed = hex::decode(&record.sealed)
            .map_err(|_| VaultError::BadParameter("stored key material is damaged".into()))?;
        if KeyType::parse(&record.kty)?.hsm {
            return self.hsm.recover(
                &Self::binding(vault, &record.name, &record.version),
                &sealed,
            );
        }
        Ok(self.vault_sealer(vault)?.open(
            &Self::material_purpose(vault, &record.name, &record.version),
            &sealed,
        )?)
    }

    /// The private material of a version (cached in memory once opened).
    pub(crate) fn private_material(
        &self,
        vault: &Vault,
        record: &KeyVersion,
    ) -> Result<Arc<PrivateMaterial>, VaultError> {
        let cache_key = format!("{}/{}", key_id(vault, &record.name), record.version);
        if let Ok(cache) = self.key_cache.lock()
            && let Some(key) = cache.get(&cache_key)
        {
            return Ok(key.clone());
        }
        let encoded = self.open_material(vault, record)?;
        let key = Arc::new(PrivateMaterial::decode(encoded.expose_secret())?);
        if let Ok(mut cache) = self.key_cache.lock() {
            cache.insert(cache_key, key.clone());
        }
        Ok(key)
    }

    pub(crate) fn forget_cached_keys(&self, prefix: &str) {
        if let Ok(mut cache) = self.key_cache.lock() {
            cache.retain(|k, _| !k.starts_with(prefix));
        }
    }
}
