//! Tenants, subscriptions, resource groups and service principals.

use std::collections::BTreeMap;

use keyhold_store::{Batch, Precondition, RecordStoreExt, decode, encode};
use uuid::Uuid;

use crate::Identity;
use crate::error::{IdentityError, InvalidClientReason};
use crate::model::{Principal, PrincipalKind, ResourceGroup, Subscription, Tenant};
use crate::secrets::{NewSecret, generate_secret, hash_secret, verify_secret};

pub(crate) const TENANTS: &str = "identity.tenants";
pub(crate) const SUBSCRIPTIONS: &str = "identity.subscriptions";
pub(crate) const RESOURCE_GROUPS: &str = "identity.resource_groups";
pub(crate) const PRINCIPALS: &str = "identity.principals";
pub(crate) const CLIENT_IDS: &str = "identity.client_ids";

/// ARM resource group names: 1–90 of letters, digits, `-_.()`, not ending in `.`.
pub fn validate_resource_group_name(name: &str) -> Result<(), IdentityError> {
    let ok = !name.is_empty()
        && name.len() <= 90
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.()".contains(c));
    if ok {
        Ok(())
    } else {
        Err(IdentityError::InvalidName {
            what: "resource group name",
            reason: format!(
                "{name:?} must be 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'"
            ),
        })
    }
}

pub(crate) fn display_name(name: &str) -> Result<String, IdentityError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.len() > 256 || trimmed.chars().any(char::is_control) {
        return Err(IdentityError::InvalidName {
            what: "displayName",
            reason: "must be 1-256 printable characters".into(),
        });
    }
    Ok(trimmed.to_owned())
}

impl Identity {
    /// A tenant by id.
    pub async fn tenant(&self, id: Uuid) -> Result<Tenant, IdentityError> {
        self.records
            .get_typed::<Tenant>(TENANTS, &id.to_string())
            .await?
            .map(|(t, _)| t)
            .ok_or_else(|| IdentityError::TenantNotFound(id.to_string()))
    }

    /// Parses a tenant path segment and checks it exists.
    pub async fn tenant_by_segment(&self, segment: &str) -> Result<Tenant, IdentityError> {
        let id = Uuid::parse_str(segment)
            .map_err(|_| IdentityError::TenantNotFound(segment.to_owned()))?;
        self.tenant(id).await
    }

    /// All tenants.
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, IdentityError> {
        self.records
            .scan_all(TENANTS, "", 10_000)
            .await?
            .iter()
            .map(|(_, r)| decode(&r.value).map_err(Into::into))
            .collect()
    }

    /// Creates a tenant.
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, IdentityError> {
        let tenant = Tenant {
            id: Uuid::new_v4(),
            display_name: display_name(name)?,
            created: Self::now(),
        };
        self.records
            .put_typed(
                TENANTS,
                &tenant.id.to_string(),
                &tenant,
                Precondition::Absent,
            )
            .await?;
        Ok(tenant)
    }

    /// A subscription by id (any case).
    pub async fn subscription(&self, id: &str) -> Result<Subscription, IdentityError> {
        let parsed =
            Uuid::parse_str(id).map_err(|_| IdentityError::SubscriptionNotFound(id.to_owned()))?;
        self.records
            .get_typed::<Subscription>(SUBSCRIPTIONS, &parsed.to_string())
            .await?
            .map(|(s, _)| s)
            .ok_or_else(|| IdentityError::SubscriptionNotFound(id.to_owned()))
    }

    /// Subscriptions of a tenant.
    pub async fn list_subscriptions(
        &self,
        tenant: Uuid,
    ) -> Result<Vec<Subscription>, IdentityError> {
        let all: Vec<Subscription> = self
            .records
            .scan_all(SUBSCRIPTIONS, "", 10_000)
            .await?
            .iter()
            .map(|(_, r)| decode(&r.value))
            .collect::<Result<_, _>>()?;
        Ok(all.into_iter().filter(|s| s.tenant_id == tenant).collect())
    }

    /// Creates a subscription in a tenant.
    pub async fn create_subscription(
        &self,
        tenant: Uuid,
        name: &str,
    ) -> Result<Subscription, IdentityError> {
        self.tenant(tenant).await?;
        let sub = Subscription {
            id: Uuid::new_v4(),
            tenant_id: tenant,
            display_name: display_name(name)?,
            state: "Enabled".into(),
        };
        self.records
            .put_typed(
                SUBSCRIPTIONS,
                &sub.id.to_string(),
                &sub,
                Precondition::Absent,
            )
            .await?;
        Ok(sub)
    }

    fn rg_key(sub: Uuid, name: &str) -> String {
        format!("{sub}/{}", name.to_ascii_lowercase())
    }

