//! Azure AI hubs and hub projects (`Microsoft.MachineLearningServices/workspaces`, kinds `Hub`
//! and `Project`). They reuse the account machinery — identities, the KEK hierarchy, the
//! revocation watcher — with the hub rules of the source documents:
//!
//! - encryption is chosen at creation and cannot be switched later (MMK↔CMK); a CMK may move to
//!   a new version or another key of the same vault;
//! - a CMK needs a user-assigned identity named in `keyVaultProperties.identityClientId`, since a
//!   system-assigned identity does not exist before the hub does (so it cannot have been granted
//!   access yet);
//! - `enableServiceSideCMKEncryption` (default true) keeps data service-side under
//!   document-level CMK; false (legacy) creates a managed resource group
//!   `azureml-rg-{hub}_{guid}`, read-only to users and deleted with the hub;
//! - a `Project` belongs to a hub (`hubResourceId`) and uses its hub's encryption.

use keyhold_store::{Batch, Precondition, RecordStoreExt, encode};

use crate::Platform;
use crate::accounts::{ACCOUNTS, validate_account_name};
use crate::cmk::{self, CmkRequest};
use crate::error::PlatformError;
use crate::model::{Account, AccountIdentity, Encryption, WorkspaceSettings};

/// What a workspace PUT asks for.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceSpec {
    /// Subscription.
    pub subscription_id: uuid::Uuid,
    /// Tenant.
    pub tenant_id: uuid::Uuid,
    /// Resource group.
    pub resource_group: String,
    /// Region.
    pub location: Option<String>,
    /// `Hub`, `Project` or `Default`.
    pub kind: Option<String>,
    /// Identities.
    pub identity: Option<AccountIdentity>,
    /// CMK (absent: Microsoft-managed keys).
    pub cmk: Option<CmkRequest>,
    /// `encryption.status: Enabled` was sent.
    pub encryption_enabled: Option<bool>,
    /// `enableServiceSideCMKEncryption`.
    pub service_side_cmk: Option<bool>,
    /// `hbiWorkspace`.
    pub hbi: Option<bool>,
    /// For projects.
    pub hub_resource_id: Option<String>,
    /// Display name.
    pub friendly_name: Option<String>,
}

