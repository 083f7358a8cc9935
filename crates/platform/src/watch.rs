//! The revocation watcher's core: re-checks an account's customer-managed key the way the CMK
//! rules do (with the account identity's own calls to the vault) and records the outcome in
//! `encryption.status`.
//!
//! - a usable key → `Active`; an unpinned account follows the key's newest version, and the
//!   version it leaves keeps protecting older data (`previous_versions`);
//! - anything else (access policy or role removed, key disabled, expired, deleted, identity
//!   gone or disabled, vault gone or unreachable, subscription moved to another tenant) →
//!   `KeyInaccessible` with the reason.
//!
//! Only transitions (and version changes) are written, with compare-and-swap, so many nodes
//! can run the watcher without fighting. A lost race is re-checked at once from a fresh read:
//! waiting for the next round would leave a restored key refused (or a revoked one recorded as
//! active) for a whole key-check interval whenever another writer touched the account between
//! the read and the write.

use keyhold_store::{Precondition, RecordStoreExt, retry_conflicts};

use crate::Platform;
use crate::accounts::ACCOUNTS;
use crate::cmk;
use crate::error::PlatformError;
use crate::model::{Account, Encryption, KeyStatus};

/// How long an unreachable vault leaves an active key active.
pub const UNREACHABLE_GRACE_SECS: u64 = 300;

/// A change of an account's key state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Account.
    pub account: String,
    /// Vault.
    pub vault: String,
    /// Key.
    pub key: String,
    /// The version now protecting new data.
    pub version: String,
    /// Status before.
    pub from: KeyStatus,
    /// Status after.
    pub to: KeyStatus,
    /// Reason (for `KeyInaccessible`).
    pub reason: Option<String>,
}

impl Platform {
    /// Names of accounts using a CMK (in `vault`, when given).
    pub async fn cmk_accounts(&self, vault: Option<&str>) -> Result<Vec<String>, PlatformError> {
        let mut out = Vec::new();
        for (_, account) in self
            .records
            .scan_typed::<Account>(ACCOUNTS, "", 100_000)
            .await?
        {
            if let Encryption::Cmk(c) = &account.encryption
                && vault.is_none_or(|v| v.eq_ignore_ascii_case(&c.vault))
            {
                out.push(account.name);
            }
        }
        Ok(out)
    }

    /// Re-checks one account's key; returns the transition, if its state changed. Each run
    /// reads the account afresh and probes the vault after that read, so a run that lost a
    /// race to another writer is simply run again (see [`retry_conflicts`]).
    pub async fn recheck(&self, name: &str) -> Result<Option<Transition>, PlatformError> {
        retry_conflicts(|| self.recheck_once(name)).await
    }

    async fn recheck_once(&self, name: &str) -> Result<Option<Transition>, PlatformError> {
        let Some((mut account, version)) = self
            .records
            .get_typed::<Account>(ACCOUNTS, &name.to_ascii_lowercase())
            .await?
        else {
            return Ok(None);
        };
        let Encryption::Cmk(mut settings) = account.encryption.clone() else {
            return Ok(None);
        };
        let outcome = async {
            let identity = self
                .cmk_identity(&account, settings.identity_client_id.as_deref())
                .await?
                .ok_or_else(|| PlatformError::CmkIdentityMissing(account.name.clone()))?;
            // A moved subscription: the identity stayed behind (it is also disabled, but the
            // move is the reason to report), or the vault now answers to another tenant.
            cmk::check_identity_tenant(&account, &identity)?;
            let vault = self.access.vault_facts(&settings.key_vault_uri).await?;
            if !vault.remote && vault.tenant_id != account.tenant_id {
                return Err(PlatformError::CmkVaultTenantMismatch(
                    settings.vault.clone(),
                ));
            }
            if !identity.enabled {
                return Err(PlatformError::CmkIdentityAccessDenied {
                    identity: identity.object_id.to_string(),
                    permission: "authenticate".into(),
                    key: settings.key_name.clone(),
                    detail: "the identity is disabled".into(),
                });
            }
            let facts = self
                .access
                .probe(
                    &identity,
                    &settings.key_vault_uri,
                    &settings.key_name,
                    settings.key_version.as_deref(),
                )
                .await?;
            cmk::check_key(&settings.key_name, &facts)?;
            Ok(facts.version)
        }
        .await;
        let before = (
            settings.status,
            settings.status_reason.clone(),
            settings.active_version.clone(),
        );
        match outcome {
            Ok(newest) => {
                settings.status = KeyStatus::Active;
                settings.status_reason = None;
                if settings.key_version.is_none() && newest != settings.active_version {
                    settings.previous_versions.retain(|v| v != &newest);
                    settings
                        .previous_versions
                        .push(std::mem::replace(&mut settings.active_version, newest));
                }
            }
            Err(err @ (PlatformError::Store(_) | PlatformError::Crypto(_))) => return Err(err),
            // A vault that does not answer keeps an active key active for a grace period, so a
            // network blip (or a restart) does not revoke; past it, the key is inaccessible.
            Err(PlatformError::KeyVaultUnreachable(_))
                if settings.status == KeyStatus::Active
                    && Self::now().saturating_sub(settings.checked) < UNREACHABLE_GRACE_SECS =>
            {
                return Ok(None);
            }
            Err(err) => {
                settings.status = KeyStatus::KeyInaccessible;
                settings.status_reason = Some(format!("{}: {err}", err.code()));
            }
        }
        settings.checked = Self::now();
        let after = (
            settings.status,
            settings.status_reason.clone(),
            settings.active_version.clone(),
        );
        if before == after {
            return Ok(None);
        }
        let transition = Transition {
            account: account.name.clone(),
            vault: settings.vault.clone(),
            key: settings.key_name.clone(),
            version: settings.active_version.clone(),
            from: before.0,
            to: settings.status,
            reason: settings.status_reason.clone(),
        };
        if transition.to != KeyStatus::Active {
            self.forget_keks(&account.name);
        }
        account.encryption = Encryption::Cmk(settings);
        // Changed meanwhile (a PUT, a KEK switch, another node): a conflict, run again.
        self.records
            .put_typed(
                ACCOUNTS,
                &account.name.to_ascii_lowercase(),
                &account,
                Precondition::Version(version),
            )
            .await?;
        Ok(Some(transition))
    }
}
