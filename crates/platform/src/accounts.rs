//! AI accounts: create/update (with identity and encryption changes), get, list, soft delete,
//! deleted accounts, purge, restore, API keys, and CMK approval requests.
//!
//! Account names are global (they are the endpoint's DNS label). A deleted account keeps its
//! data and holds its name until it is purged or restored.

use std::collections::BTreeMap;

use keyhold_identity::{Principal, PrincipalKind};
use keyhold_store::{Batch, Precondition, RecordStoreExt, StoreError, encode};
use uuid::Uuid;

use crate::Platform;
use crate::cmk::{self, CmkRequest};
use crate::error::PlatformError;
use crate::model::{Account, AccountIdentity, CmkRegistration, DeletedAccount, Encryption, KINDS};

pub(crate) const ACCOUNTS: &str = "platform.accounts";
pub(crate) const DELETED: &str = "platform.deleted_accounts";
const REGISTRATIONS: &str = "platform.cmk_registrations";
/// Seal purpose of API keys. DO NOT CHANGE.
pub(crate) const API_KEY_PURPOSE: &str = "platform.api-key.v1";
/// How long a deleted account stays restorable.
pub const RETENTION_SECS: u64 = 48 * 3600;

/// The requested encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionRequest {
    /// `keySource: Microsoft.CognitiveServices`.
    Mmk,
    /// `keySource: Microsoft.KeyVault`.
    Cmk(CmkRequest),
}

/// What a PUT or PATCH asks for (`None`: keep as is / default on create).
#[derive(Debug, Clone, Default)]
pub struct AccountSpec {
    /// Subscription.
    pub subscription_id: Uuid,
    /// The subscription's tenant.
    pub tenant_id: Uuid,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    pub location: Option<String>,
    /// Kind (required on create).
    pub kind: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Identities.
    pub identity: Option<AccountIdentity>,
    /// Encryption.
    pub encryption: Option<EncryptionRequest>,
    /// Foundry project management.
    pub allow_project_management: Option<bool>,
    /// Refuse API keys.
    pub disable_local_auth: Option<bool>,
    /// `restore: true`.
    pub restore: bool,
    /// PATCH (the account must exist).
    pub patch: bool,
}

/// Account names: 2–64 of letters, digits, `-`, `_`, `.`, starting alphanumeric (and a DNS
/// label here, so no `_`/`.` in practice is enforced below).
pub fn validate_account_name(name: &str) -> Result<(), PlatformError> {
    let ok = (2..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(PlatformError::InvalidRequest(format!(
            "Account name {name:?} is invalid: use 2-64 letters, digits or '-', starting with a letter or digit (it becomes the endpoint's host name)."
        )))
    }
}

fn normalize_location(location: &str) -> String {
    location.to_ascii_lowercase().replace(' ', "")
}

impl Platform {
    pub(crate) fn new_api_keys(&self, name: &str) -> Result<[String; 2], PlatformError> {
        let one = |slot: u8| -> Result<String, PlatformError> {
            let key = hex::encode(keyhold_crypto::random_bytes(16)?);
            Ok(hex::encode(self.master.seal(
                &format!("{API_KEY_PURPOSE}/{}/{slot}", name.to_ascii_lowercase()),
                key.as_bytes(),
            )?))
        };
        Ok([one(1)?, one(2)?])
    }

    /// The two API keys in clear (for `listKeys`).
    pub fn api_keys(&self, account: &Account) -> Result<[String; 2], PlatformError> {
        let open = |slot: usize| -> Result<String, PlatformError> {
            let sealed = hex::decode(&account.sealed_keys[slot])
                .map_err(|_| PlatformError::InvalidRequest("stored key is damaged".into()))?;
            let plain = self.master.open(
                &format!(
                    "{API_KEY_PURPOSE}/{}/{}",
                    account.name.to_ascii_lowercase(),
                    slot + 1
                ),
                &sealed,
            )?;
            String::from_utf8(plain.expose_secret().to_vec())
                .map_err(|_| PlatformError::InvalidRequest("stored key is damaged".into()))
        };
        Ok([open(0)?, open(1)?])
    }

