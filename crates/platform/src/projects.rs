//! AI Foundry projects (`accounts/{account}/projects/{project}`): workspaces inside a Foundry
//! resource (kind AIServices with `allowProjectManagement`). A project has no encryption setting
//! of its own: its data is protected by its account's key hierarchy. Each project may have a
//! system-assigned identity; the first project of an account is its default.

use keyhold_store::{Batch, Precondition, RecordStoreExt, Versioned, encode};
use serde::{Deserialize, Serialize};

use crate::Platform;
use crate::error::PlatformError;
use crate::model::Account;

const PROJECTS: &str = "platform.projects";

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Name as created.
    pub name: String,
    /// Owning account.
    pub account: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// The account's default project.
    pub is_default: bool,
    /// System-assigned identity on.
    pub system_assigned: bool,
    /// User-assigned identities attached (ARM ids).
    #[serde(default)]
    pub user_assigned: Vec<String>,
    /// Created (unix s).
    pub created: u64,
}
impl Versioned for Project {
    const KIND: &'static str = "platform.project";
    const SCHEMA: u16 = 1;
}

/// What a PUT asks for.
#[derive(Debug, Clone, Default)]
pub struct ProjectSpec {
    /// Display name.
    pub display_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// System-assigned identity (None: unchanged).
    pub system_assigned: Option<bool>,
    /// User-assigned identities (None: unchanged). The caller's `assign/action` on each is the
    /// server's check; this layer checks that each exists in the account's tenant.
    pub user_assigned: Option<Vec<String>>,
}

fn key(account: &str, project: &str) -> String {
    format!(
        "{}/{}",
        account.to_ascii_lowercase(),
        project.to_ascii_lowercase()
    )
}

impl Project {
    /// The ARM id.
    pub fn resource_id(&self, account: &Account) -> String {
        format!("{}/projects/{}", account.resource_id(), self.name)
    }
}

impl Platform {
    /// Creates or updates a project; returns it and whether it was created.
    pub async fn put_project(
        &self,
        account: &Account,
        name: &str,
        spec: ProjectSpec,
    ) -> Result<(Project, bool), PlatformError> {
        if !account.is_foundry() {
            return Err(PlatformError::InvalidRequest(format!(
                "Account {} cannot hold projects: projects need kind AIServices with allowProjectManagement set.",
                account.name
            )));
        }
        crate::validate_account_name(name)?;
        let k = key(&account.name, name);
        let existing = self.records.get_typed::<Project>(PROJECTS, &k).await?;
        let (mut project, expect, created) = match existing {
            Some((p, v)) => (p, Precondition::Version(v), false),
            None => {
                let is_default = self.list_projects(account).await?.is_empty();
                let project = Project {
                    name: name.to_owned(),
                    account: account.name.clone(),
                    display_name: name.to_owned(),
                    description: String::new(),
                    is_default,
                    system_assigned: false,
                    user_assigned: Vec::new(),
                    created: Self::now(),
                };
                (project, Precondition::Absent, true)
            }
        };
        if let Some(d) = spec.display_name {
            project.display_name = d;
        }
        if let Some(d) = spec.description {
            project.description = d;
        }
        if let Some(on) = spec.system_assigned {
            project.system_assigned = on;
        }
        if let Some(identities) = spec.user_assigned {
            for uai in &identities {
                // As for accounts: identities do not cross tenants, and one of another tenant
                // is answered as absent.
                match self.identity.managed_identity_for_resource(uai).await? {
                    Some(p)
                        if matches!(
                            p.kind,
                            keyhold_identity::PrincipalKind::UserAssigned { .. }
                        ) && p.tenant_id == account.tenant_id => {}
                    _ => return Err(PlatformError::IdentityNotFound(uai.clone())),
                }
            }
            project.user_assigned = identities;
        }
        let resource_id = project.resource_id(account);
        if project.system_assigned {
            self.identity
                .ensure_system_assigned(account.tenant_id, &resource_id, &project.name)
                .await?;
        }
        self.records
            .commit(Batch::new().put_if(PROJECTS, &k, encode(&project)?, expect))
            .await?;
        if !project.system_assigned {
            self.identity.delete_for_resource(&resource_id).await?;
        }
        Ok((project, created))
    }

    /// A project.
    pub async fn project(&self, account: &Account, name: &str) -> Result<Project, PlatformError> {
        self.records
            .get_typed::<Project>(PROJECTS, &key(&account.name, name))
            .await?
            .map(|(p, _)| p)
            .ok_or_else(|| PlatformError::ObjectNotFound {
                kind: "project",
                id: name.to_owned(),
            })
    }

    /// An account's projects.
    pub async fn list_projects(&self, account: &Account) -> Result<Vec<Project>, PlatformError> {
        let prefix = format!("{}/", account.name.to_ascii_lowercase());
        Ok(self
            .records
            .scan_typed::<Project>(PROJECTS, &prefix, 100_000)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Deletes a project (and its identity); `false` if there was none.
    pub async fn delete_project(
        &self,
        account: &Account,
        name: &str,
    ) -> Result<bool, PlatformError> {
        let Ok(project) = self.project(account, name).await else {
            return Ok(false);
        };
        self.records
            .commit(Batch::new().delete(PROJECTS, &key(&account.name, name)))
            .await?;
        self.identity
            .delete_for_resource(&project.resource_id(account))
            .await?;
        Ok(true)
    }

    /// Deletes every project of an account (purge).
    pub(crate) async fn destroy_projects(&self, account: &Account) -> Result<(), PlatformError> {
        for project in self.list_projects(account).await? {
            self.delete_project(account, &project.name).await?;
        }
        Ok(())
    }
}