    /// Creates or updates a resource group; returns it and whether it was created.
    pub async fn put_resource_group(
        &self,
        subscription: &Subscription,
        name: &str,
        location: &str,
        tags: BTreeMap<String, String>,
        managed_by: Option<String>,
    ) -> Result<(ResourceGroup, bool), IdentityError> {
        validate_resource_group_name(name)?;
        if location.trim().is_empty() {
            return Err(IdentityError::InvalidName {
                what: "location",
                reason: "is required".into(),
            });
        }
        let key = Self::rg_key(subscription.id, name);
        let existing = self
            .records
            .get_typed::<ResourceGroup>(RESOURCE_GROUPS, &key)
            .await?;
        let (rg, expect, created) = match existing {
            Some((mut rg, version)) => {
                if !rg.location.eq_ignore_ascii_case(location) {
                    return Err(IdentityError::InvalidName {
                        what: "location",
                        reason: format!(
                            "resource group {} already exists in location {}",
                            rg.name, rg.location
                        ),
                    });
                }
                rg.tags = tags;
                (rg, Precondition::Version(version), false)
            }
            None => (
                ResourceGroup {
                    subscription_id: subscription.id,
                    name: name.to_owned(),
                    location: location.to_ascii_lowercase().replace(' ', ""),
                    tags,
                    created: Self::now(),
                    managed_by,
                },
                Precondition::Absent,
                true,
            ),
        };
        self.records
            .put_typed(RESOURCE_GROUPS, &key, &rg, expect)
            .await?;
        Ok((rg, created))
    }

    /// A resource group.
    pub async fn resource_group(
        &self,
        sub: Uuid,
        name: &str,
    ) -> Result<ResourceGroup, IdentityError> {
        self.records
            .get_typed::<ResourceGroup>(RESOURCE_GROUPS, &Self::rg_key(sub, name))
            .await?
            .map(|(rg, _)| rg)
            .ok_or_else(|| IdentityError::ResourceGroupNotFound(name.to_owned()))
    }

    /// Resource groups of a subscription.
    pub async fn list_resource_groups(
        &self,
        sub: Uuid,
    ) -> Result<Vec<ResourceGroup>, IdentityError> {
        self.records
            .scan_all(RESOURCE_GROUPS, &format!("{sub}/"), 10_000)
            .await?
            .iter()
            .map(|(_, r)| decode(&r.value).map_err(Into::into))
            .collect()
    }

