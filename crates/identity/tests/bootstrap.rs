//! The first start on a shared store: nodes starting together make the defaults once, and a
//! claim left by a start that died midway is taken over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use keyhold_identity::model::BootstrapClaim;
use keyhold_identity::{BootstrapOutcome, Identity};
use keyhold_store::{Precondition, RecordStoreExt, RedbRecordStore};

fn node(records: Arc<RedbRecordStore>) -> Identity {
    common::identity_over(records, common::AUTHORITY)
}

fn tenant_of(outcome: &BootstrapOutcome) -> uuid::Uuid {
    match outcome {
        BootstrapOutcome::Created { tenant, .. } | BootstrapOutcome::Existing { tenant, .. } => {
            tenant.id
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_make_the_defaults_once() {
    let dir = tempfile::tempdir().unwrap();
    let records = Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let id = node(records.clone());
            tokio::spawn(async move { id.bootstrap().await.unwrap() })
        })
        .collect();
    let mut outcomes = Vec::new();
    for start in starts {
        outcomes.push(start.await.unwrap());
    }
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, BootstrapOutcome::Created { .. }))
        .count();
    assert_eq!(created, 1, "exactly one start makes the defaults");
    let first = tenant_of(&outcomes[0]);
    assert!(outcomes.iter().all(|o| tenant_of(o) == first));
    let tenants = node(records).list_tenants().await.unwrap();
    assert_eq!(tenants.len(), 1, "no second default tenant");
}

#[tokio::test]
async fn a_claim_abandoned_by_a_dead_start_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let records = Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let stale = BootstrapClaim {
        claimant: uuid::Uuid::new_v4(),
        claimed_at: Identity::now() - keyhold_identity::BOOTSTRAP_CLAIM_TAKEOVER.as_secs() - 1,
    };
    records
        .put_typed(
            "identity.meta",
            "bootstrap_claim",
            &stale,
            Precondition::Absent,
        )
        .await
        .unwrap();
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        node(records.clone()).bootstrap(),
    )
    .await
    .expect("a stale claim does not block the start")
    .unwrap();
    assert!(matches!(outcome, BootstrapOutcome::Created { .. }));
}

#[tokio::test]
async fn a_live_claim_makes_other_starts_wait() {
    let dir = tempfile::tempdir().unwrap();
    let records = Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let live = BootstrapClaim {
        claimant: uuid::Uuid::new_v4(),
        claimed_at: Identity::now(),
    };
    records
        .put_typed(
            "identity.meta",
            "bootstrap_claim",
            &live,
            Precondition::Absent,
        )
        .await
        .unwrap();
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        node(records.clone()).bootstrap(),
    )
    .await;
    assert!(
        waited.is_err(),
        "a start waits while another holds the claim"
    );
    assert!(node(records).list_tenants().await.unwrap().is_empty());
}
