//! Managed identities (system-assigned, living and dying with their resource; user-assigned,
//! an ARM resource of their own) and workload bindings for the App Service style
//! managed-identity endpoint (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`).

use keyhold_store::{Batch, Precondition, RecordStoreExt, decode, encode};
use uuid::Uuid;

use crate::Identity;
use crate::directory::{CLIENT_IDS, PRINCIPALS};
use crate::error::IdentityError;
use crate::model::{Principal, PrincipalKind, WorkloadBinding};
use crate::secrets::{NewSecret, generate_secret};

pub(crate) const MANAGED: &str = "identity.managed";
const WORKLOADS: &str = "identity.workloads";

/// Which identity of a binding a workload asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadSelector {
    /// The binding's first identity.
    Default,
    /// By client id.
    ClientId(String),
    /// By object (principal) id.
    ObjectId(String),
    /// By ARM resource id of a user-assigned identity.
    ResourceId(String),
}

fn resource_key(resource_id: &str) -> String {
    resource_id.trim_end_matches('/').to_ascii_lowercase()
}

fn secret_key(secret: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        secret.as_bytes(),
    ))
}

impl Identity {
    /// The managed identity owned by (or being) `resource_id`, if any.
    pub async fn managed_identity_for_resource(
        &self,
        resource_id: &str,
    ) -> Result<Option<Principal>, IdentityError> {
        let Some(index) = self
            .records
            .get(MANAGED, &resource_key(resource_id))
            .await?
        else {
            return Ok(None);
        };
        let oid = std::str::from_utf8(&index.value)
            .ok()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| IdentityError::PrincipalNotFound(resource_id.to_owned()))?;
        match self.principal(oid).await {
            Ok(p) => Ok(Some(p)),
            Err(IdentityError::PrincipalNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_managed(
        &self,
        tenant: Uuid,
        kind: PrincipalKind,
        resource_id: &str,
        name: &str,
    ) -> Result<Principal, IdentityError> {
        self.tenant(tenant).await?;
        let principal = Principal {
            object_id: Uuid::new_v4(),
            tenant_id: tenant,
            client_id: Uuid::new_v4(),
            display_name: name.to_owned(),
            enabled: true,
            created: Self::now(),
            kind,
            secrets: vec![],
        };
        let batch = Batch::new()
            .put_if(
                PRINCIPALS,
                &principal.object_id.to_string(),
                encode(&principal)?,
                Precondition::Absent,
            )
            .put_if(
                CLIENT_IDS,
                &format!("{tenant}/{}", principal.client_id),
                principal.object_id.to_string().into_bytes(),
                Precondition::Absent,
            )
            .put_if(
                MANAGED,
                &resource_key(resource_id),
                principal.object_id.to_string().into_bytes(),
                Precondition::Absent,
            );
        self.records.commit(batch).await?;
        Ok(principal)
    }

    /// The system-assigned identity of `resource_id`, created if it has none.
    pub async fn ensure_system_assigned(
        &self,
        tenant: Uuid,
        resource_id: &str,
        name: &str,
    ) -> Result<Principal, IdentityError> {
        if let Some(existing) = self.managed_identity_for_resource(resource_id).await? {
            if existing.tenant_id == tenant {
                return Ok(existing);
            }
            // Left behind by a subscription move: identities do not cross tenants, so the
            // resource gets a new one in its new tenant (Azure's "disable and re-enable").
            self.delete_for_resource(resource_id).await?;
        }
        let kind = PrincipalKind::SystemAssigned {
            resource_id: resource_id.to_owned(),
        };
        self.create_managed(tenant, kind, resource_id, name).await
    }

    /// Creates the user-assigned identity resource if absent; returns it and whether it was created.
    pub async fn put_user_assigned(
        &self,
        tenant: Uuid,
        resource_id: &str,
        name: &str,
    ) -> Result<(Principal, bool), IdentityError> {
        let mut replaced = false;
        if let Some(existing) = self.managed_identity_for_resource(resource_id).await? {
            if existing.tenant_id == tenant {
                return Ok((existing, false));
            }
            // Left behind by a subscription move (see `ensure_system_assigned`): re-creating
            // the resource makes a new identity in the subscription's tenant.
            self.delete_for_resource(resource_id).await?;
            replaced = true;
        }
        let kind = PrincipalKind::UserAssigned {
            resource_id: resource_id.to_owned(),
        };
        Ok((
            self.create_managed(tenant, kind, resource_id, name).await?,
            !replaced,
        ))
    }

    /// User-assigned identities whose resource id starts with `scope` (a subscription or group).
    pub async fn list_user_assigned(&self, scope: &str) -> Result<Vec<Principal>, IdentityError> {
        let mut out = Vec::new();
        for (_, rec) in self
            .records
            .scan_all(MANAGED, &resource_key(scope), 100_000)
            .await?
        {
            let Some(oid) = std::str::from_utf8(&rec.value)
                .ok()
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                continue;
            };
            if let Ok(p) = self.principal(oid).await
                && matches!(p.kind, PrincipalKind::UserAssigned { .. })
            {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Deletes the managed identity of (or being) `resource_id`; `false` if none.
    pub async fn delete_for_resource(&self, resource_id: &str) -> Result<bool, IdentityError> {
        let Some(principal) = self.managed_identity_for_resource(resource_id).await? else {
            return Ok(false);
        };
        self.delete_principal(principal.object_id).await?;
        self.records
            .delete(MANAGED, &resource_key(resource_id))
            .await?;
        Ok(true)
    }

    /// Binds a new endpoint secret to managed identities (the first is the default).
    pub async fn create_workload_binding(
        &self,
        principals: Vec<Uuid>,
    ) -> Result<(WorkloadBinding, NewSecret), IdentityError> {
        if principals.is_empty() {
            return Err(IdentityError::InvalidName {
                what: "identities",
                reason: "at least one is required".into(),
            });
        }
        for oid in &principals {
            let p = self.principal(*oid).await?;
            if p.kind == PrincipalKind::ServicePrincipal {
                return Err(IdentityError::InvalidName {
                    what: "identities",
                    reason: "only managed identities can be bound to the managed-identity endpoint"
                        .into(),
                });
            }
        }
        let secret = generate_secret()?;
        let binding = WorkloadBinding {
            id: Uuid::new_v4(),
            principals,
            created: Self::now(),
        };
        self.records
            .put_typed(
                WORKLOADS,
                &secret_key(secret.expose_secret()),
                &binding,
                Precondition::Absent,
            )
            .await?;
        Ok((binding, secret))
    }

    /// Resolves the endpoint secret and selector to an enabled managed identity.
    pub async fn resolve_workload(
        &self,
        header_secret: &str,
        selector: &WorkloadSelector,
    ) -> Result<Principal, IdentityError> {
        let unknown = || IdentityError::InvalidClient {
            client_id: "managed identity endpoint".into(),
            reason: crate::error::InvalidClientReason::WrongSecret,
        };
        let rec = self
            .records
            .get(WORKLOADS, &secret_key(header_secret))
            .await?
            .ok_or_else(unknown)?;
        let binding: WorkloadBinding = decode(&rec.value)?;
        for oid in &binding.principals {
            let Ok(p) = self.principal(*oid).await else {
                continue;
            };
            let selected = match selector {
                WorkloadSelector::Default => true,
                WorkloadSelector::ClientId(c) => p.client_id.to_string().eq_ignore_ascii_case(c),
                WorkloadSelector::ObjectId(o) => p.object_id.to_string().eq_ignore_ascii_case(o),
                WorkloadSelector::ResourceId(r) => match &p.kind {
                    PrincipalKind::UserAssigned { resource_id }
                    | PrincipalKind::SystemAssigned { resource_id } => {
                        resource_id.eq_ignore_ascii_case(r)
                    }
                    PrincipalKind::ServicePrincipal | PrincipalKind::External { .. } => false,
                },
            };
            if selected {
                if !p.enabled {
                    return Err(IdentityError::PrincipalDisabled(p.client_id.to_string()));
                }
                return Ok(p);
            }
        }
        Err(IdentityError::PrincipalNotFound(format!("{selector:?}")))
    }
}
