//! Vault lifecycle: create or update (ARM PUT), get, list, soft delete, deleted vaults, purge,
//! recover, and access-policy edits.

use std::collections::BTreeMap;

use keyhold_crypto::Aes256Key;
use keyhold_store::{Batch, Precondition, RecordStoreExt, encode};
use uuid::Uuid;

use crate::error::VaultError;
use crate::model::{AccessPolicy, DeletedVault, NetworkAcls, Vault};
use crate::{VaultEvent, Vaults};

pub(crate) const VAULTS: &str = "vault.vaults";
pub(crate) const DELETED_VAULTS: &str = "vault.deleted_vaults";
/// Seal purpose of per-vault keys. DO NOT CHANGE.
pub(crate) const VAULT_KEY_PURPOSE: &str = "vault.vault-key.v1";

/// What an ARM PUT asks for.
#[derive(Debug, Clone)]
pub struct VaultSpec {
    /// Subscription.
    pub subscription_id: Uuid,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Tenant.
    pub tenant_id: Uuid,
    /// SKU name.
    pub sku: String,
    /// Soft-delete retention (7–90; default 90).
    pub soft_delete_retention_days: Option<u32>,
    /// `enableSoftDelete` as sent (false is refused: soft delete is always on).
    pub enable_soft_delete: Option<bool>,
    /// Purge protection.
    pub purge_protection: Option<bool>,
    /// RBAC mode.
    pub rbac_authorization: Option<bool>,
    /// Access policies.
    pub access_policies: Option<Vec<AccessPolicy>>,
    /// Firewall.
    pub network_acls: Option<NetworkAcls>,
    /// `createMode: recover`.
    pub recover: bool,
}

/// Access-policy edit operations (`accessPolicies/{add|remove|replace}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOperation {
    /// Merge permissions into matching entries, or add entries.
    Add,
    /// Remove the listed permissions (entries left empty are dropped).
    Remove,
    /// Replace the whole list.
    Replace,
}

/// Vault names: 3–24 of letters, digits and hyphens, starting with a letter, ending with a
/// letter or digit, no consecutive hyphens (they become DNS labels).
pub fn validate_vault_name(name: &str) -> Result<(), VaultError> {
    let ok = (3..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(VaultError::BadParameter(format!(
            "The vault name '{name}' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."
        )))
    }
}

fn validate_acls(acls: &NetworkAcls) -> Result<(), VaultError> {
    if !["Allow", "Deny"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&acls.default_action))
    {
        return Err(VaultError::BadParameter(
            "networkAcls.defaultAction must be Allow or Deny".into(),
        ));
    }
    if !["AzureServices", "None"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(&acls.bypass))
    {
        return Err(VaultError::BadParameter(
            "networkAcls.bypass must be AzureServices or None".into(),
        ));
    }
    for rule in &acls.ip_rules {
        let addr = rule.split('/').next().unwrap_or_default();
        if addr.parse::<std::net::IpAddr>().is_err() {
            return Err(VaultError::BadParameter(format!(
                "networkAcls.ipRules: {rule:?} is not an IP address or CIDR range"
            )));
        }
    }
    Ok(())
}

fn validate_policies(policies: &[AccessPolicy]) -> Result<(), VaultError> {
    for policy in policies {
        if uuid::Uuid::parse_str(&policy.object_id).is_err() {
            return Err(VaultError::BadParameter(format!(
                "accessPolicies: objectId {:?} is not a GUID",
                policy.object_id
            )));
        }
        for perm in &policy.permissions.keys {
            if !perm.eq_ignore_ascii_case("all")
                && crate::access::KeyPermission::from_name(perm).is_none()
            {
                return Err(VaultError::BadParameter(format!(
                    "accessPolicies: {perm:?} is not a key permission (get, list, update, create, import, delete, recover, backup, restore, encrypt, decrypt, wrapKey, unwrapKey, sign, verify, purge, rotate, getrotationpolicy, setrotationpolicy, all)"
                )));
            }
        }
    }
    Ok(())
}

