//! First start: the default tenant, subscription and an admin service principal with Owner on
//! the subscription and on the directory root (`/`, which also allows managing principals).
//!
//! Several nodes may start together on one empty shared store. Exactly one makes the
//! defaults: a start first claims the `bootstrap_claim` record (written only if absent), the
//! others wait for the bootstrap record the claimant writes last. A claim older than
//! [`BOOTSTRAP_CLAIM_TAKEOVER`] belongs to a start that died midway and is taken over (what the dead
//! start made before dying stays as an unused tenant; its admin secret was never shown).

use std::time::Duration;

use keyhold_store::{Precondition, RecordStoreExt, StoreError};
use uuid::Uuid;

use crate::Identity;
use crate::error::IdentityError;
use crate::model::{BootstrapClaim, BootstrapRecord, Principal, Subscription, Tenant};
use crate::secrets::NewSecret;

const META: &str = "identity.meta";
/// After this long a claim whose claimant wrote no bootstrap record is taken over.
pub const BOOTSTRAP_CLAIM_TAKEOVER: Duration = Duration::from_secs(60);
/// How often a waiting start looks for the claimant's bootstrap record.
const CLAIM_POLL: Duration = Duration::from_millis(100);
const OWNER: Uuid = Uuid::from_u128(0x8e3af657_a8ff_443c_a75c_2fe8c4bcb635);

/// What `bootstrap` found or made.
pub enum BootstrapOutcome {
    /// Made now; the admin secret is shown this once.
    Created {
        /// Default tenant.
        tenant: Tenant,
        /// Default subscription.
        subscription: Subscription,
        /// Admin service principal.
        admin: Principal,
        /// Its client secret.
        secret: NewSecret,
    },
    /// Made by an earlier start.
    Existing {
        /// Default tenant.
        tenant: Tenant,
        /// Default subscription.
        subscription: Subscription,
        /// Admin service principal.
        admin: Principal,
    },
}

impl Identity {
    /// Idempotent: creates the defaults on an empty directory, else returns them. Nodes
    /// starting together make them once (see the module docs).
    pub async fn bootstrap(&self) -> Result<BootstrapOutcome, IdentityError> {
        let claim = BootstrapClaim {
            claimant: Uuid::new_v4(),
            claimed_at: Self::now(),
        };
        loop {
            if let Some(existing) = self.existing_bootstrap().await? {
                return Ok(existing);
            }
            let expect = match self
                .records
                .get_typed::<BootstrapClaim>(META, "bootstrap_claim")
                .await?
            {
                None => Precondition::Absent,
                Some((held, version)) => {
                    let age = Self::now().saturating_sub(held.claimed_at);
                    if age < BOOTSTRAP_CLAIM_TAKEOVER.as_secs() {
                        tokio::time::sleep(CLAIM_POLL).await;
                        continue;
                    }
                    tracing::warn!(
                        "a bootstrap claim is {age} s old without a bootstrap record; taking it over"
                    );
                    Precondition::Version(version)
                }
            };
            match self
                .records
                .put_typed(META, "bootstrap_claim", &claim, expect)
                .await
            {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // A start that waited long enough to take over may find that the claimant finished
        // after all: look once more now that the claim is ours.
        if let Some(existing) = self.existing_bootstrap().await? {
            return Ok(existing);
        }
        self.create_defaults().await
    }

    async fn existing_bootstrap(&self) -> Result<Option<BootstrapOutcome>, IdentityError> {
        let Some((rec, _)) = self
            .records
            .get_typed::<BootstrapRecord>(META, "bootstrap")
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(BootstrapOutcome::Existing {
            tenant: self.tenant(rec.tenant_id).await?,
            subscription: self.subscription(&rec.subscription_id.to_string()).await?,
            admin: self.principal(rec.admin_object_id).await?,
        }))
    }

    async fn create_defaults(&self) -> Result<BootstrapOutcome, IdentityError> {
        let tenant = self.create_tenant("keyhold default tenant").await?;
        let subscription = self
            .create_subscription(tenant.id, "keyhold default subscription")
            .await?;
        let (admin, secret) = self
            .create_service_principal(tenant.id, "keyhold-admin")
            .await?;
        self.assign_role(
            Uuid::new_v4(),
            &format!("/subscriptions/{}", subscription.id),
            admin.object_id,
            OWNER,
        )
        .await?;
        self.assign_role(Uuid::new_v4(), "/", admin.object_id, OWNER)
            .await?;
        let record = BootstrapRecord {
            tenant_id: tenant.id,
            subscription_id: subscription.id,
            admin_object_id: admin.object_id,
        };
        match self
            .records
            .put_typed(META, "bootstrap", &record, Precondition::Absent)
            .await
        {
            Ok(_) => {}
            // Only after a takeover: the slow claimant finished first; its defaults stand.
            Err(StoreError::Conflict { .. }) => {
                if let Some(existing) = self.existing_bootstrap().await? {
                    return Ok(existing);
                }
                return Err(IdentityError::Conflict("bootstrap record".into()));
            }
            Err(e) => return Err(e.into()),
        }
        Ok(BootstrapOutcome::Created {
            tenant,
            subscription,
            admin,
            secret,
        })
    }
}
