//! The vault service over a real embedded store: lifecycle, scheduled rotation, expiry purges,
//! backup bound to its tenant, events, and the audit chain detecting every kind of tampering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use keyhold_crypto::{Aes256Key, Sealer};
use keyhold_store::{Batch, RecordStore, RecordStoreExt, RedbRecordStore};
use keyhold_vault::audit::{GENESIS, verify_chain};
use keyhold_vault::{
    AccessPolicy, AuditEntry, AuditEvent, AuditLog, CreateKey, KeyOperation, KeyPermission,
    OpRequest, OpResult, Permissions, RotationPolicy, VaultError, VaultEvent, VaultSpec, Vaults,
};
use uuid::Uuid;

const DAY: u64 = 86_400;

fn setup() -> (tempfile::TempDir, Arc<dyn RecordStore>, Vaults) {
    let dir = tempfile::tempdir().unwrap();
    let records: Arc<dyn RecordStore> =
        Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let sealer = Arc::new(Sealer::new(Aes256Key::from_bytes(&[7u8; 32]).unwrap()));
    let vaults = Vaults::new(records.clone(), sealer);
    (dir, records, vaults)
}

fn spec(tenant: Uuid, purge_protection: bool) -> VaultSpec {
    VaultSpec {
        subscription_id: Uuid::from_u128(1),
        resource_group: "rg".into(),
        location: "westeurope".into(),
        tags: BTreeMap::new(),
        tenant_id: tenant,
        sku: "standard".into(),
        soft_delete_retention_days: Some(7),
        enable_soft_delete: None,
        purge_protection: Some(purge_protection),
        rbac_authorization: None,
        access_policies: Some(vec![AccessPolicy {
            tenant_id: tenant,
            object_id: Uuid::from_u128(9).to_string(),
            application_id: None,
            permissions: Permissions {
                keys: vec!["get".into(), "WRAPKEY".into()],
                ..Permissions::default()
            },
        }]),
        network_acls: None,
        recover: false,
    }
}

fn rsa() -> CreateKey {
    CreateKey {
        kty: "RSA".into(),
        ..CreateKey::default()
    }
}

#[tokio::test]
async fn lifecycle_events_and_policies() {
    let (_dir, _records, vaults) = setup();
    let tenant = Uuid::from_u128(5);
    let mut events = vaults.subscribe();
    let (vault, created) = vaults.put_vault("kv1", spec(tenant, false)).await.unwrap();
    assert!(created);
    assert!(keyhold_vault::policy_allows(
        &vault,
        tenant,
        Uuid::from_u128(9),
        KeyPermission::WrapKey
    ));
    assert!(!keyhold_vault::policy_allows(
        &vault,
        tenant,
        Uuid::from_u128(9),
        KeyPermission::UnwrapKey
    ));

    let v1 = vaults.create_key(&vault, "k1", rsa()).await.unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        VaultEvent::KeyChanged {
            vault: "kv1".into(),
            key: "k1".into()
        }
    );
    let request = OpRequest::new(
        KeyOperation::WrapKey,
        "RSA-OAEP-256",
        b"0123456789abcdef0123456789abcdef",
    );
    let (_, OpResult::Bytes(wrapped)) = vaults
        .key_operation(&vault, "k1", None, request)
        .await
        .unwrap()
    else {
        panic!("bytes expected")
    };
    let unwrap = OpRequest {
        operation: KeyOperation::UnwrapKey,
        value: &wrapped,
        ..request
    };
    let (_, plain) = vaults
        .key_operation(&vault, "k1", Some(&v1.version), unwrap)
        .await
        .unwrap();
    assert_eq!(plain, OpResult::Bytes(request.value.to_vec()));

    // Delete: the name is held; purge destroys every version.
    vaults.delete_key(&vault, "k1").await.unwrap();
    assert!(matches!(
        vaults.create_key(&vault, "K1", rsa()).await,
        Err(VaultError::DeletedButRecoverable(_))
    ));
    assert!(matches!(
        vaults.key_operation(&vault, "k1", None, unwrap).await,
        Err(VaultError::KeyNotFound(_))
    ));
    vaults.recover_key(&vault, "k1").await.unwrap();
    vaults.delete_key(&vault, "k1").await.unwrap();
    vaults.purge_key(&vault, "k1").await.unwrap();
    assert!(matches!(
        vaults.deleted_key(&vault, "k1").await,
        Err(VaultError::DeletedKeyNotFound(_))
    ));

    // Vault names are global.
    let mut other = spec(tenant, false);
    other.resource_group = "rg2".into();
    assert!(matches!(
        vaults.put_vault("KV1", other).await,
        Err(VaultError::VaultAlreadyExists(_))
    ));
    assert!(matches!(
        vaults.put_vault("9bad", spec(tenant, false)).await,
        Err(VaultError::BadParameter(_))
    ));
}