    /// Whether `given` is one of the account's API keys, compared in constant time by SHA-256
    /// digest. The digests are cached per account (keyed by the sealed keys, so regenerating
    /// a key takes effect at once): a data-plane request does not unseal the keys.
    pub fn api_key_matches(&self, account: &Account, given: &str) -> Result<bool, PlatformError> {
        let name = account.name.to_ascii_lowercase();
        let cached = self.key_digests.lock().ok().and_then(|cache| {
            cache
                .get(&name)
                .filter(|(sealed, _)| *sealed == account.sealed_keys)
                .map(|(_, digests)| *digests)
        });
        let digests = match cached {
            Some(d) => d,
            None => {
                let [k1, k2] = self.api_keys(account)?;
                let d = [
                    keyhold_crypto::sha256(k1.as_bytes()),
                    keyhold_crypto::sha256(k2.as_bytes()),
                ];
                if let Ok(mut cache) = self.key_digests.lock() {
                    cache.insert(name, (account.sealed_keys.to_vec(), d));
                }
                d
            }
        };
        let given = keyhold_crypto::sha256(given.as_bytes());
        // Both compared, so the time does not say which key matched.
        let first = keyhold_crypto::constant_time_eq(&digests[0], &given);
        let second = keyhold_crypto::constant_time_eq(&digests[1], &given);
        Ok(first | second)
    }

    /// Replaces `Key1` or `Key2`.
    pub async fn regenerate_key(
        &self,
        account: &Account,
        which: &str,
    ) -> Result<Account, PlatformError> {
        let slot = match which.to_ascii_lowercase().as_str() {
            "key1" => 0,
            "key2" => 1,
            _ => {
                return Err(PlatformError::InvalidRequest(format!(
                    "keyName {which:?} is invalid: use Key1 or Key2"
                )));
            }
        };
        let (mut stored, version) = self.stored(&account.name).await?;
        let fresh = self.new_api_keys(&account.name)?;
        stored.sealed_keys[slot] = fresh[slot].clone();
        self.records
            .put_typed(
                ACCOUNTS,
                &stored.name.to_ascii_lowercase(),
                &stored,
                Precondition::Version(version),
            )
            .await?;
        Ok(stored)
    }

    async fn stored(&self, name: &str) -> Result<(Account, u64), PlatformError> {
        self.records
            .get_typed::<Account>(ACCOUNTS, &name.to_ascii_lowercase())
            .await?
            .ok_or_else(|| PlatformError::AccountNotFound(name.to_owned()))
    }

    /// An account by name (global).
    pub async fn account(&self, name: &str) -> Result<Account, PlatformError> {
        Ok(self.stored(name).await?.0)
    }

