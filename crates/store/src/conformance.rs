//! The conformance suite every engine must pass. Each function panics with a message naming the
//! broken rule. Engines call it from their own tests with a fresh, empty store.
// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use tokio::io::AsyncReadExt;

use crate::blob::BlobStore;
use crate::error::StoreError;
use crate::ext::RecordStoreExt;
use crate::record::{Batch, MAX_KEY_LEN, Precondition, RecordStore};

/// Runs every record rule against an empty store.
pub async fn record_store_suite(store: Arc<dyn RecordStore>) {
    versions_and_preconditions(store.as_ref()).await;
    failed_batches_apply_nothing(store.as_ref()).await;
    scans_and_paging(store.as_ref()).await;
    validation(store.as_ref()).await;
    concurrent_cas(store.clone()).await;
}

async fn versions_and_preconditions(s: &dyn RecordStore) {
    assert_eq!(s.get("t.basic", "a").await.unwrap(), None, "empty store");
    assert_eq!(
        s.put("t.basic", "a", b"1".to_vec()).await.unwrap(),
        1,
        "create = v1"
    );
    assert_eq!(
        s.put("t.basic", "a", b"2".to_vec()).await.unwrap(),
        2,
        "write = +1"
    );
    let rec = s.get("t.basic", "a").await.unwrap().unwrap();
    assert_eq!((rec.version, rec.value.as_slice()), (2, b"2".as_slice()));

    let conflict = s.put_if_absent("t.basic", "a", b"x".to_vec()).await;
    assert!(
        matches!(
            conflict,
            Err(StoreError::Conflict {
                actual: Some(2),
                ..
            })
        ),
        "put_if_absent on an existing record conflicts: {conflict:?}"
    );
    assert!(matches!(
        s.compare_and_swap("t.basic", "a", 1, b"x".to_vec()).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        s.compare_and_swap("t.basic", "a", 2, b"3".to_vec())
            .await
            .unwrap(),
        3
    );
    assert!(matches!(
        s.put_with("t.basic", "missing", b"x".to_vec(), Precondition::Exists)
            .await,
        Err(StoreError::Conflict { actual: None, .. })
    ));
    assert!(matches!(
        s.delete_if_version("t.basic", "a", 2).await,
        Err(StoreError::Conflict { .. })
    ));
    s.delete_if_version("t.basic", "a", 3).await.unwrap();
    assert_eq!(s.get("t.basic", "a").await.unwrap(), None, "deleted");
    s.delete("t.basic", "a").await.unwrap(); // deleting an absent record is fine
    assert_eq!(
        s.put("t.basic", "a", vec![]).await.unwrap(),
        1,
        "re-create starts at 1"
    );
    assert_eq!(
        s.get("t.basic", "a").await.unwrap().unwrap().value,
        Vec::<u8>::new()
    );

    // Namespaces are isolated.
    assert_eq!(s.get("t.other", "a").await.unwrap(), None);
    let empty = s.commit(Batch::new()).await.unwrap();
    assert!(empty.versions.is_empty());
}

async fn failed_batches_apply_nothing(s: &dyn RecordStore) {
    s.put("t.batch", "existing", b"e".to_vec()).await.unwrap();
    let batch = Batch::new()
        .put("t.batch", "new1", b"1".to_vec())
        .put("t.batch2", "new2", b"2".to_vec())
        .delete("t.batch", "existing")
        .check("t.batch", "existing", Precondition::Version(99));
    assert!(matches!(
        s.commit(batch).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(
        s.get("t.batch", "new1").await.unwrap(),
        None,
        "no partial batch"
    );
    assert_eq!(
        s.get("t.batch2", "new2").await.unwrap(),
        None,
        "no partial batch"
    );
    assert!(
        s.get("t.batch", "existing").await.unwrap().is_some(),
        "no partial delete"
    );

    let ok = Batch::new()
        .put("t.batch", "new1", b"1".to_vec())
        .put_if("t.batch2", "new2", b"2".to_vec(), Precondition::Absent)
        .delete_if("t.batch", "existing", Precondition::Version(1))
        .check("t.batch", "new1", Precondition::Any);
    let committed = s.commit(ok).await.unwrap();
    assert_eq!(committed.versions, vec![Some(1), Some(1), None, None]);
    assert_eq!(s.get("t.batch", "existing").await.unwrap(), None);
    // Two writes of the same key in one batch see each other.
    let twice = Batch::new().put("t.batch", "k", b"a".to_vec()).put_if(
        "t.batch",
        "k",
        b"b".to_vec(),
        Precondition::Version(1),
    );
    assert_eq!(
        s.commit(twice).await.unwrap().versions,
        vec![Some(1), Some(2)]
    );
}

async fn scans_and_paging(s: &dyn RecordStore) {
    let keys = ["a/1", "a/2", "a/10", "a/3", "ab/1", "b/1", "a"];
    for k in keys {
        s.put("t.scan", k, k.as_bytes().to_vec()).await.unwrap();
    }
    s.put("t.scan2", "a/9", b"other".to_vec()).await.unwrap();
    let all = s.scan("t.scan", "a/", None, 100).await.unwrap();
    let got: Vec<&str> = all.items.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        got,
        vec!["a/1", "a/10", "a/2", "a/3"],
        "byte order, prefix only"
    );
    assert_eq!(all.next, None);

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.scan("t.scan", "a/", after.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().map(|(k, _)| k));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec!["a/1", "a/10", "a/2", "a/3"],
        "paging visits each key once"
    );
    let exact = s.scan("t.scan", "a/", None, 4).await.unwrap();
    assert_eq!(exact.items.len(), 4);
    assert_eq!(
        exact.next, None,
        "a page ending exactly at the end has no next"
    );
    let everything = s.scan("t.scan", "", None, 100).await.unwrap();
    assert_eq!(
        everything.items.len(),
        keys.len(),
        "empty prefix scans the namespace only"
    );
    let after_last = s.scan("t.scan", "a/", Some("a/3"), 10).await.unwrap();
    assert!(after_last.items.is_empty());
    let after_before = s.scan("t.scan", "b", Some("a"), 10).await.unwrap();
    assert_eq!(
        after_before.items.len(),
        1,
        "start_after before the prefix is harmless"
    );
    assert_eq!(
        s.scan_all("t.scan", "", 100).await.unwrap().len(),
        keys.len()
    );
    assert!(matches!(
        s.scan_all("t.scan", "", 3).await,
        Err(StoreError::TooLarge { .. })
    ));
}

async fn validation(s: &dyn RecordStore) {
    let long_key = "k".repeat(MAX_KEY_LEN + 1);
    for (ns, key) in [
        ("Bad", "k"),
        ("", "k"),
        ("t.v", ""),
        ("t.v", "a\0b"),
        ("t.v", long_key.as_str()),
    ] {
        assert!(
            matches!(s.get(ns, key).await, Err(StoreError::InvalidKey(_))),
            "get {ns:?}/{key:?}"
        );
        assert!(
            matches!(s.put(ns, key, vec![]).await, Err(StoreError::InvalidKey(_))),
            "put {ns:?}/{key:?}"
        );
    }
    assert!(matches!(
        s.scan("t.v", "", None, 0).await,
        Err(StoreError::InvalidKey(_))
    ));
    assert!(matches!(
        s.scan("t.v", "", None, 1001).await,
        Err(StoreError::InvalidKey(_))
    ));
    let mut big = Batch::new();
    for i in 0..1001 {
        big = big.put("t.v", &format!("k{i}"), vec![]);
    }
    assert!(matches!(
        s.commit(big).await,
        Err(StoreError::TooLarge { .. })
    ));
    assert_eq!(
        s.get("t.v", "k0").await.unwrap(),
        None,
        "rejected batch wrote nothing"
    );
    let huge = vec![0u8; (crate::record::MAX_VALUE_LEN + 1) as usize];
    assert!(matches!(
        s.put("t.v", "huge", huge).await,
        Err(StoreError::TooLarge { .. })
    ));
}

async fn concurrent_cas(s: Arc<dyn RecordStore>) {
    s.put("t.cas", "counter", 0u64.to_be_bytes().to_vec())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let rec = s.get("t.cas", "counter").await.unwrap().unwrap();
                let n = u64::from_be_bytes(rec.value.try_into().unwrap());
                match s
                    .compare_and_swap(
                        "t.cas",
                        "counter",
                        rec.version,
                        (n + 1).to_be_bytes().to_vec(),
                    )
                    .await
                {
                    Ok(_) => return,
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rec = s.get("t.cas", "counter").await.unwrap().unwrap();
    assert_eq!(
        u64::from_be_bytes(rec.value.try_into().unwrap()),
        32,
        "no lost update"
    );
    assert_eq!(rec.version, 33);
}

/// Runs every blob rule against an empty store.
pub async fn blob_store_suite(store: Arc<dyn BlobStore>) {
    let s = store.as_ref();
    assert!(matches!(
        s.get("b/missing").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.head("b/missing").await.unwrap(), None);
    assert!(!s.delete("b/missing").await.unwrap());

    put(s, "b/empty", &[]).await;
    assert_eq!(read(s, "b/empty").await, Vec::<u8>::new());
    let big: Vec<u8> = (0..5 * 1024 * 1024 + 123)
        .map(|i| (i % 251) as u8)
        .collect();
    put(s, "b/big", &big).await;
    assert_eq!(read(s, "b/big").await, big, "multi-MiB round trip");
    assert_eq!(
        s.head("b/big").await.unwrap().unwrap().size,
        big.len() as u64
    );

    put(s, "b/over", b"old").await;
    put(s, "b/over", b"new contents").await;
    assert_eq!(
        read(s, "b/over").await,
        b"new contents",
        "overwrite replaces"
    );

    // A file key and a "directory" key may coexist, as in object stores.
    put(s, "b/x", b"file").await;
    put(s, "b/x/y", b"nested").await;
    assert_eq!(read(s, "b/x").await, b"file");

    let mut upload = s.begin_put("b/aborted").await.unwrap();
    upload.write(b"partial").await.unwrap();
    upload.abort().await.unwrap();
    assert_eq!(
        s.head("b/aborted").await.unwrap(),
        None,
        "abort leaves nothing"
    );
    {
        let mut upload = s.begin_put("b/dropped").await.unwrap();
        upload.write(b"partial").await.unwrap();
    }
    assert_eq!(
        s.head("b/dropped").await.unwrap(),
        None,
        "drop leaves nothing visible"
    );
    let mut pending = s.begin_put("b/pending").await.unwrap();
    pending.write(b"not yet").await.unwrap();
    assert_eq!(
        s.head("b/pending").await.unwrap(),
        None,
        "invisible before commit"
    );
    pending.commit().await.unwrap();
    assert!(s.head("b/pending").await.unwrap().is_some());

    let listed: Vec<String> = s
        .list("b/", None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect();
    assert_eq!(
        listed,
        vec!["b/big", "b/empty", "b/over", "b/pending", "b/x", "b/x/y"]
    );
    let page: Vec<String> = s
        .list("b/", Some("b/empty"), 2)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect();
    assert_eq!(page, vec!["b/over", "b/pending"]);

    assert!(s.delete("b/over").await.unwrap());
    assert!(matches!(
        s.get("b/over").await,
        Err(StoreError::NotFound(_))
    ));
    for bad in ["", "../x", "a//b", "a b"] {
        assert!(
            matches!(s.begin_put(bad).await, Err(StoreError::InvalidKey(_))),
            "{bad:?}"
        );
        assert!(
            matches!(s.get(bad).await, Err(StoreError::InvalidKey(_))),
            "{bad:?}"
        );
    }
}

async fn put(s: &dyn BlobStore, key: &str, data: &[u8]) {
    let mut upload = s.begin_put(key).await.unwrap();
    for chunk in data.chunks(64 * 1024) {
        upload.write(chunk).await.unwrap();
    }
    let info = upload.commit().await.unwrap();
    assert_eq!(info.size, data.len() as u64);
}

async fn read(s: &dyn BlobStore, key: &str) -> Vec<u8> {
    let mut reader = s.get(key).await.unwrap();
    let mut out = Vec::new();
    reader.reader.read_to_end(&mut out).await.unwrap();
    assert_eq!(out.len() as u64, reader.size);
    out
}
