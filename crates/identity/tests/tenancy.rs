//! New tenants, owned subscriptions and subscription moves over a real store: what moves, what
//! stays behind, and that refused moves change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::identity_in as identity;
use keyhold_identity::{BootstrapOutcome, IdentityError, PrincipalKind, tenant_scope};
use uuid::Uuid;

const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

#[tokio::test]
async fn a_moved_subscription_leaves_its_identities_and_assignments_behind() {
    let dir = tempfile::tempdir().unwrap();
    let id = identity(dir.path());
    let BootstrapOutcome::Created { tenant, admin, .. } = id.bootstrap().await.unwrap() else {
        panic!("fresh directory")
    };
    let (other, other_admin, _) = id.create_tenant_with_admin("contoso").await.unwrap();
    let owner = Uuid::parse_str(OWNER).unwrap();
    // The new administrator is Owner of its tenant's scope and of nothing else.
    assert!(
        id.check_access(
            other_admin.object_id,
            &tenant_scope(other.id),
            "Keyhold.Directory/x"
        )
        .await
        .unwrap()
    );
    assert!(
        !id.check_access(
            other_admin.object_id,
            &tenant_scope(tenant.id),
            "Keyhold.Directory/x"
        )
        .await
        .unwrap()
    );

    let sub = id
        .create_owned_subscription(tenant.id, "to-move", admin.object_id)
        .await
        .unwrap();
    let scope = format!("/subscriptions/{}", sub.id);
    let account =
        format!("{scope}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a");
    let system = id
        .ensure_system_assigned(tenant.id, &account, "a")
        .await
        .unwrap();
    let uai = format!(
        "{scope}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
    );
    let (user, _) = id.put_user_assigned(tenant.id, &uai, "u").await.unwrap();
    id.assign_role(
        Uuid::new_v4(),
        &format!("{scope}/resourceGroups/rg"),
        system.object_id,
        owner,
    )
    .await
    .unwrap();
    let elsewhere = id
        .assign_role(
            Uuid::new_v4(),
            "/subscriptions/other",
            system.object_id,
            owner,
        )
        .await
        .unwrap()
        .0;

    // Refused: an owner of another tenant, an unknown tenant. Nothing changes.
    let err = id
        .move_subscription(&sub.id.to_string(), other.id, admin.object_id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::PrincipalNotFound(_)),
        "{err:?}"
    );
    let err = id
        .move_subscription(&sub.id.to_string(), Uuid::new_v4(), other_admin.object_id)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::TenantNotFound(_)), "{err:?}");
    assert_eq!(
        id.subscription(&sub.id.to_string())
            .await
            .unwrap()
            .tenant_id,
        tenant.id
    );

    let moved = id
        .move_subscription(&sub.id.to_string(), other.id, other_admin.object_id)
        .await
        .unwrap();
    assert_eq!((moved.from, moved.to), (tenant.id, other.id));
    // The owner's assignment and the identity's one under the subscription are gone.
    assert_eq!(moved.removed_assignments, 2);
    let mut left = moved.disabled_identities.clone();
    left.sort();
    let mut expected = vec![system.object_id, user.object_id];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(
        id.subscription(&sub.id.to_string())
            .await
            .unwrap()
            .tenant_id,
        other.id
    );
    assert!(
        id.check_access(other_admin.object_id, &scope, "x/read")
            .await
            .unwrap()
    );
    assert!(id.role_assignment(elsewhere.id).await.unwrap().is_some());
    let stale = id.principal(system.object_id).await.unwrap();
    assert!(!stale.enabled && stale.tenant_id == tenant.id);
    assert!(
        id.issue_token(&stale, "https://management.localhost/.default")
            .await
            .is_err()
    );

    // Switching the identity on again makes a new one in the new tenant.
    let fresh = id
        .ensure_system_assigned(other.id, &account, "a")
        .await
        .unwrap();
    assert_ne!(fresh.object_id, system.object_id);
    assert_eq!(fresh.tenant_id, other.id);
    assert!(matches!(fresh.kind, PrincipalKind::SystemAssigned { .. }));
    assert!(id.principal(system.object_id).await.is_err());
    let (recreated, created) = id.put_user_assigned(other.id, &uai, "u").await.unwrap();
    assert!(!created && recreated.tenant_id == other.id && recreated.object_id != user.object_id);

    // A repeated move changes nothing.
    let again = id
        .move_subscription(&sub.id.to_string(), other.id, other_admin.object_id)
        .await
        .unwrap();
    assert_eq!(again.removed_assignments, 0);
    assert!(again.disabled_identities.is_empty());
    assert!(id.principal(fresh.object_id).await.unwrap().enabled);
}