    /// Accounts of a subscription (optionally one group).
    pub async fn list_accounts(
        &self,
        subscription: Uuid,
        group: Option<&str>,
    ) -> Result<Vec<Account>, PlatformError> {
        let mut out = Vec::new();
        for (_, a) in self
            .records
            .scan_typed::<Account>(ACCOUNTS, "", 100_000)
            .await?
        {
            if a.subscription_id == subscription
                && a.workspace.is_none()
                && group.is_none_or(|g| a.resource_group.eq_ignore_ascii_case(g))
            {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// The identity the account uses for its vault: the user-assigned one with
    /// `identity_client_id`, else the system-assigned one.
    pub async fn cmk_identity(
        &self,
        account: &Account,
        identity_client_id: Option<&str>,
    ) -> Result<Option<Principal>, PlatformError> {
        match identity_client_id.filter(|c| !c.is_empty()) {
            Some(client_id) => {
                for resource in &account.identity.user_assigned {
                    if let Some(p) = self
                        .identity
                        .managed_identity_for_resource(resource)
                        .await?
                        && p.client_id.to_string().eq_ignore_ascii_case(client_id)
                    {
                        return Ok(Some(p));
                    }
                }
                Err(PlatformError::CmkIdentityNotAssigned(client_id.to_owned()))
            }
            None if account.identity.system_assigned => Ok(self
                .identity
                .managed_identity_for_resource(&account.resource_id())
                .await?),
            None => Ok(None),
        }
    }

    /// Whether the subscription's CMK request for `kind` is approved.
    pub async fn cmk_approved(
        &self,
        subscription: Uuid,
        kind: &str,
    ) -> Result<bool, PlatformError> {
        Ok(self
            .records
            .get_typed::<CmkRegistration>(
                REGISTRATIONS,
                &format!("{subscription}/{}", kind.to_ascii_lowercase()),
            )
            .await?
            .is_some_and(|(r, _)| r.state == "Approved"))
    }

    /// Files a CMK request (idempotent).
    pub async fn request_cmk(
        &self,
        subscription: Uuid,
        kind: &str,
        by: &str,
    ) -> Result<CmkRegistration, PlatformError> {
        let key = format!("{subscription}/{}", kind.to_ascii_lowercase());
        if let Some((existing, _)) = self
            .records
            .get_typed::<CmkRegistration>(REGISTRATIONS, &key)
            .await?
        {
            return Ok(existing);
        }
        let registration = CmkRegistration {
            subscription_id: subscription,
            kind: kind.to_owned(),
            state: "Pending".into(),
            requested_by: by.to_owned(),
            approved_by: None,
        };
        self.records
            .put_typed(REGISTRATIONS, &key, &registration, Precondition::Absent)
            .await?;
        Ok(registration)
    }

    /// Approves a pending request.
    pub async fn approve_cmk(
        &self,
        subscription: Uuid,
        kind: &str,
        by: &str,
    ) -> Result<CmkRegistration, PlatformError> {
        let key = format!("{subscription}/{}", kind.to_ascii_lowercase());
        let (mut registration, version) = self
            .records
            .get_typed::<CmkRegistration>(REGISTRATIONS, &key)
            .await?
            .ok_or_else(|| {
                PlatformError::InvalidRequest(format!(
                    "no CMK request for kind {kind} in subscription {subscription}"
                ))
            })?;
        registration.state = "Approved".into();
        registration.approved_by = Some(by.to_owned());
        self.records
            .put_typed(
                REGISTRATIONS,
                &key,
                &registration,
                Precondition::Version(version),
            )
            .await?;
        Ok(registration)
    }

    /// Creates or updates an account; returns it and whether it was created.
    ///
    /// The checks (vault calls included) run against the stored account and the write is a
    /// compare-and-swap; when a background writer (the revocation watcher following a new key
    /// version) changed the account meanwhile, the whole request is evaluated again on the new
    /// state, a few times, before the caller sees a conflict.
    pub async fn put_account(
        &self,
        name: &str,
        spec: AccountSpec,
    ) -> Result<(Account, bool), PlatformError> {
        const ATTEMPTS: usize = 4;
        let mut attempt = 1;
        loop {
            match self.put_account_once(name, spec.clone()).await {
                Err(PlatformError::Store(StoreError::Conflict { .. })) if attempt < ATTEMPTS => {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn put_account_once(
        &self,
        name: &str,
        spec: AccountSpec,
    ) -> Result<(Account, bool), PlatformError> {
        validate_account_name(name)?;
        let key = name.to_ascii_lowercase();
        let existing = self.records.get_typed::<Account>(ACCOUNTS, &key).await?;
        if let Some((a, _)) = &existing
            && (a.workspace.is_some()
                || a.subscription_id != spec.subscription_id
                || !a.resource_group.eq_ignore_ascii_case(&spec.resource_group))
        {
            return Err(PlatformError::AccountNameTaken(name.to_owned()));
        }
        if existing.is_none() && spec.patch {
            return Err(PlatformError::AccountNotFound(name.to_owned()));
        }
        let deleted = self
            .records
            .get_typed::<DeletedAccount>(DELETED, &key)
            .await?;
        let (mut account, expect, created, restoring) = match (existing, deleted) {
            (Some((a, v)), _) => (a, Some(v), false, None),
            (None, Some((d, v))) => {
                // A deleted account belongs to the subscription and resource group it was
                // deleted from: only there can it be restored (restoring it elsewhere would
                // hand its data, and the power to re-wrap it away from its customer's key, to
                // another tenant), and only there is it said to exist in deleted state.
                let own = d.account.subscription_id == spec.subscription_id
                    && d.account
                        .resource_group
                        .eq_ignore_ascii_case(&spec.resource_group);
                if !own {
                    return Err(if spec.restore {
                        PlatformError::InvalidRequest(format!(
                            "restore is set but no deleted account named {name} exists"
                        ))
                    } else {
                        PlatformError::AccountNameTaken(name.to_owned())
                    });
                }
                if !spec.restore {
                    return Err(PlatformError::DeletedAccountExists(name.to_owned()));
                }
                (d.account.clone(), None, true, Some(v))
            }
            (None, None) => {
                if spec.restore {
                    return Err(PlatformError::InvalidRequest(format!(
                        "restore is set but no deleted account named {name} exists"
                    )));
                }
                let kind = spec
                    .kind
                    .clone()
                    .ok_or_else(|| PlatformError::InvalidRequest("kind is required".into()))?;
                let kind = KINDS
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(&kind))
                    .ok_or_else(|| {
                        PlatformError::InvalidRequest(format!(
                            "kind {kind:?} is not supported; use one of {}",
                            KINDS.join(", ")
                        ))
                    })?;
                let location = spec
                    .location
                    .clone()
                    .ok_or_else(|| PlatformError::InvalidRequest("location is required".into()))?;
                let account = Account {
                    name: name.to_owned(),
                    subscription_id: spec.subscription_id,
                    tenant_id: spec.tenant_id,
                    resource_group: spec.resource_group.clone(),
                    location: normalize_location(&location),
                    kind: (*kind).to_owned(),
                    sku: spec.sku.clone().unwrap_or_else(|| "S0".into()),
                    tags: BTreeMap::new(),
                    identity: AccountIdentity::default(),
                    encryption: Encryption::Mmk,
                    allow_project_management: false,
                    disable_local_auth: false,
                    sealed_keys: self.new_api_keys(name)?,
                    created: Self::now(),
                    current_kek: None,
                    workspace: None,
                };
                (account, None, true, None)
            }
        };
        if let Some(kind) = &spec.kind
            && !kind.eq_ignore_ascii_case(&account.kind)
        {
            return Err(PlatformError::InvalidRequest(format!(
                "kind cannot change (the account is {}).",
                account.kind
            )));
        }
        if let Some(location) = &spec.location
            && normalize_location(location) != account.location
        {
            return Err(PlatformError::InvalidRequest(format!(
                "location cannot change (the account is in {}).",
                account.location
            )));
        }
        if let Some(tags) = spec.tags {
            account.tags = tags;
        }
        if let Some(sku) = spec.sku {
            account.sku = sku;
        }
        if let Some(v) = spec.allow_project_management {
            account.allow_project_management = v;
        }
        if let Some(v) = spec.disable_local_auth {
            account.disable_local_auth = v;
        }
        // Identities first: the CMK checks below run with the identity the account will have.
        let resource_id = account.resource_id();
        if let Some(identity) = spec.identity {
            for uai in &identity.user_assigned {
                // Identities do not cross tenants: one of another tenant is answered as
                // absent (the server has already checked the caller's assign/action on it).
                match self.identity.managed_identity_for_resource(uai).await? {
                    Some(p)
                        if matches!(p.kind, PrincipalKind::UserAssigned { .. })
                            && p.tenant_id == account.tenant_id => {}
                    _ => return Err(PlatformError::IdentityNotFound(uai.clone())),
                }
            }
            if identity.system_assigned {
                self.identity
                    .ensure_system_assigned(account.tenant_id, &resource_id, &account.name)
                    .await?;
            }
            account.identity = identity;
        }
        if let Some(request) = spec.encryption {
            let current = account.encryption.clone();
            match request {
                EncryptionRequest::Mmk => {
                    cmk::check_switch(&account, &current, false)?;
                    if matches!(current, Encryption::Cmk(_)) {
                        // Needs the key one last time: every KEK moves under the service key.
                        self.rewrap_to_service(&account).await?;
                    }
                    account.encryption = Encryption::Mmk;
                }
                EncryptionRequest::Cmk(request) => {
                    cmk::check_switch(&account, &current, true)?;
                    let identity = self
                        .cmk_identity(&account, request.identity_client_id.as_deref())
                        .await?;
                    let approved = self
                        .cmk_approved(account.subscription_id, &account.kind)
                        .await?;
                    let settings = cmk::check(
                        self.access.as_ref(),
                        &account,
                        &current,
                        &request,
                        identity,
                        approved,
                    )
                    .await?;
                    account.encryption = Encryption::Cmk(Box::new(settings));
                }
            }
        }
        let mut batch = Batch::new().put_if(
            ACCOUNTS,
            &key,
            encode(&account)?,
            expect.map_or(Precondition::Absent, Precondition::Version),
        );
        if let Some(v) = restoring {
            batch = batch.delete_if(DELETED, &key, Precondition::Version(v));
        }
        self.records.commit(batch).await?;
        // A system-assigned identity switched off goes away with its role assignments.
        if !account.identity.system_assigned {
            self.identity.delete_for_resource(&resource_id).await?;
        }
        Ok((account, created))
    }

    /// Soft-deletes an account: its data stays until purge (48 h) or restore.
    pub async fn delete_account(
        &self,
        name: &str,
    ) -> Result<Option<DeletedAccount>, PlatformError> {
        let key = name.to_ascii_lowercase();
        let Some((account, version)) = self.records.get_typed::<Account>(ACCOUNTS, &key).await?
        else {
            return Ok(None);
        };
        let now = Self::now();
        let deleted = DeletedAccount {
            account,
            deleted: now,
            scheduled_purge: now + RETENTION_SECS,
        };
        let batch = Batch::new()
            .delete_if(ACCOUNTS, &key, Precondition::Version(version))
            .put(DELETED, &key, encode(&deleted)?);
        self.records.commit(batch).await?;
        self.forget_deployments(name);
        Ok(Some(deleted))
    }

    /// A deleted account.
    pub async fn deleted_account(&self, name: &str) -> Result<DeletedAccount, PlatformError> {
        self.records
            .get_typed::<DeletedAccount>(DELETED, &name.to_ascii_lowercase())
            .await?
            .map(|(d, _)| d)
            .ok_or_else(|| PlatformError::AccountNotFound(name.to_owned()))
    }

    /// Deleted accounts of a subscription.
    pub async fn list_deleted(
        &self,
        subscription: Uuid,
    ) -> Result<Vec<DeletedAccount>, PlatformError> {
        let mut out = Vec::new();
        for (_, d) in self
            .records
            .scan_typed::<DeletedAccount>(DELETED, "", 100_000)
            .await?
        {
            if d.account.subscription_id == subscription {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Purges a deleted account: its record, its system-assigned identity and (once the data
    /// plane stores objects) its KEKs and data are destroyed.
    pub async fn purge_account(&self, name: &str) -> Result<(), PlatformError> {
        let key = name.to_ascii_lowercase();
        let deleted = self.deleted_account(name).await?;
        self.destroy_objects(&deleted.account.name).await?;
        self.destroy_ai_objects(&deleted.account.name).await?;
        self.destroy_projects(&deleted.account).await?;
        self.destroy_keks(&deleted.account.name).await?;
        self.records
            .commit(Batch::new().delete(DELETED, &key))
            .await?;
        self.identity
            .delete_for_resource(&deleted.account.resource_id())
            .await?;
        Ok(())
    }
}