#[tokio::test]
async fn scheduled_rotation_and_expiry_purge() {
    let (_dir, _records, vaults) = setup();
    let tenant = Uuid::from_u128(5);
    let (vault, _) = vaults.put_vault("kv2", spec(tenant, true)).await.unwrap();
    let v1 = vaults.create_key(&vault, "rotating", rsa()).await.unwrap();
    let policy = RotationPolicy::from_wire(&serde_json::json!({
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Rotate"}}],
        "attributes": {"expiryTime": "P90D"}
    }))
    .unwrap();
    vaults
        .set_rotation_policy(&vault, "rotating", policy)
        .await
        .unwrap();
    let now = Vaults::now();
    assert!(
        vaults
            .maintain(now + 29 * DAY)
            .await
            .unwrap()
            .rotated
            .is_empty()
    );
    let report = vaults.maintain(now + 31 * DAY).await.unwrap();
    assert_eq!(report.rotated.len(), 1);
    let v2 = vaults.get_key(&vault, "rotating", None).await.unwrap();
    assert_ne!(v2.version, v1.version);
    assert!(
        v2.attributes.exp.is_some(),
        "expiryTime applies to new versions"
    );
    // The new version is fresh: nothing due right after.
    assert!(
        vaults
            .maintain(Vaults::now())
            .await
            .unwrap()
            .rotated
            .is_empty()
    );

    // Purge protection refuses an early purge; the retention period ends it.
    vaults.delete_key(&vault, "rotating").await.unwrap();
    assert!(matches!(
        vaults.purge_key(&vault, "rotating").await,
        Err(VaultError::PurgeProtected(_))
    ));
    assert!(
        vaults
            .maintain(now + DAY)
            .await
            .unwrap()
            .purged_keys
            .is_empty()
    );
    let report = vaults.maintain(now + 8 * DAY).await.unwrap();
    assert_eq!(report.purged_keys, vec!["kv2/rotating".to_owned()]);

    vaults.delete_vault("kv2").await.unwrap();
    assert!(matches!(
        vaults.purge_vault("kv2").await,
        Err(VaultError::PurgeProtected(_))
    ));
    let report = vaults.maintain(now + 8 * DAY).await.unwrap();
    assert_eq!(report.purged_vaults, vec!["kv2".to_owned()]);
}

#[tokio::test]
async fn backups_restore_only_in_the_same_tenant() {
    let (_dir, _records, vaults) = setup();
    let (a, _) = vaults
        .put_vault("kv-a", spec(Uuid::from_u128(1), false))
        .await
        .unwrap();
    let (b, _) = vaults
        .put_vault("kv-b", spec(Uuid::from_u128(1), false))
        .await
        .unwrap();
    let (c, _) = vaults
        .put_vault("kv-c", spec(Uuid::from_u128(2), false))
        .await
        .unwrap();
    let key = vaults.create_key(&a, "portable", rsa()).await.unwrap();
    let blob = vaults.backup_key(&a, "portable").await.unwrap();
    assert!(matches!(
        vaults.restore_key(&c, &blob).await,
        Err(VaultError::BadParameter(_))
    ));
    let restored = vaults.restore_key(&b, &blob).await.unwrap();
    assert_eq!(restored.n, key.n);
    let mut tampered = blob.into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert!(vaults.restore_key(&c, &tampered).await.is_err());
}

