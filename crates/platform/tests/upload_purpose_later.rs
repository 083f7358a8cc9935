//! Uploads whose purpose arrives after the file (multipart parts in any order): the content
//! streams through encryption at once, the fine-tune validation runs on the way and counts only
//! for `fine-tune`, and an upload left without a valid purpose publishes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use keyhold_platform::PlatformError;
use keyhold_store::{BlobStore, LocalBlobStore, RecordStore, RedbRecordStore};

const GOOD: &[u8] = b"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n";
const BAD: &[u8] = b"{\"messages\":[{\"role\":\"user\",\"content\":\"no answer\"}]}\n";

#[tokio::test]
async fn purpose_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let records: Arc<dyn RecordStore> =
        Arc::new(RedbRecordStore::open(&dir.path().join("store.redb")).unwrap());
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(&dir.path().join("blobs")).unwrap());
    let platform = common::mmk_platform(records, blobs);
    common::mmk_account(&platform, "acct").await;
    let account = platform.account("acct").await.unwrap();

    // (content, purpose given afterwards, expected status) — the verdict is the purpose's.
    for (content, purpose, status) in [
        (GOOD, "fine-tune", "processed"),
        (BAD, "fine-tune", "error"),
        (BAD, "assistants", "processed"),
    ] {
        let mut upload = platform
            .begin_upload_without_purpose(&account, "t.jsonl", u64::MAX)
            .await
            .unwrap();
        // Written in small pieces, as a stream arrives.
        for piece in content.chunks(7) {
            upload.write(piece).await.unwrap();
        }
        upload.set_purpose(purpose).unwrap();
        let file = upload.finish().await.unwrap();
        assert_eq!(
            (file.purpose.as_str(), file.status.as_str()),
            (purpose, status)
        );
        let mut back = Vec::new();
        let (_, mut content_stream) = platform.open_content(&account, &file.id).await.unwrap();
        while let Some(chunk) = content_stream.next_chunk().await.unwrap() {
            back.extend_from_slice(&chunk);
        }
        assert_eq!(back, content);
    }
    let (before, _) = platform
        .list_files(&account, None, None, 100)
        .await
        .unwrap();

    // No purpose at all, or an invalid one: nothing is published.
    let mut upload = platform
        .begin_upload_without_purpose(&account, "t.jsonl", u64::MAX)
        .await
        .unwrap();
    upload.write(GOOD).await.unwrap();
    assert!(matches!(
        upload.finish().await,
        Err(PlatformError::InvalidUpload(m)) if m.contains("no purpose")
    ));
    let mut upload = platform
        .begin_upload_without_purpose(&account, "t.jsonl", u64::MAX)
        .await
        .unwrap();
    upload.write(GOOD).await.unwrap();
    assert!(upload.set_purpose("nonsense").is_err());
    upload.abort().await.unwrap();
    // A purpose given at the start cannot be replaced.
    let mut upload = platform
        .begin_upload(&account, "t.jsonl", "assistants", u64::MAX)
        .await
        .unwrap();
    assert!(upload.set_purpose("fine-tune").is_err());
    upload.abort().await.unwrap();
    let (after, _) = platform
        .list_files(&account, None, None, 100)
        .await
        .unwrap();
    assert_eq!(after.len(), before.len());
}
