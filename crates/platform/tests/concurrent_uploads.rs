//! Uploads racing on a fresh account, from two nodes over one store 5 ms away:
//! every upload succeeds, they agree on one key-encryption key, and every file reads back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use keyhold_platform::Platform;
use keyhold_store::{BlobStore, LocalBlobStore, RecordStore, RedbRecordStore};

async fn upload(platform: Arc<Platform>, n: usize) -> (Arc<Platform>, String, Vec<u8>) {
    let account = platform.account("acct").await.unwrap();
    let content = format!("upload #{n}").into_bytes();
    let mut upload = platform
        .begin_upload(&account, "n.txt", "assistants", u64::MAX)
        .await
        .unwrap();
    upload.write(&content).await.unwrap();
    let file = upload.finish().await.unwrap();
    (platform, file.id, content)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_uploads_all_succeed_under_one_kek() {
    let dir = tempfile::tempdir().unwrap();
    let records: Arc<dyn RecordStore> = Arc::new(common::DistantRecords {
        inner: RedbRecordStore::open(&dir.path().join("store.redb")).unwrap(),
        latency: Duration::from_millis(5),
    });
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(&dir.path().join("blobs")).unwrap());
    let nodes = [
        common::mmk_platform(records.clone(), blobs.clone()),
        common::mmk_platform(records, blobs),
    ];
    common::mmk_account(&nodes[0], "acct").await;
    let racing: Vec<_> = (0..16)
        .map(|n| tokio::spawn(upload(nodes[n % 2].clone(), n)))
        .collect();
    let mut done = Vec::new();
    for task in racing {
        done.push(task.await.expect("every racing upload succeeds"));
    }
    let account = nodes[0].account("acct").await.unwrap();
    let (first, _) = nodes[0].current_kek(&account).await.unwrap();
    let (second, _) = nodes[1].current_kek(&account).await.unwrap();
    assert_eq!(first, second, "the nodes agree on the current KEK");
    for (platform, id, content) in done {
        for reader in &nodes {
            let (_, mut file) = reader.open_content(&account, &id).await.unwrap();
            let mut read = Vec::new();
            while let Some(chunk) = file.next_chunk().await.unwrap() {
                read.extend_from_slice(&chunk);
            }
            assert_eq!(read, content, "written by one node, read by both");
        }
        drop(platform);
    }
}