fn event(n: u64) -> AuditEvent {
    AuditEvent {
        caller: Uuid::from_u128(u128::from(n)).to_string(),
        operation: "KeyUnwrap".into(),
        vault: Some("kv".into()),
        key: Some("k".into()),
        version: Some("v".into()),
        result: "200".into(),
        client_ip: Some("127.0.0.1".into()),
    }
}

#[tokio::test]
async fn batched_audit_entries_are_committed_in_order_before_a_later_durable_one() {
    let (_dir, records, _vaults) = setup();
    let log = AuditLog::start(records.clone());
    for n in 0..100 {
        log.append_batched(event(n));
    }
    // Nobody waited for those; the next durable entry comes after all of them in the chain.
    let last = log.append(event(100)).await.unwrap();
    assert_eq!(last, 101);
    let (entries, _) = log.entries(0, 1000).await.unwrap();
    assert_eq!(entries.len(), 101);
    assert_eq!(verify_chain(&entries, 0, GENESIS).unwrap().0, 101);
    // Batched entries alone are committed too, within the linger.
    log.append_batched(event(101));
    let mut committed = 0;
    for _ in 0..100 {
        committed = log.head().await.unwrap().0;
        if committed == 102 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(committed, 102);
}

#[tokio::test]
async fn audit_chain_detects_edits_removals_and_reordering() {
    let (_dir, records, _vaults) = setup();
    let log = AuditLog::start(records.clone());
    // Concurrent appends, so the writer groups them into shared commits.
    let appends = (0..50).map(|n| log.append(event(n)));
    let mut seqs: Vec<u64> = futures::future::join_all(appends)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<u64>>());
    let (entries, more) = log.entries(0, 1000).await.unwrap();
    assert!(!more);
    assert_eq!(verify_chain(&entries, 0, GENESIS).unwrap().0, 50);
    assert_eq!(log.head().await.unwrap().0, 50);

    // Edit one field of entry 20.
    let mut edited = entries.clone();
    edited[19].event.result = "403".into();
    assert_eq!(verify_chain(&edited, 0, GENESIS).unwrap_err().seq, 20);
    // Remove entry 31.
    let mut removed = entries.clone();
    removed.remove(30);
    assert_eq!(verify_chain(&removed, 0, GENESIS).unwrap_err().seq, 31);
    // Swap two entries.
    let mut swapped = entries.clone();
    swapped.swap(9, 10);
    assert_eq!(verify_chain(&swapped, 0, GENESIS).unwrap_err().seq, 10);
    // Rewrite an entry in the store itself (recomputing its own hash does not help).
    let groups = records.scan_all("audit.entries", "", 1000).await.unwrap();
    let (key, mut group) = groups
        .into_iter()
        .map(|(k, r)| {
            (
                k,
                serde_json::from_slice::<Vec<AuditEntry>>(&r.value).unwrap(),
            )
        })
        .find(|(_, g)| g.iter().any(|e| e.seq == 5))
        .unwrap();
    let forged = group.iter_mut().find(|e| e.seq == 5).unwrap();
    forged.event.caller = "someone-else".into();
    forged.hash = keyhold_vault::audit::entry_hash(forged);
    records
        .commit(Batch::new().put("audit.entries", &key, serde_json::to_vec(&group).unwrap()))
        .await
        .unwrap();
    let (entries, _) = log.entries(0, 1000).await.unwrap();
    assert_eq!(verify_chain(&entries, 0, GENESIS).unwrap_err().seq, 6);
    // Verification can resume from a known (seq, hash).
    let tail = &entries[10..];
    assert!(verify_chain(tail, 10, &entries[9].hash).is_ok());
    // Paging by sequence number works inside and across groups.
    let (later, _) = log.entries(45, 1000).await.unwrap();
    assert_eq!(
        later.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![46, 47, 48, 49, 50]
    );
}

