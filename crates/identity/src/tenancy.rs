//! More tenants, more subscriptions, and moving a subscription to another tenant.
//!
//! A tenant made here gets its own administrator: a service principal with Owner at the
//! tenant's directory scope `/tenants/{id}`, which lets it manage that tenant's principals and
//! create subscriptions in it, and nothing in any other tenant.
//!
//! Moving a subscription follows what Azure does when a subscription is transferred to another
//! Entra directory (the source documents' tenant caveat):
//! - every role assignment at or under the subscription is removed (they name principals of
//!   the old tenant);
//! - managed identities of the subscription's resources do **not** move: they stay in the old
//!   tenant, disabled, so they can no longer get tokens anywhere; a resource gets a new one in
//!   the new tenant when its identity is switched on again;
//! - the principal named as the new owner (it must live in the target tenant) gets Owner on the
//!   subscription.
//!
//! All of it is one atomic batch together with the subscription's new tenant, so a crash
//! leaves either the old or the new state, never half of the assignments removed.

use keyhold_store::{Batch, Precondition, RecordStoreExt, decode, encode};
use uuid::Uuid;

use crate::Identity;
use crate::access::ROLE_ASSIGNMENTS;
use crate::directory::{PRINCIPALS, SUBSCRIPTIONS};
use crate::error::IdentityError;
use crate::managed::MANAGED;
use crate::model::{Principal, PrincipalKind, RoleAssignment, Subscription, Tenant};
use crate::roles::scope_covers;
use crate::secrets::NewSecret;

/// The Owner role.
const OWNER: Uuid = Uuid::from_u128(0x8e3af657_a8ff_443c_a75c_2fe8c4bcb635);

/// The directory scope of a tenant: what its administrator is Owner of.
pub fn tenant_scope(tenant: Uuid) -> String {
    format!("/tenants/{tenant}")
}

/// What a subscription move did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionMove {
    /// The subscription, now in `to`.
    pub subscription: Subscription,
    /// The tenant it left (equal to `to` when the move had already happened).
    pub from: Uuid,
    /// The tenant it is in now.
    pub to: Uuid,
    /// Role assignments removed.
    pub removed_assignments: usize,
    /// Managed identities left behind (disabled) in the old tenant.
    pub disabled_identities: Vec<Uuid>,
}

impl Identity {
    /// Creates a tenant with its administrator (a service principal named `keyhold-admin`,
    /// Owner at [`tenant_scope`]); the secret is returned this once.
    pub async fn create_tenant_with_admin(
        &self,
        name: &str,
    ) -> Result<(Tenant, Principal, NewSecret), IdentityError> {
        let tenant = self.create_tenant(name).await?;
        let (admin, secret) = self
            .create_service_principal(tenant.id, "keyhold-admin")
            .await?;
        self.assign_role(
            Uuid::new_v4(),
            &tenant_scope(tenant.id),
            admin.object_id,
            OWNER,
        )
        .await?;
        Ok((tenant, admin, secret))
    }

    /// Creates a subscription in `tenant` owned by `owner` (a principal of that tenant).
    pub async fn create_owned_subscription(
        &self,
        tenant: Uuid,
        name: &str,
        owner: Uuid,
    ) -> Result<Subscription, IdentityError> {
        self.principal_in(owner, tenant).await?;
        let subscription = self.create_subscription(tenant, name).await?;
        self.assign_role(
            Uuid::new_v4(),
            &format!("/subscriptions/{}", subscription.id),
            owner,
            OWNER,
        )
        .await?;
        Ok(subscription)
    }

    /// A principal that must live in `tenant` (`PrincipalNotFound` otherwise, as Graph says of
    /// an object id it cannot see).
    async fn principal_in(
        &self,
        object_id: Uuid,
        tenant: Uuid,
    ) -> Result<Principal, IdentityError> {
        let principal = self.principal(object_id).await?;
        if principal.tenant_id != tenant {
            return Err(IdentityError::PrincipalNotFound(format!(
                "{object_id} (not a principal of tenant {tenant})"
            )));
        }
        Ok(principal)
    }

    /// Moves `subscription` to tenant `to`, making `new_owner` (a principal of `to`) its Owner.
    /// Moving a subscription to the tenant it is already in changes nothing and reports what
    /// is there, so a caller can safely repeat a move whose answer it did not see.
    pub async fn move_subscription(
        &self,
        subscription: &str,
        to: Uuid,
        new_owner: Uuid,
    ) -> Result<SubscriptionMove, IdentityError> {
        let current = self.subscription(subscription).await?;
        let key = current.id.to_string();
        let (_, version) = self
            .records
            .get_typed::<Subscription>(SUBSCRIPTIONS, &key)
            .await?
            .ok_or_else(|| IdentityError::SubscriptionNotFound(subscription.to_owned()))?;
        self.tenant(to).await?;
        self.principal_in(new_owner, to).await?;
        let from_tenant = current.tenant_id;
        if from_tenant == to {
            return Ok(SubscriptionMove {
                subscription: current,
                from: to,
                to,
                removed_assignments: 0,
                disabled_identities: vec![],
            });
        }
        let scope = format!("/subscriptions/{}", current.id);
        let mut moved = current.clone();
        moved.tenant_id = to;
        let mut batch = Batch::new().put_if(
            SUBSCRIPTIONS,
            &key,
            encode(&moved)?,
            Precondition::Version(version),
        );
        let mut removed_assignments = 0;
        for (id, record) in self.records.scan_all(ROLE_ASSIGNMENTS, "", 100_000).await? {
            let assignment: RoleAssignment = decode(&record.value)?;
            if scope_covers(&scope, &assignment.scope) {
                batch =
                    batch.delete_if(ROLE_ASSIGNMENTS, &id, Precondition::Version(record.version));
                removed_assignments += 1;
            }
        }
        let mut left_behind = Vec::new();
        for (_, index) in self
            .records
            .scan_all(
                MANAGED,
                &format!("{}/", scope.to_ascii_lowercase()),
                100_000,
            )
            .await?
        {
            let Some(object_id) = std::str::from_utf8(&index.value)
                .ok()
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                continue;
            };
            let Ok((mut principal, pv)) = self.principal_versioned(object_id).await else {
                continue;
            };
            if principal.tenant_id == to || !is_managed(&principal) {
                continue;
            }
            principal.enabled = false;
            batch = batch.put_if(
                PRINCIPALS,
                &object_id.to_string(),
                encode(&principal)?,
                Precondition::Version(pv),
            );
            left_behind.push(principal);
        }
        let owner = RoleAssignment {
            id: Uuid::new_v4(),
            scope: scope.clone(),
            principal_id: new_owner,
            role_id: OWNER,
            created: Self::now(),
        };
        batch = batch.put_if(
            ROLE_ASSIGNMENTS,
            &owner.id.to_string(),
            encode(&owner)?,
            Precondition::Absent,
        );
        self.records.commit(batch).await?;
        for principal in &left_behind {
            self.verified.forget(principal.client_id);
            self.principals.forget(principal.object_id);
        }
        Ok(SubscriptionMove {
            subscription: moved,
            from: from_tenant,
            to,
            removed_assignments,
            disabled_identities: left_behind.iter().map(|p| p.object_id).collect(),
        })
    }
}

fn is_managed(principal: &Principal) -> bool {
    matches!(
        principal.kind,
        PrincipalKind::SystemAssigned { .. } | PrincipalKind::UserAssigned { .. }
    )
}
