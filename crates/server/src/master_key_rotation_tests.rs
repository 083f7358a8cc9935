//! The rotation's decisions (which store states it accepts with which keys) and its recovery
//! from writes it did not expect (a node left running), over a real embedded store.

use std::collections::BTreeMap;
use std::sync::Arc;

use keyhold_crypto::{Aes256Key, Resealer, Sealer};
use keyhold_store::{Precondition, Record, RecordStore, RecordStoreExt, RedbRecordStore, encode};
use keyhold_vault::{CreateKey, VaultSpec, Vaults};

use crate::master_key::MasterKeyOrigin;
use crate::master_key_check::{
    CHECK_KEY, HISTORY_KEY, KeyHistory, ROTATION_KEY, RetiredKey, RotationPhase, RotationRecord,
    SYSTEM, check_value, retired_check, rotation_check,
};
use crate::master_key_rotation::{
    Observed, Reached, Rotation, RotationError, RotationProgress, RotationStep, RotationSummary,
    Standing, assess,
};
use crate::master_key_sites::CaKeyFile;

fn sealer(byte: u8) -> Sealer {
    Sealer::new(Aes256Key::from_bytes(&[byte; 32]).unwrap())
}

fn record(value: Vec<u8>) -> Option<Record> {
    Some(Record { version: 1, value })
}

fn rotation(old: &Sealer, new: &Sealer, phase: RotationPhase) -> Vec<u8> {
    encode(&RotationRecord {
        old_check: rotation_check(old).unwrap(),
        new_check: rotation_check(new).unwrap(),
        phase,
        started: 1,
    })
    .unwrap()
}

fn origin() -> MasterKeyOrigin {
    MasterKeyOrigin::ConfiguredFile("old.key".into())
}

#[test]
fn assess_accepts_only_the_keys_the_store_names() {
    let (old, new, third) = (sealer(1), sealer(2), sealer(3));
    let fresh = Observed {
        rotation: None,
        check: record(check_value(&old).unwrap()),
        history: None,
    };
    assert!(matches!(
        assess(&fresh, &old, Some(&new), &origin()),
        Ok(Standing::Fresh)
    ));
    assert!(matches!(
        assess(&fresh, &third, Some(&new), &origin()),
        Err(RotationError::OldKeyMismatch(_))
    ));
    let started = Observed {
        rotation: record(rotation(&old, &new, RotationPhase::Committed)),
        check: record(check_value(&new).unwrap()),
        history: None,
    };
    assert!(matches!(
        assess(&started, &old, Some(&new), &origin()),
        Ok(Standing::InProgress(r, 1)) if r.phase == RotationPhase::Committed
    ));
    assert!(matches!(
        assess(&started, &old, Some(&third), &origin()),
        Err(RotationError::OtherRotation)
    ));
    assert!(matches!(
        assess(&started, &third, Some(&new), &origin()),
        Err(RotationError::OldKeyMismatch(_))
    ));
    // --abort needs only the old key.
    assert!(assess(&started, &old, None, &origin()).is_ok());
    // Done: only a key the history retired counts as "already rotated".
    let history = KeyHistory {
        retired: vec![RetiredKey {
            check: retired_check(&old).unwrap(),
            retired: 5,
        }],
    };
    let done = Observed {
        rotation: None,
        check: record(check_value(&new).unwrap()),
        history: record(encode(&history).unwrap()),
    };
    assert!(matches!(
        assess(&done, &old, Some(&new), &origin()),
        Ok(Standing::AlreadyRotated)
    ));
    assert!(matches!(
        assess(&done, &third, Some(&new), &origin()),
        Err(RotationError::OldKeyMismatch(_))
    ));
    let no_check = Observed {
        rotation: None,
        check: None,
        history: None,
    };
    assert!(matches!(
        assess(&no_check, &old, Some(&new), &origin()),
        Err(RotationError::NoCheckRecord)
    ));
}

struct Quiet;
impl RotationProgress for Quiet {
    fn step(&self, _: RotationStep, _: u64) {}
    fn advance(&self, _: u64) {}
    fn durable_write(&self) {}
}

