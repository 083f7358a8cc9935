//! First start: the default tenant, subscription and an admin service principal with Owner on
//! the subscription and on the directory root (`/`, which also allows managing principals).

use keyhold_store::{Precondition, RecordStoreExt};
use uuid::Uuid;

use crate::Identity;
use crate::error::IdentityError;
use crate::model::{BootstrapRecord, Principal, Subscription, Tenant};
use crate::secrets::NewSecret;

const META: &str = "identity.meta";
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
    /// Idempotent: creates the defaults on an empty directory, else returns them.
    pub async fn bootstrap(&self) -> Result<BootstrapOutcome, IdentityError> {
        if let Some((rec, _)) = self
            .records
            .get_typed::<BootstrapRecord>(META, "bootstrap")
            .await?
        {
            return Ok(BootstrapOutcome::Existing {
                tenant: self.tenant(rec.tenant_id).await?,
                subscription: self.subscription(&rec.subscription_id.to_string()).await?,
                admin: self.principal(rec.admin_object_id).await?,
            });
        }
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
        self.records
            .put_typed(META, "bootstrap", &record, Precondition::Absent)
            .await?;
        Ok(BootstrapOutcome::Created {
            tenant,
            subscription,
            admin,
            secret,
        })
    }
}