impl Vaults {
    /// A vault by name.
    pub async fn vault(&self, name: &str) -> Result<Vault, VaultError> {
        let key = name.to_ascii_lowercase();
        if let Ok(cache) = self.vault_cache.lock()
            && let Some(vault) = cache.get(&key)
        {
            return Ok(vault.clone());
        }
        let generation = self.cache_generation();
        let vault = self
            .records
            .get_typed::<Vault>(VAULTS, &key)
            .await?
            .map(|(v, _)| v)
            .ok_or_else(|| VaultError::VaultNotFound(name.to_owned()))?;
        if let Ok(mut cache) = self.vault_cache.lock()
            && self.unchanged_since(generation)
        {
            cache.insert(key, vault.clone());
        }
        Ok(vault)
    }

    /// Creates or updates a vault; returns it and whether it was created.
    pub async fn put_vault(
        &self,
        name: &str,
        spec: VaultSpec,
    ) -> Result<(Vault, bool), VaultError> {
        validate_vault_name(name)?;
        let key = name.to_ascii_lowercase();
        if spec.enable_soft_delete == Some(false) {
            return Err(VaultError::BadParameter(
                "enableSoftDelete cannot be false: soft delete is always on for key vaults".into(),
            ));
        }
        if let Some(days) = spec.soft_delete_retention_days
            && !(7..=90).contains(&days)
        {
            return Err(VaultError::BadParameter(format!(
                "softDeleteRetentionInDays must be between 7 and 90 (got {days})"
            )));
        }
        if let Some(acls) = &spec.network_acls {
            validate_acls(acls)?;
        }
        if let Some(policies) = &spec.access_policies {
            validate_policies(policies)?;
        }
        let existing = self.records.get_typed::<Vault>(VAULTS, &key).await?;
        if let Some((vault, version)) = existing {
            if vault.subscription_id != spec.subscription_id
                || !vault
                    .resource_group
                    .eq_ignore_ascii_case(&spec.resource_group)
            {
                return Err(VaultError::VaultAlreadyExists(format!(
                    "The vault name '{name}' is already in use."
                )));
            }
            if vault.purge_protection && spec.purge_protection == Some(false) {
                return Err(VaultError::BadParameter(
                    "enablePurgeProtection cannot be turned off once it is on".into(),
                ));
            }
            if spec
                .soft_delete_retention_days
                .is_some_and(|d| d != vault.soft_delete_retention_days)
            {
                return Err(VaultError::BadParameter(
                    "softDeleteRetentionInDays cannot be changed after creation".into(),
                ));
            }
            let updated = Vault {
                tags: spec.tags,
                sku: spec.sku,
                purge_protection: vault.purge_protection || spec.purge_protection.unwrap_or(false),
                rbac_authorization: spec.rbac_authorization.unwrap_or(vault.rbac_authorization),
                access_policies: spec
                    .access_policies
                    .unwrap_or_else(|| vault.access_policies.clone()),
                network_acls: spec
                    .network_acls
                    .unwrap_or_else(|| vault.network_acls.clone()),
                ..vault
            };
            self.records
                .put_typed(VAULTS, &key, &updated, Precondition::Version(version))
                .await?;
            self.publish(VaultEvent::VaultChanged { vault: key });
            return Ok((updated, false));
        }
        if let Some((deleted, version)) = self
            .records
            .get_typed::<DeletedVault>(DELETED_VAULTS, &key)
            .await?
        {
            // A deleted vault belongs to the subscription and resource group it was deleted
            // from: only there can it be recovered (or even be said to exist in deleted
            // state); to anyone else its name is simply taken.
            let own = deleted.vault.subscription_id == spec.subscription_id
                && deleted
                    .vault
                    .resource_group
                    .eq_ignore_ascii_case(&spec.resource_group);
            if !own {
                return Err(if spec.recover {
                    VaultError::VaultNotFound(format!("{name} (no deleted vault to recover)"))
                } else {
                    VaultError::VaultAlreadyExists(format!(
                        "The vault name '{name}' is already in use."
                    ))
                });
            }
            if !spec.recover {
                return Err(VaultError::Conflict(format!(
                    "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault '{name}'."
                )));
            }
            let vault = deleted.vault;
            let batch = Batch::new()
                .delete_if(DELETED_VAULTS, &key, Precondition::Version(version))
                .put_if(VAULTS, &key, encode(&vault)?, Precondition::Absent);
            self.records.commit(batch).await?;
            self.publish(VaultEvent::VaultChanged { vault: key });
            return Ok((vault, true));
        }
        if spec.recover {
            return Err(VaultError::VaultNotFound(format!(
                "{name} (no deleted vault to recover)"
            )));
        }
        let vault_key = Aes256Key::generate()?;
        let sealed = self.master.seal(
            &format!("{VAULT_KEY_PURPOSE}/{key}"),
            vault_key.expose_secret(),
        )?;
        let vault = Vault {
            name: key.clone(),
            subscription_id: spec.subscription_id,
            resource_group: spec.resource_group,
            location: spec.location.to_ascii_lowercase().replace(' ', ""),
            tags: spec.tags,
            tenant_id: spec.tenant_id,
            sku: spec.sku,
            soft_delete_retention_days: spec.soft_delete_retention_days.unwrap_or(90),
            purge_protection: spec.purge_protection.unwrap_or(false),
            rbac_authorization: spec.rbac_authorization.unwrap_or(false),
            access_policies: spec.access_policies.unwrap_or_default(),
            network_acls: spec.network_acls.unwrap_or_default(),
            sealed_vault_key: hex::encode(sealed),
            created: Self::now(),
        };
        self.records
            .put_typed(VAULTS, &key, &vault, Precondition::Absent)
            .await?;
        Ok((vault, true))
    }