fn spec() -> VaultSpec {
    let tenant = uuid::Uuid::from_u128(1);
    VaultSpec {
        subscription_id: uuid::Uuid::from_u128(2),
        resource_group: "rg".into(),
        location: "westeurope".into(),
        tags: BTreeMap::new(),
        tenant_id: tenant,
        sku: "standard".into(),
        soft_delete_retention_days: Some(7),
        enable_soft_delete: None,
        purge_protection: Some(true),
        rbac_authorization: None,
        access_policies: None,
        network_acls: None,
        recover: false,
    }
}

/// A node that should have been stopped changes a record after it was prepared and creates
/// another: the apply step re-seals what the record holds now, the verify step finds the new
/// one, and both vaults open with the new key alone.
#[tokio::test]
async fn writes_made_during_the_rotation_are_resealed_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbRecordStore::open(&dir.path().join("store.redb")).unwrap();
    let records: Arc<dyn RecordStore> = Arc::new(store);
    let stale = Vaults::new(records.clone(), Arc::new(sealer(1)));
    stale.put_vault("kv1", spec()).await.unwrap();
    records
        .put(SYSTEM, CHECK_KEY, check_value(&sealer(1)).unwrap())
        .await
        .unwrap();
    let resealer = Resealer::new(sealer(1), sealer(2)).unwrap();
    let origin = origin();
    let mut rotation = Rotation {
        resealer: &resealer,
        origin: &origin,
        ca: CaKeyFile::new(&dir.path().join("tls")),
        batch: 1,
        progress: &Quiet,
        summary: RotationSummary::default(),
        now: 1,
    };
    put_rotation(records.as_ref(), RotationPhase::Preparing).await;
    rotation.prepare(records.as_ref()).await.unwrap();

    // The stray node: kv1 changes (still sealed under the old key), kv2 appears.
    let mut changed = spec();
    changed.tags.insert("late".into(), "write".into());
    stale.put_vault("kv1", changed).await.unwrap();
    stale.put_vault("kv2", spec()).await.unwrap();

    // The commit, as `advance` makes it.
    records
        .put(SYSTEM, CHECK_KEY, check_value(&sealer(2)).unwrap())
        .await
        .unwrap();
    put_rotation(records.as_ref(), RotationPhase::Committed).await;
    assert_eq!(
        rotation.advance(records.as_ref()).await.unwrap(),
        Reached::Verified
    );
    assert_eq!(rotation.summary.late, 2, "{:?}", rotation.summary);
    assert_eq!(rotation.summary.resealed.get("vault.vaults"), Some(&2));
    rotation.finish(records.as_ref()).await.unwrap();
    assert!(records.get(SYSTEM, ROTATION_KEY).await.unwrap().is_none());
    assert!(records.get(SYSTEM, HISTORY_KEY).await.unwrap().is_some());
    assert!(
        records
            .scan(crate::master_key_rotation::SHADOWS, "", None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let fresh = Vaults::new(records.clone(), Arc::new(sealer(2)));
    for name in ["kv1", "kv2"] {
        let vault = fresh.vault(name).await.unwrap();
        fresh
            .create_key(
                &vault,
                "k",
                CreateKey {
                    kty: "RSA".into(),
                    ..CreateKey::default()
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(
        fresh
            .vault("kv1")
            .await
            .unwrap()
            .tags
            .get("late")
            .map(String::as_str),
        Some("write")
    );
}

/// Writes the rotation record (of keys 1 to 2) in `phase`, whatever is there.
async fn put_rotation(records: &dyn RecordStore, phase: RotationPhase) {
    let version = records
        .get(SYSTEM, ROTATION_KEY)
        .await
        .unwrap()
        .map_or(Precondition::Absent, |r| Precondition::Version(r.version));
    let value = rotation(&sealer(1), &sealer(2), phase);
    records
        .commit(keyhold_store::Batch::new().put_if(SYSTEM, ROTATION_KEY, value, version))
        .await
        .unwrap();
}