impl Platform {
    /// Creates or updates a hub workspace; returns it and whether it was created.
    pub async fn put_workspace(
        &self,
        name: &str,
        spec: WorkspaceSpec,
    ) -> Result<(Account, bool), PlatformError> {
        validate_account_name(name)?;
        let key = name.to_ascii_lowercase();
        let existing = self.records.get_typed::<Account>(ACCOUNTS, &key).await?;
        if let Some((a, _)) = &existing
            && (a.workspace.is_none()
                || a.subscription_id != spec.subscription_id
                || !a.resource_group.eq_ignore_ascii_case(&spec.resource_group))
        {
            return Err(PlatformError::AccountNameTaken(name.to_owned()));
        }
        let wants_cmk = match (spec.encryption_enabled, &spec.cmk) {
            (Some(false), _) => Some(false),
            (_, Some(_)) => Some(true),
            (Some(true), None) => {
                return Err(PlatformError::InvalidRequest(
                    "encryption.status Enabled needs keyVaultProperties".into(),
                ));
            }
            (None, None) => None,
        };
        let (mut ws, version, created) = match existing {
            Some((a, v)) => (a, Some(v), false),
            None => {
                let kind = spec.kind.clone().unwrap_or_else(|| "Hub".into());
                let kind = ["Hub", "Project", "Default"]
                    .into_iter()
                    .find(|k| k.eq_ignore_ascii_case(&kind))
                    .ok_or_else(|| {
                        PlatformError::InvalidRequest(format!(
                            "kind {kind:?} is not supported; use Hub, Project or Default"
                        ))
                    })?;
                let location = spec
                    .location
                    .clone()
                    .ok_or_else(|| PlatformError::InvalidRequest("location is required".into()))?;
                let hub_resource_id = if kind == "Project" {
                    let hub = spec.hub_resource_id.clone().ok_or_else(|| {
                        PlatformError::InvalidRequest(
                            "a Project workspace needs properties.hubResourceId".into(),
                        )
                    })?;
                    let hub_name = hub.rsplit('/').next().unwrap_or_default();
                    match self.account(hub_name).await {
                        Ok(h) if h.resource_id().eq_ignore_ascii_case(&hub) => {}
                        _ => {
                            return Err(PlatformError::InvalidRequest(format!(
                                "hubResourceId {hub} names no hub"
                            )));
                        }
                    }
                    Some(hub)
                } else {
                    None
                };
                let account = Account {
                    name: name.to_owned(),
                    subscription_id: spec.subscription_id,
                    tenant_id: spec.tenant_id,
                    resource_group: spec.resource_group.clone(),
                    location: location.to_ascii_lowercase().replace(' ', ""),
                    kind: kind.to_owned(),
                    sku: "Basic".into(),
                    tags: Default::default(),
                    identity: AccountIdentity::default(),
                    encryption: Encryption::Mmk,
                    allow_project_management: false,
                    disable_local_auth: true,
                    sealed_keys: self.new_api_keys(name)?,
                    created: Self::now(),
                    current_kek: None,
                    workspace: Some(WorkspaceSettings {
                        service_side_cmk: spec.service_side_cmk.unwrap_or(true),
                        hbi: spec.hbi.unwrap_or(false),
                        managed_resource_group: None,
                        hub_resource_id,
                        friendly_name: spec
                            .friendly_name
                            .clone()
                            .unwrap_or_else(|| name.to_owned()),
                    }),
                };
                (account, None, true)
            }
        };
        let settings = ws.workspace.clone().unwrap_or_default();
        if !created {
            if let Some(v) = spec.service_side_cmk
                && v != settings.service_side_cmk
            {
                return Err(PlatformError::CmkSwitchNotAllowed(
                    "enableServiceSideCMKEncryption is chosen when a hub is created and cannot change".into(),
                ));
            }
            if let Some(want) = wants_cmk
                && want != matches!(ws.encryption, Encryption::Cmk(_))
            {
                return Err(PlatformError::CmkSwitchNotAllowed(format!(
                    "Workspace {} keeps the encryption it was created with: customer-managed keys cannot be turned {} after creation.",
                    ws.name,
                    if want { "on" } else { "off" }
                )));
            }
        }
        if let Some(identity) = spec.identity {
            for uai in &identity.user_assigned {
                // As for accounts: a user-assigned identity of the hub's own tenant only.
                match self.identity.managed_identity_for_resource(uai).await? {
                    Some(p)
                        if matches!(
                            p.kind,
                            keyhold_identity::PrincipalKind::UserAssigned { .. }
                        ) && p.tenant_id == ws.tenant_id => {}
                    _ => return Err(PlatformError::IdentityNotFound(uai.clone())),
                }
            }
            ws.identity = identity;
        }
        if let Some(v) = spec.hbi
            && let Some(w) = ws.workspace.as_mut()
        {
            w.hbi = v;
        }
        let resource_id = ws.resource_id();
        if ws.identity.system_assigned {
            self.identity
                .ensure_system_assigned(ws.tenant_id, &resource_id, &ws.name)
                .await?;
        }
        if let Some(request) = spec.cmk
            && wants_cmk == Some(true)
        {
            if ws.kind == "Project" {
                return Err(PlatformError::InvalidRequest(
                    "a hub project uses its hub's encryption; set it on the hub".into(),
                ));
            }
            let Some(client_id) = request.identity_client_id.clone().filter(|c| !c.is_empty())
            else {
                return Err(PlatformError::CmkIdentityMissing(format!(
                    "{} (hubs reach their vault with a user-assigned identity: assign one and name its client id in keyVaultProperties.identityClientId)",
                    ws.name
                )));
            };
            let identity = self.cmk_identity(&ws, Some(&client_id)).await?;
            let current = ws.encryption.clone();
            let settings = cmk::check(
                self.access.as_ref(),
                &ws,
                &current,
                &request,
                identity,
                true,
            )
            .await?;
            ws.encryption = Encryption::Cmk(Box::new(settings));
            if created && !ws.workspace.as_ref().is_some_and(|w| w.service_side_cmk) {
                let group = format!(
                    "azureml-rg-{}_{}",
                    ws.name.to_ascii_lowercase(),
                    uuid::Uuid::new_v4()
                );
                let sub = self
                    .identity
                    .subscription(&ws.subscription_id.to_string())
                    .await?;
                self.identity
                    .put_resource_group(
                        &sub,
                        &group,
                        &ws.location,
                        Default::default(),
                        Some(resource_id.clone()),
                    )
                    .await?;
                if let Some(w) = ws.workspace.as_mut() {
                    w.managed_resource_group = Some(group);
                }
            }
        }
        if let Some(name) = spec.friendly_name
            && let Some(w) = ws.workspace.as_mut()
        {
            w.friendly_name = name;
        }
        let expect = version.map_or(Precondition::Absent, Precondition::Version);
        self.records
            .commit(Batch::new().put_if(ACCOUNTS, &key, encode(&ws)?, expect))
            .await?;
        if !ws.identity.system_assigned {
            self.identity.delete_for_resource(&resource_id).await?;
        }
        Ok((ws, created))
    }

    /// Workspaces of a subscription (optionally one group).
    pub async fn list_workspaces(
        &self,
        subscription: uuid::Uuid,
        group: Option<&str>,
    ) -> Result<Vec<Account>, PlatformError> {
        let mut out = Vec::new();
        for (_, a) in self
            .records
            .scan_typed::<Account>(ACCOUNTS, "", 100_000)
            .await?
        {
            if a.workspace.is_some()
                && a.subscription_id == subscription
                && group.is_none_or(|g| a.resource_group.eq_ignore_ascii_case(g))
            {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Deletes a workspace with everything it owns: its managed resource group, identities,
    /// objects and KEKs.
    pub async fn delete_workspace(&self, ws: &Account) -> Result<(), PlatformError> {
        if ws.kind == "Hub" {
            for other in self.list_workspaces(ws.subscription_id, None).await? {
                if other
                    .workspace
                    .as_ref()
                    .and_then(|w| w.hub_resource_id.as_deref())
                    == Some(ws.resource_id().as_str())
                {
                    return Err(PlatformError::InvalidRequest(format!(
                        "hub {} still has project {}; delete its projects first",
                        ws.name, other.name
                    )));
                }
            }
        }
        if let Some(group) = ws
            .workspace
            .as_ref()
            .and_then(|w| w.managed_resource_group.clone())
        {
            self.identity
                .delete_resource_group(ws.subscription_id, &group)
                .await?;
        }
        self.destroy_objects(&ws.name).await?;
        self.destroy_keks(&ws.name).await?;
        self.records
            .commit(Batch::new().delete(ACCOUNTS, &ws.name.to_ascii_lowercase()))
            .await?;
        self.identity.delete_for_resource(&ws.resource_id()).await?;
        Ok(())
    }
}