    /// The unsealed per-vault key's sealer.
    pub(crate) fn vault_sealer(&self, vault: &Vault) -> Result<keyhold_crypto::Sealer, VaultError> {
        let sealed = hex::decode(&vault.sealed_vault_key)
            .map_err(|_| VaultError::BadParameter("stored vault key is damaged".into()))?;
        let raw = self
            .master
            .open(&format!("{VAULT_KEY_PURPOSE}/{}", vault.name), &sealed)?;
        Ok(keyhold_crypto::Sealer::new(Aes256Key::from_bytes(
            raw.expose_secret(),
        )?))
    }

    /// Vaults of a subscription (optionally one resource group).
    pub async fn list_vaults(
        &self,
        subscription: Uuid,
        group: Option<&str>,
    ) -> Result<Vec<Vault>, VaultError> {
        let mut out = Vec::new();
        for (_, v) in self
            .records
            .scan_typed::<Vault>(VAULTS, "", 100_000)
            .await?
        {
            if v.subscription_id == subscription
                && group.is_none_or(|g| v.resource_group.eq_ignore_ascii_case(g))
            {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Soft-deletes a vault (its keys stay, recoverable with it).
    pub async fn delete_vault(&self, name: &str) -> Result<Option<DeletedVault>, VaultError> {
        let key = name.to_ascii_lowercase();
        let Some((vault, version)) = self.records.get_typed::<Vault>(VAULTS, &key).await? else {
            return Ok(None);
        };
        let now = Self::now();
        let deleted = DeletedVault {
            scheduled_purge: now + u64::from(vault.soft_delete_retention_days) * 86_400,
            deleted: now,
            vault,
        };
        let batch = Batch::new()
            .delete_if(VAULTS, &key, Precondition::Version(version))
            .put(DELETED_VAULTS, &key, encode(&deleted)?);
        self.records.commit(batch).await?;
        self.publish(VaultEvent::VaultChanged { vault: key });
        Ok(Some(deleted))
    }

    /// A soft-deleted vault.
    pub async fn deleted_vault(&self, name: &str) -> Result<DeletedVault, VaultError> {
        self.records
            .get_typed::<DeletedVault>(DELETED_VAULTS, &name.to_ascii_lowercase())
            .await?
            .map(|(v, _)| v)
            .ok_or_else(|| VaultError::VaultNotFound(name.to_owned()))
    }

    /// Soft-deleted vaults of a subscription.
    pub async fn list_deleted_vaults(
        &self,
        subscription: Uuid,
    ) -> Result<Vec<DeletedVault>, VaultError> {
        let mut out = Vec::new();
        for (_, v) in self
            .records
            .scan_typed::<DeletedVault>(DELETED_VAULTS, "", 100_000)
            .await?
        {
            if v.vault.subscription_id == subscription {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Purges a soft-deleted vault and its keys (refused under purge protection until the
    /// retention period has passed).
    pub async fn purge_vault(&self, name: &str) -> Result<(), VaultError> {
        self.purge_vault_at(name, Self::now()).await
    }

    /// [`Vaults::purge_vault`] as of time `now`.
    pub(crate) async fn purge_vault_at(&self, name: &str, now: u64) -> Result<(), VaultError> {
        let key = name.to_ascii_lowercase();
        let deleted = self.deleted_vault(name).await?;
        if deleted.vault.purge_protection && now < deleted.scheduled_purge {
            return Err(VaultError::PurgeProtected(format!(
                "Operation 'DeletedVaultPurge' is not allowed on vault '{name}': purge protection is enabled; it will be purged automatically after its retention period."
            )));
        }
        let mut batch = Batch::new().delete(DELETED_VAULTS, &key);
        for (k, _) in self
            .records
            .scan_all(crate::keys::KEYS, &format!("{key}/"), 1_000_000)
            .await?
        {
            batch = batch.delete(crate::keys::KEYS, &k);
        }
        for (k, _) in self
            .records
            .scan_all(crate::keys::VERSIONS, &format!("{key}/"), 1_000_000)
            .await?
        {
            batch = batch.delete(crate::keys::VERSIONS, &k);
        }
        self.records.commit(batch).await?;
        self.forget_cached_keys(&format!("{key}/"));
        self.publish(VaultEvent::VaultChanged { vault: key });
        Ok(())
    }

    /// Edits the access policies.
    pub async fn update_access_policies(
        &self,
        name: &str,
        operation: PolicyOperation,
        policies: Vec<AccessPolicy>,
    ) -> Result<Vault, VaultError> {
        validate_policies(&policies)?;
        let key = name.to_ascii_lowercase();
        let (mut vault, version) = self
            .records
            .get_typed::<Vault>(VAULTS, &key)
            .await?
            .ok_or_else(|| VaultError::VaultNotFound(name.to_owned()))?;
        match operation {
            PolicyOperation::Replace => vault.access_policies = policies,
            PolicyOperation::Add => {
                for p in policies {
                    match vault.access_policies.iter_mut().find(|e| {
                        e.tenant_id == p.tenant_id && e.object_id.eq_ignore_ascii_case(&p.object_id)
                    }) {
                        Some(existing) => {
                            for perm in p.permissions.keys {
                                if !existing
                                    .permissions
                                    .keys
                                    .iter()
                                    .any(|k| k.eq_ignore_ascii_case(&perm))
                                {
                                    existing.permissions.keys.push(perm);
                                }
                            }
                        }
                        None => vault.access_policies.push(p),
                    }
                }
            }
            PolicyOperation::Remove => {
                for p in policies {
                    if let Some(existing) = vault.access_policies.iter_mut().find(|e| {
                        e.tenant_id == p.tenant_id && e.object_id.eq_ignore_ascii_case(&p.object_id)
                    }) {
                        if p.permissions.keys.is_empty() {
                            existing.permissions.keys.clear();
                        } else {
                            existing.permissions.keys.retain(|k| {
                                !p.permissions.keys.iter().any(|r| r.eq_ignore_ascii_case(k))
                            });
                        }
                    }
                }
                vault.access_policies.retain(|e| {
                    !e.permissions.keys.is_empty()
                        || !e.permissions.secrets.is_empty()
                        || !e.permissions.certificates.is_empty()
                });
            }
        }
        self.records
            .put_typed(VAULTS, &key, &vault, Precondition::Version(version))
            .await?;
        self.publish(VaultEvent::VaultChanged { vault: key });
        Ok(vault)
    }
}
