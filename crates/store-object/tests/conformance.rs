//! The blob conformance suite against real object stores started by the tests (s3s-fs for
//! S3, Azurite for Azure Blob), plus multipart uploads of large objects, a prefix shared by
//! two stores, and outages as retryable errors that end by themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyhold_store::conformance::blob_store_suite;
use keyhold_store::{BlobStore, StoreError};
use keyhold_store_object::testing::{AzuriteServer, S3Server};
use keyhold_store_object::{ObjectBlobStore, PART_SIZE};
use object_store::ObjectStore;
use tokio::io::AsyncReadExt;

async fn large_objects_and_prefixes(raw: Arc<dyn ObjectStore>) {
    // Three and a half parts: a multipart upload whose parts stay invisible until commit.
    let store = ObjectBlobStore::new(raw.clone(), "node-a").unwrap();
    let size = PART_SIZE * 3 + PART_SIZE / 2;
    let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
    let mut upload = store.begin_put("big/one").await.unwrap();
    for chunk in data.chunks(1 << 20) {
        upload.write(chunk).await.unwrap();
    }
    assert_eq!(
        store.head("big/one").await.unwrap(),
        None,
        "visible before commit"
    );
    assert_eq!(upload.commit().await.unwrap().size, size as u64);
    let mut reader = store.get("big/one").await.unwrap();
    assert_eq!(reader.size, size as u64);
    let mut back = Vec::new();
    reader.reader.read_to_end(&mut back).await.unwrap();
    assert!(back == data, "multipart round trip");

    // An aborted multipart upload leaves nothing.
    let mut upload = store.begin_put("big/aborted").await.unwrap();
    for chunk in data.chunks(1 << 20) {
        upload.write(chunk).await.unwrap();
    }
    upload.abort().await.unwrap();
    assert_eq!(store.head("big/aborted").await.unwrap(), None);

    // Another prefix in the same bucket sees none of it.
    let other = ObjectBlobStore::new(raw, "node-b").unwrap();
    assert!(other.list("big/", None, 10).await.unwrap().is_empty());
    assert_eq!(store.list("big/", None, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_blobs_pass_the_suite() {
    let server = S3Server::start();
    blob_store_suite(Arc::new(ObjectBlobStore::new(server.store(), "").unwrap())).await;
    large_objects_and_prefixes(server.store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_blobs_pass_the_suite() {
    let server = AzuriteServer::start().await;
    blob_store_suite(Arc::new(ObjectBlobStore::new(server.store(), "").unwrap())).await;
    large_objects_and_prefixes(server.store()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_retryable_and_service_resumes() {
    let mut server = S3Server::start();
    let store = ObjectBlobStore::new(server.store(), "").unwrap();
    let mut upload = store.begin_put("before").await.unwrap();
    upload.write(b"stored").await.unwrap();
    upload.commit().await.unwrap();

    server.peer.stop();
    let started = std::time::Instant::now();
    match store.head("before").await {
        Err(StoreError::Unavailable(message)) => {
            assert!(!message.contains("keyhold-secret"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let mut upload = store.begin_put("during").await.unwrap();
    upload.write(b"x").await.unwrap();
    assert!(matches!(
        upload.commit().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the outage took {:?} to report",
        started.elapsed()
    );

    server.peer.restart();
    assert_eq!(
        store.head("during").await.unwrap(),
        None,
        "nothing half-written"
    );
    let mut reader = store.get("before").await.unwrap();
    let mut back = Vec::new();
    reader.reader.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"stored");
}