#[tokio::test]
async fn every_key_type_survives_backup_restore_and_hsm_protection() {
    let (_dir, records, vaults) = setup();
    let tenant = Uuid::from_u128(1);
    let (a, _) = vaults.put_vault("kv-x", spec(tenant, false)).await.unwrap();
    let (b, _) = vaults.put_vault("kv-y", spec(tenant, false)).await.unwrap();
    let kinds = [
        ("rsa-hsm", "RSA-HSM", None, Some(3072)),
        ("ec", "EC", Some("P-384"), None),
        ("ec-hsm", "EC-HSM", Some("P-521"), None),
        ("oct", "oct-HSM", None, Some(256)),
    ];
    for (name, kty, crv, size) in kinds {
        let created = vaults
            .create_key(
                &a,
                name,
                CreateKey {
                    kty: kty.into(),
                    crv: crv.map(Into::into),
                    key_size: size,
                    ..CreateKey::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(created.kty, kty);
        let blob = vaults.backup_key(&a, name).await.unwrap();
        let restored = vaults.restore_key(&b, &blob).await.unwrap();
        assert_eq!(
            (restored.n.clone(), restored.x.clone()),
            (created.n.clone(), created.x.clone())
        );
        // The restored key works in its new vault and matches the original.
        let (op, alg, input): (KeyOperation, &str, Vec<u8>) = match kty {
            "RSA-HSM" => (KeyOperation::WrapKey, "RSA-OAEP-256", vec![7u8; 32]),
            "oct-HSM" => (KeyOperation::WrapKey, "A256KW", vec![7u8; 32]),
            "EC" => (KeyOperation::Sign, "ES384", vec![1u8; 48]),
            _ => (KeyOperation::Sign, "ES512", vec![1u8; 64]),
        };
        let (_, out) = vaults
            .key_operation(&b, name, None, OpRequest::new(op, alg, &input))
            .await
            .unwrap();
        let OpResult::Bytes(out) = out else { panic!() };
        let back = match op {
            KeyOperation::WrapKey => {
                vaults
                    .key_operation(
                        &a,
                        name,
                        None,
                        OpRequest::new(KeyOperation::UnwrapKey, alg, &out),
                    )
                    .await
                    .unwrap()
                    .1
            }
            _ => {
                vaults
                    .key_operation(
                        &a,
                        name,
                        None,
                        OpRequest {
                            signature: Some(&out),
                            ..OpRequest::new(KeyOperation::Verify, alg, &input)
                        },
                    )
                    .await
                    .unwrap()
                    .1
            }
        };
        match back {
            OpResult::Bytes(plain) => assert_eq!(plain, input),
            OpResult::Verified(valid) => assert!(valid),
            OpResult::Sealed { .. } => panic!("unexpected"),
        }
    }
    // EC keys cannot wrap; RSA sizes and curves are checked.
    let bad = [
        CreateKey {
            kty: "EC".into(),
            key_ops: Some(vec!["wrapKey".into()]),
            ..CreateKey::default()
        },
        CreateKey {
            kty: "EC".into(),
            crv: Some("P-192".into()),
            ..CreateKey::default()
        },
        CreateKey {
            kty: "RSA".into(),
            key_size: Some(1024),
            ..CreateKey::default()
        },
        CreateKey {
            kty: "oct".into(),
            ..CreateKey::default()
        },
    ];
    for request in bad {
        assert!(matches!(
            vaults.create_key(&a, "refused", request).await,
            Err(VaultError::BadParameter(_))
        ));
    }
    // HSM-protected material is sealed bound to its version: moving one version's stored
    // material onto another key makes that key unusable, never interchangeable.
    let versions = records
        .scan_all("vault.key_versions", "kv-x/", 100)
        .await
        .unwrap();
    let find = |prefix: &str| {
        versions
            .iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(k, r)| {
                (
                    k.clone(),
                    keyhold_store::decode::<keyhold_vault::KeyVersion>(&r.value).unwrap(),
                )
            })
            .unwrap()
    };
    let (ec_key, mut ec_record) = find("kv-x/ec-hsm/");
    let (_, oct_record) = find("kv-x/oct/");
    ec_record.sealed = oct_record.sealed.clone();
    records
        .commit(Batch::new().put(
            "vault.key_versions",
            &ec_key,
            keyhold_store::encode(&ec_record).unwrap(),
        ))
        .await
        .unwrap();
    let fresh = Vaults::new(
        records.clone(),
        Arc::new(Sealer::new(Aes256Key::from_bytes(&[7u8; 32]).unwrap())),
    );
    let a = fresh.vault("kv-x").await.unwrap();
    assert!(
        fresh
            .key_operation(
                &a,
                "ec-hsm",
                None,
                OpRequest::new(KeyOperation::Sign, "ES512", &[1u8; 64])
            )
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_rotation_is_made_once_by_nodes_sharing_a_store() {
    let (_dir, records, first) = setup();
    let master = Arc::new(Sealer::new(Aes256Key::from_bytes(&[7u8; 32]).unwrap()));
    let nodes: Vec<Arc<Vaults>> = (0..3)
        .map(|_| Arc::new(Vaults::new(records.clone(), master.clone())))
        .collect();
    let tenant = Uuid::from_u128(9);
    let (vault, _) = first
        .put_vault("kv-shared", spec(tenant, true))
        .await
        .unwrap();
    first.create_key(&vault, "rotating", rsa()).await.unwrap();
    let policy = RotationPolicy::from_wire(&serde_json::json!({
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Rotate"}}]
    }))
    .unwrap();
    first
        .set_rotation_policy(&vault, "rotating", policy)
        .await
        .unwrap();
    let later = Vaults::now() + 31 * DAY;
    let passes: Vec<_> = nodes
        .iter()
        .chain(std::iter::once(&Arc::new(first)))
        .map(|node| {
            let node = node.clone();
            tokio::spawn(async move { node.maintain(later).await.unwrap().rotated.len() })
        })
        .collect();
    let mut total = 0;
    for pass in passes {
        total += pass.await.unwrap();
    }
    // With simulated time a version made in this pass can be due as well, so a node that
    // scans later may rotate again; what must never happen is two nodes replacing the *same*
    // version. Each rotation holds the one claim of the version it replaced.
    let claims = |records: Arc<dyn RecordStore>| async move {
        records
            .scan_all("vault.rotation_claims", "kv-shared/rotating/", 1000)
            .await
            .unwrap()
            .len()
    };
    assert!(total >= 1);
    assert_eq!(
        claims(records.clone()).await,
        total,
        "a version was replaced twice"
    );
    let (versions, _) = nodes[0]
        .list_versions(&vault, "rotating", None, 25)
        .await
        .unwrap();
    assert_eq!(versions.len(), 1 + total);

    // An expired soft-deleted key: every node's pass succeeds, one of them purges it.
    nodes[0].create_key(&vault, "gone", rsa()).await.unwrap();
    nodes[0].delete_key(&vault, "gone").await.unwrap();
    let much_later = later + 100 * DAY;
    let passes: Vec<_> = nodes
        .iter()
        .map(|node| {
            let node = node.clone();
            tokio::spawn(async move { node.maintain(much_later).await.unwrap() })
        })
        .collect();
    let (mut rotated, mut purged) = (total, 0);
    for pass in passes {
        let report = pass.await.unwrap();
        rotated += report.rotated.len();
        purged += report.purged_keys.len();
    }
    assert_eq!(purged, 1);
    assert_eq!(
        claims(records.clone()).await,
        rotated,
        "a version was replaced twice"
    );
}

/// Re-seals every record of the vault namespaces, as `keyhold master-key rotate` does; returns
/// how many changed.
async fn reseal_all(records: &Arc<dyn RecordStore>, resealer: &keyhold_crypto::Resealer) -> usize {
    let mut changed = 0;
    for namespace in keyhold_vault::reseal::MASTER_SEALED_NAMESPACES {
        for (key, record) in records.scan_all(namespace, "", 100_000).await.unwrap() {
            if let Some(value) =
                keyhold_vault::reseal::reseal_record(namespace, &key, &record.value, resealer, 1)
                    .unwrap()
            {
                records
                    .commit(Batch::new().put_if(
                        namespace,
                        &key,
                        value,
                        keyhold_store::Precondition::Version(record.version),
                    ))
                    .await
                    .unwrap();
                changed += 1;
            }
        }
    }
    changed
}

#[tokio::test]
async fn a_master_key_rotation_keeps_keys_and_backups() {
    let (_dir, records, vaults) = setup();
    let tenant = Uuid::from_u128(1);
    let (a, _) = vaults
        .put_vault("kv-rot", spec(tenant, false))
        .await
        .unwrap();
    let (gone, _) = vaults
        .put_vault("kv-gone", spec(tenant, false))
        .await
        .unwrap();
    vaults.create_key(&a, "soft", rsa()).await.unwrap();
    let hsm = vaults
        .create_key(
            &a,
            "hard",
            CreateKey {
                kty: "RSA-HSM".into(),
                ..CreateKey::default()
            },
        )
        .await
        .unwrap();
    let before = vaults.backup_key(&a, "hard").await.unwrap();
    vaults.delete_vault(&gone.name).await.unwrap();
    let wrap = OpRequest::new(KeyOperation::WrapKey, "RSA-OAEP-256", b"0123456789abcdef");
    let (_, OpResult::Bytes(wrapped)) = vaults.key_operation(&a, "hard", None, wrap).await.unwrap()
    else {
        panic!("bytes expected")
    };

    let old = || Sealer::new(Aes256Key::from_bytes(&[7u8; 32]).unwrap());
    let new = || Sealer::new(Aes256Key::from_bytes(&[8u8; 32]).unwrap());
    let resealer = keyhold_crypto::Resealer::new(old(), new()).unwrap();
    // One live vault key, one deleted vault's, the HSM version and the backup keyring; the
    // software key's material is under its vault key and stays as it is.
    assert_eq!(reseal_all(&records, &resealer).await, 4);
    assert_eq!(
        reseal_all(&records, &resealer).await,
        0,
        "a second run finds nothing"
    );

    let rotated = Vaults::new(records.clone(), Arc::new(new()));
    let a = rotated.vault("kv-rot").await.unwrap();
    let unwrap = OpRequest {
        operation: KeyOperation::UnwrapKey,
        value: &wrapped,
        ..wrap
    };
    let (_, plain) = rotated
        .key_operation(&a, "hard", None, unwrap)
        .await
        .unwrap();
    assert_eq!(plain, OpResult::Bytes(b"0123456789abcdef".to_vec()));
    let sign = OpRequest::new(KeyOperation::Sign, "RS256", &[3u8; 32]);
    rotated.key_operation(&a, "soft", None, sign).await.unwrap();
    let mut recover = spec(tenant, false);
    recover.recover = true;
    let (gone, _) = rotated.put_vault("kv-gone", recover).await.unwrap();
    rotated.create_key(&gone, "later", rsa()).await.unwrap();

    // The backup taken before the rotation restores; one taken after uses a fresh backup key.
    let (b, _) = rotated
        .put_vault("kv-rot2", spec(tenant, false))
        .await
        .unwrap();
    let restored = rotated.restore_key(&b, &before).await.unwrap();
    assert_eq!(restored.n, hsm.n);
    let after = rotated.backup_key(&a, "hard").await.unwrap();
    let id = |blob: &str| {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(blob)
            .unwrap();
        Sealer::sealed_key_id(&raw).unwrap()
    };
    assert_ne!(
        id(&before),
        id(&after),
        "a fresh backup key after the rotation"
    );
    let (c, _) = rotated
        .put_vault("kv-rot3", spec(tenant, false))
        .await
        .unwrap();
    rotated.restore_key(&c, &after).await.unwrap();

    // The old master key opens nothing any more.
    let stale = Vaults::new(records.clone(), Arc::new(old()));
    let a = stale.vault("kv-rot").await.unwrap();
    assert!(stale.key_operation(&a, "soft", None, sign).await.is_err());
    assert!(stale.key_operation(&a, "hard", None, unwrap).await.is_err());
    let (d, _) = stale
        .put_vault("kv-rot4", spec(tenant, false))
        .await
        .unwrap();
    assert!(stale.restore_key(&d, &before).await.is_err());
}
