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