    /// Deletes a resource group; `false` if it did not exist.
    pub async fn delete_resource_group(
        &self,
        sub: Uuid,
        name: &str,
    ) -> Result<bool, IdentityError> {
        let key = Self::rg_key(sub, name);
        match self.records.get(RESOURCE_GROUPS, &key).await? {
            Some(rec) => {
                self.records
                    .delete_if_version(RESOURCE_GROUPS, &key, rec.version)
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Stores a new principal with its client-id index, atomically.
    pub(crate) async fn insert_principal(
        &self,
        principal: &Principal,
    ) -> Result<(), IdentityError> {
        let batch = Batch::new()
            .put_if(
                PRINCIPALS,
                &principal.object_id.to_string(),
                encode(principal)?,
                Precondition::Absent,
            )
            .put_if(
                CLIENT_IDS,
                &format!("{}/{}", principal.tenant_id, principal.client_id),
                principal.object_id.to_string().into_bytes(),
                Precondition::Absent,
            );
        self.records.commit(batch).await?;
        Ok(())
    }

    /// Creates a service principal with a first client secret (returned once).
    pub async fn create_service_principal(
        &self,
        tenant: Uuid,
        name: &str,
    ) -> Result<(Principal, NewSecret), IdentityError> {
        self.tenant(tenant).await?;
        let secret = generate_secret()?;
        let now = Self::now();
        let principal = Principal {
            object_id: Uuid::new_v4(),
            tenant_id: tenant,
            client_id: Uuid::new_v4(),
            display_name: display_name(name)?,
            enabled: true,
            created: now,
            kind: PrincipalKind::ServicePrincipal,
            secrets: vec![hash_secret(secret.expose_secret(), now, None)?],
        };
        self.insert_principal(&principal).await?;
        Ok((principal, secret))
    }

    /// A principal by object id (served from the in-memory cache when fresh).
    pub async fn principal(&self, object_id: Uuid) -> Result<Principal, IdentityError> {
        if let Some(p) = self.principals.get(object_id) {
            return Ok(p);
        }
        let (p, _) = self.principal_versioned(object_id).await?;
        self.principals.put(&p);
        Ok(p)
    }

    pub(crate) async fn principal_versioned(
        &self,
        object_id: Uuid,
    ) -> Result<(Principal, u64), IdentityError> {
        self.records
            .get_typed::<Principal>(PRINCIPALS, &object_id.to_string())
            .await?
            .ok_or_else(|| IdentityError::PrincipalNotFound(object_id.to_string()))
    }

    /// A principal by client id within a tenant.
    pub async fn principal_by_client_id(
        &self,
        tenant: Uuid,
        client_id: &str,
    ) -> Result<Principal, IdentityError> {
        let not_found = || IdentityError::PrincipalNotFound(client_id.to_owned());
        let client = Uuid::parse_str(client_id).map_err(|_| not_found())?;
        let index = self
            .records
            .get(CLIENT_IDS, &format!("{tenant}/{client}"))
            .await?
            .ok_or_else(not_found)?;
        let oid = std::str::from_utf8(&index.value)
            .ok()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(not_found)?;
        self.principal(oid).await
    }

    /// Principals of a tenant.
    pub async fn list_principals(&self, tenant: Uuid) -> Result<Vec<Principal>, IdentityError> {
        let all: Vec<Principal> = self
            .records
            .scan_all(PRINCIPALS, "", 100_000)
            .await?
            .iter()
            .map(|(_, r)| decode(&r.value))
            .collect::<Result<_, _>>()?;
        Ok(all.into_iter().filter(|p| p.tenant_id == tenant).collect())
    }

    /// Enables or disables a principal; effective for its very next request.
    pub async fn set_enabled(
        &self,
        object_id: Uuid,
        enabled: bool,
    ) -> Result<Principal, IdentityError> {
        let (mut principal, version) = self.principal_versioned(object_id).await?;
        principal.enabled = enabled;
        self.records
            .put_typed(
                PRINCIPALS,
                &object_id.to_string(),
                &principal,
                Precondition::Version(version),
            )
            .await?;
        self.verified.forget(principal.client_id);
        self.principals.forget(principal.object_id);
        Ok(principal)
    }

    /// Replaces a service principal's secrets with a new one (returned once).
    pub async fn reset_secret(
        &self,
        object_id: Uuid,
    ) -> Result<(Principal, NewSecret), IdentityError> {
        let (mut principal, version) = self.principal_versioned(object_id).await?;
        if principal.kind != PrincipalKind::ServicePrincipal {
            return Err(IdentityError::InvalidName {
                what: "principal",
                reason: "managed identities have no client secrets".into(),
            });
        }
        let secret = generate_secret()?;
        principal.secrets = vec![hash_secret(secret.expose_secret(), Self::now(), None)?];
        self.records
            .put_typed(
                PRINCIPALS,
                &object_id.to_string(),
                &principal,
                Precondition::Version(version),
            )
            .await?;
        self.verified.forget(principal.client_id);
        self.principals.forget(principal.object_id);
        Ok((principal, secret))
    }

    /// Deletes a principal, its client-id index and its role assignments, atomically.
    pub async fn delete_principal(&self, object_id: Uuid) -> Result<Principal, IdentityError> {
        let (principal, version) = self.principal_versioned(object_id).await?;
        let mut batch = Batch::new()
            .delete_if(
                PRINCIPALS,
                &object_id.to_string(),
                Precondition::Version(version),
            )
            .delete(
                CLIENT_IDS,
                &format!("{}/{}", principal.tenant_id, principal.client_id),
            );
        for assignment in self.list_role_assignments(None).await? {
            if assignment.principal_id == object_id {
                batch = batch.delete(crate::access::ROLE_ASSIGNMENTS, &assignment.id.to_string());
            }
        }
        self.records.commit(batch).await?;
        self.verified.forget(principal.client_id);
        self.principals.forget(principal.object_id);
        Ok(principal)
    }

    /// The client-credentials check: the client exists in `tenant`, is enabled, and `secret`
    /// matches one of its unexpired secrets.
    pub async fn authenticate_client_secret(
        &self,
        tenant: Uuid,
        client_id: &str,
        secret: &str,
    ) -> Result<Principal, IdentityError> {
        let invalid = |reason| IdentityError::InvalidClient {
            client_id: client_id.to_owned(),
            reason,
        };
        let principal = match self.principal_by_client_id(tenant, client_id).await {
            Ok(p) => p,
            Err(IdentityError::PrincipalNotFound(_)) => {
                return Err(invalid(InvalidClientReason::UnknownClient));
            }
            Err(e) => return Err(e),
        };
        if !principal.enabled {
            return Err(IdentityError::PrincipalDisabled(client_id.to_owned()));
        }
        if self.verified.recently_verified(principal.client_id, secret) {
            return Ok(principal);
        }
        let now = Self::now();
        let ok = principal
            .secrets
            .iter()
            .any(|cred| verify_secret(cred, secret, now));
        if !ok {
            return Err(invalid(InvalidClientReason::WrongSecret));
        }
        self.verified.remember(principal.client_id, secret);
        Ok(principal)
    }
}
