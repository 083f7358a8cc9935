//! The conformance suite against the embedded engine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyhold_store::conformance::{blob_store_suite, record_store_suite};
use keyhold_store::{
    EmbeddedStore, LocalBlobStore, RedbRecordStore, SHARED_TMP_MAX_IDLE, StoreError,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    record_store_suite(store.records).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    blob_store_suite(store.blobs).await;
}

#[test]
fn corrupted_store_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = RedbRecordStore::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("store.redb"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        vec![0x5a; 8192],
        "left as it was"
    );
}

#[test]
fn read_only_get_changes_nothing() {
    use keyhold_store::RecordStoreExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = RedbRecordStore::open(&path).unwrap();
        store.put("t.ro", "k", b"v".to_vec()).await.unwrap();
    });
    let before = std::fs::read(&path).unwrap();
    let rec = RedbRecordStore::read_only_get(&path, "t.ro", "k")
        .unwrap()
        .unwrap();
    assert_eq!(rec.value, b"v");
    assert_eq!(
        RedbRecordStore::read_only_get(&path, "t.ro", "absent").unwrap(),
        None
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    std::fs::write(&path, vec![1u8; 4096]).unwrap();
    assert!(matches!(
        RedbRecordStore::read_only_get(&path, "t.ro", "k"),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn second_open_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let _first = RedbRecordStore::open(&path).unwrap();
    let err = RedbRecordStore::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[test]
fn values_survive_reopen() {
    use keyhold_store::RecordStoreExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Arc::new(RedbRecordStore::open(&path).unwrap());
        store.put("t.reopen", "k", b"v".to_vec()).await.unwrap();
    });
    rt.block_on(async {
        let store = RedbRecordStore::open(&path).unwrap();
        let rec = keyhold_store::RecordStore::get(&store, "t.reopen", "k")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.value, b"v");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_blob_directories_pass_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    blob_store_suite(Arc::new(LocalBlobStore::open_shared(dir.path()).unwrap())).await;
}

#[test]
fn a_shared_directory_keeps_other_nodes_uploads_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    LocalBlobStore::open(dir.path()).unwrap();
    let tmp = dir.path().join("tmp");
    let live = tmp.join("live-upload");
    let dead = tmp.join("dead-upload");
    std::fs::write(&live, b"being written by another node").unwrap();
    std::fs::write(&dead, b"left by a node killed long ago").unwrap();
    let long_ago = std::time::SystemTime::now() - SHARED_TMP_MAX_IDLE * 2;
    std::fs::File::options()
        .write(true)
        .open(&dead)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    LocalBlobStore::open_shared(dir.path()).unwrap();
    assert!(live.exists(), "a recent upload of another node was deleted");
    assert!(!dead.exists(), "an abandoned upload was kept");

    // A node that owns its directory sweeps every temp file.
    LocalBlobStore::open(dir.path()).unwrap();
    assert!(!live.exists());
}

#[test]
fn copy_to_keeps_every_record_and_version_and_no_replaced_value() {
    use keyhold_store::{Batch, RecordStore, RecordStoreExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let copy = dir.path().join("copy.redb");
    std::fs::write(&copy, b"left by a copy cut short").unwrap();
    let old = |i: u32| format!("OLD-SEALED-{i:04}-").repeat(20).into_bytes();
    let new = |i: u32| format!("NEW-SEALED-{i:04}-").repeat(20).into_bytes();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = RedbRecordStore::open(&path).unwrap();
        // What a rotation does: values replaced one by one among many others, and enough
        // records for several copy transactions.
        for i in 0..200 {
            store
                .put("t.secret", &format!("s{i:04}"), old(i))
                .await
                .unwrap();
        }
        for chunk in (0..25_000u32).collect::<Vec<_>>().chunks(1000) {
            let mut batch = Batch::new();
            for i in chunk {
                batch = batch.put("t.copy", &format!("k{i:05}"), i.to_be_bytes().to_vec());
            }
            store.commit(batch).await.unwrap();
        }
        for i in 0..200 {
            store
                .put("t.secret", &format!("s{i:04}"), new(i))
                .await
                .unwrap();
        }
        let copied = store.copy_to(&copy).await.unwrap();
        assert_eq!(copied, 25_200);
    });
    let needle = b"OLD-SEALED-";
    let holds_old = |p: &std::path::Path| {
        std::fs::read(p)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
    };
    assert!(
        holds_old(&path),
        "redb keeps replaced values in freed pages (what copy_to is for)"
    );
    assert!(!holds_old(&copy), "the copy holds no replaced value");
    rt.block_on(async {
        let store = RedbRecordStore::open(&copy).unwrap();
        for i in 0..200 {
            let secret = store
                .get("t.secret", &format!("s{i:04}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((secret.version, secret.value), (2, new(i)));
        }
        let all = store.scan_all("t.copy", "", 100_000).await.unwrap();
        assert_eq!(all.len(), 25_000);
        assert!(all.iter().enumerate().all(|(i, (k, r))| {
            *k == format!("k{i:05}") && r.version == 1 && r.value == (i as u32).to_be_bytes()
        }));
    });
}

#[test]
fn read_only_get_reads_a_store_left_by_a_crash_without_repairing_it() {
    use keyhold_store::{RecordStore, RecordStoreExt};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let crashed = dir.path().join("crashed.redb");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = RedbRecordStore::open(&path).unwrap();
        for i in 0..300 {
            store
                .put("t.crash", &format!("k{i:03}"), vec![i as u8; 500])
                .await
                .unwrap();
        }
        store
            .put("t.crash", "k007", b"replaced".to_vec())
            .await
            .unwrap();
        // Never closed: the file stays marked as needing repair, as after a SIGKILL.
        std::fs::copy(&path, &crashed).unwrap();
        std::mem::forget(store);
    });
    assert!(
        matches!(
            redb::ReadOnlyDatabase::open(&crashed),
            Err(redb::DatabaseError::RepairAborted)
        ),
        "the copy needs repair"
    );
    let before = std::fs::read(&crashed).unwrap();
    let found = RedbRecordStore::read_only_get(&crashed, "t.crash", "k007")
        .unwrap()
        .unwrap();
    assert_eq!((found.version, found.value), (2, b"replaced".to_vec()));
    let other = RedbRecordStore::read_only_get(&crashed, "t.crash", "k299")
        .unwrap()
        .unwrap();
    assert_eq!(other.value, vec![43u8; 500]);
    assert_eq!(
        RedbRecordStore::read_only_get(&crashed, "t.crash", "absent").unwrap(),
        None
    );
    assert_eq!(
        std::fs::read(&crashed).unwrap(),
        before,
        "the file is untouched"
    );
    rt.block_on(async {
        let store = RedbRecordStore::open(&crashed).unwrap();
        assert_eq!(
            store.get("t.crash", "k007").await.unwrap().unwrap().value,
            b"replaced"
        );
    });
}
