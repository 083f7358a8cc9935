//! Applications as Microsoft Graph manages them: an application registered without a secret,
//! secrets added and removed one at a time (each with its own key id, label and expiry), and
//! a new display name. A keyhold service principal is both the application and its service
//! principal (one object, one client id); these are the operations `az ad sp create-for-rbac`
//! and `az ad app credential reset` need on it.

use keyhold_store::{Precondition, RecordStoreExt};
use uuid::Uuid;

use crate::Identity;
use crate::directory::PRINCIPALS;
use crate::error::IdentityError;
use crate::model::{Principal, PrincipalKind};
use crate::secrets::{NewSecret, generate_secret, hash_secret};

/// Most client secrets one application holds at once (Entra's limit is far higher; a bound
/// keeps a principal record small).
pub const MAX_SECRETS: usize = 16;

impl Identity {
    /// Registers an application (a service principal without any secret yet: it cannot get a
    /// token until [`Identity::add_secret`] gives it one).
    pub async fn create_application(
        &self,
        tenant: Uuid,
        name: &str,
    ) -> Result<Principal, IdentityError> {
        self.tenant(tenant).await?;
        let principal = Principal {
            object_id: Uuid::new_v4(),
            tenant_id: tenant,
            client_id: Uuid::new_v4(),
            display_name: crate::directory::display_name(name)?,
            enabled: true,
            created: Self::now(),
            kind: PrincipalKind::ServicePrincipal,
            secrets: Vec::new(),
        };
        self.insert_principal(&principal).await?;
        Ok(principal)
    }

    /// Adds a client secret (returned once) with an optional label and expiry (Unix seconds),
    /// keeping the others.
    pub async fn add_secret(
        &self,
        object_id: Uuid,
        label: Option<String>,
        expires: Option<u64>,
    ) -> Result<(Principal, NewSecret, Uuid), IdentityError> {
        let secret = generate_secret()?;
        let mut credential = hash_secret(secret.expose_secret(), Self::now(), expires)?;
        credential.display_name = label
            .map(|l| l.chars().take(256).collect::<String>())
            .filter(|l| !l.is_empty());
        let key_id = credential.key_id;
        let principal = self
            .update_secrets(object_id, |secrets| {
                if secrets.len() >= MAX_SECRETS {
                    return Err(IdentityError::InvalidName {
                        what: "passwordCredentials",
                        reason: format!("an application holds at most {MAX_SECRETS} secrets"),
                    });
                }
                secrets.push(credential);
                Ok(())
            })
            .await?;
        Ok((principal, secret, key_id))
    }

    /// Removes the client secret `key_id`; its tokens already issued stay valid until they
    /// expire, but it authenticates no more.
    pub async fn remove_secret(
        &self,
        object_id: Uuid,
        key_id: Uuid,
    ) -> Result<Principal, IdentityError> {
        self.update_secrets(object_id, |secrets| {
            let before = secrets.len();
            secrets.retain(|s| s.key_id != key_id);
            if secrets.len() == before {
                return Err(IdentityError::InvalidName {
                    what: "keyId",
                    reason: format!("no password credential has key id {key_id}"),
                });
            }
            Ok(())
        })
        .await
    }

    /// Renames a service principal.
    pub async fn rename_principal(
        &self,
        object_id: Uuid,
        name: &str,
    ) -> Result<Principal, IdentityError> {
        let name = crate::directory::display_name(name)?;
        let (mut principal, version) = self.principal_versioned(object_id).await?;
        principal.display_name = name;
        self.store_principal(principal, version).await
    }

    async fn update_secrets(
        &self,
        object_id: Uuid,
        change: impl FnOnce(&mut Vec<crate::model::SecretCredential>) -> Result<(), IdentityError>,
    ) -> Result<Principal, IdentityError> {
        let (mut principal, version) = self.principal_versioned(object_id).await?;
        if principal.kind != PrincipalKind::ServicePrincipal {
            return Err(IdentityError::InvalidName {
                what: "principal",
                reason: "managed identities have no client secrets".into(),
            });
        }
        change(&mut principal.secrets)?;
        self.store_principal(principal, version).await
    }

    async fn store_principal(
        &self,
        principal: Principal,
        version: u64,
    ) -> Result<Principal, IdentityError> {
        self.records
            .put_typed(
                PRINCIPALS,
                &principal.object_id.to_string(),
                &principal,
                Precondition::Version(version),
            )
            .await?;
        self.verified.forget(principal.client_id);
        self.principals.forget(principal.object_id);
        Ok(principal)
    }
}
