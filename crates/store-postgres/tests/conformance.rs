//! The record conformance suite against a real PostgreSQL (started by the test), plus what is
//! particular to this engine: migrations, refusal of newer schemas, concurrent starts, many
//! nodes' batches interleaving, paging under concurrent writes, and outages as retryable errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use keyhold_store::conformance::record_store_suite;
use keyhold_store::{Batch, Precondition, RecordStore, RecordStoreExt, StoreError};
use keyhold_store_postgres::testing::TestPostgres;
use keyhold_store_postgres::{PgRecordStore, PgSettings};

async fn store(pg: &TestPostgres, db: &str) -> PgRecordStore {
    PgRecordStore::connect(&PgSettings::new(pg.create_database(db)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_records_pass_the_conformance_suite() {
    let pg = TestPostgres::start();
    record_store_suite(Arc::new(store(&pg, "conformance").await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_applied_once_and_newer_schemas_refused() {
    let pg = TestPostgres::start();
    let url = pg.create_database("migrations");
    // Several nodes starting at once: each migration is applied exactly once.
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgRecordStore::connect(&PgSettings::new(url)).await })
        })
        .collect();
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT version FROM keyhold_schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, vec![1]);
    // A database migrated by a newer keyhold is refused, not misread.
    client
        .execute(
            "INSERT INTO keyhold_schema_migrations (version, name) VALUES (999, 'future')",
            &[],
        )
        .await
        .unwrap();
    let err = PgRecordStore::connect(&PgSettings::new(url))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("999"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_one_store_and_batches_stay_atomic() {
    let pg = TestPostgres::start();
    let url = pg.create_database("nodes");
    let a: Arc<dyn RecordStore> = Arc::new(
        PgRecordStore::connect(&PgSettings::new(url.clone()))
            .await
            .unwrap(),
    );
    let b: Arc<dyn RecordStore> =
        Arc::new(PgRecordStore::connect(&PgSettings::new(url)).await.unwrap());
    // Transfers between two accounts from both nodes at once: the sum never changes, and no
    // batch is half-applied.
    a.put("t.bank", "x", 500u64.to_be_bytes().to_vec())
        .await
        .unwrap();
    a.put("t.bank", "y", 500u64.to_be_bytes().to_vec())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < 5 {
                let x = s.get("t.bank", "x").await.unwrap().unwrap();
                let y = s.get("t.bank", "y").await.unwrap().unwrap();
                let nx = u64::from_be_bytes(x.value.try_into().unwrap()) - 1;
                let ny = u64::from_be_bytes(y.value.try_into().unwrap()) + 1;
                let batch = Batch::new()
                    .put_if(
                        "t.bank",
                        "x",
                        nx.to_be_bytes().to_vec(),
                        Precondition::Version(x.version),
                    )
                    .put_if(
                        "t.bank",
                        "y",
                        ny.to_be_bytes().to_vec(),
                        Precondition::Version(y.version),
                    );
                match s.commit(batch).await {
                    Ok(_) => done += 1,
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let x = u64::from_be_bytes(
        b.get("t.bank", "x")
            .await
            .unwrap()
            .unwrap()
            .value
            .try_into()
            .unwrap(),
    );
    let y = u64::from_be_bytes(
        a.get("t.bank", "y")
            .await
            .unwrap()
            .unwrap()
            .value
            .try_into()
            .unwrap(),
    );
    assert_eq!((x, y), (500 - 80, 500 + 80));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_under_concurrent_writes_skips_nothing_that_stayed() {
    let pg = TestPostgres::start();
    let s: Arc<dyn RecordStore> = Arc::new(store(&pg, "paging").await);
    let mut batch = Batch::new();
    for i in 0..300 {
        batch = batch.put("t.page", &format!("k{i:04}"), vec![1]);
    }
    s.commit(batch).await.unwrap();
    // A writer adds and removes other keys while a reader pages through.
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                s.put("t.page", &format!("k{i:04}x"), vec![2])
                    .await
                    .unwrap();
                if i % 3 == 0 {
                    s.commit(Batch::new().delete("t.page", &format!("k{i:04}x")))
                        .await
                        .unwrap();
                }
            }
        })
    };
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.scan("t.page", "k", after.as_deref(), 7).await.unwrap();
        seen.extend(page.items.into_iter().map(|(k, _)| k));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    writer.await.unwrap();
    let stable: Vec<String> = (0..300).map(|i| format!("k{i:04}")).collect();
    for key in &stable {
        assert!(seen.contains(key), "{key} was skipped");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "pages come in order, without repeats");
    assert_eq!(
        s.scan_all("t.page", "k", 10_000).await.unwrap().len(),
        300 + 200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_retryable_and_service_resumes() {
    let pg = TestPostgres::start();
    let s = store(&pg, "outage").await;
    s.put("t.out", "a", vec![1]).await.unwrap();
    pg.stop();
    let err = s.put("t.out", "b", vec![2]).await.err().unwrap();
    assert!(err.is_retryable(), "{err:?}");
    let err = s.get("t.out", "a").await.err().unwrap();
    assert!(err.is_retryable(), "{err:?}");
    pg.restart();
    // The pool replaces its broken connections by itself.
    let mut last = None;
    for _ in 0..50 {
        match s.get("t.out", "a").await {
            Ok(found) => {
                last = Some(found);
                break;
            }
            Err(e) => {
                assert!(e.is_retryable(), "{e:?}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    assert_eq!(last.unwrap().unwrap().value, vec![1]);
    assert_eq!(
        s.get("t.out", "b").await.unwrap(),
        None,
        "the failed write left nothing"
    );
    s.put("t.out", "b", vec![2]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_and_unreachable_servers_fail_clearly() {
    let err = PgRecordStore::connect(&PgSettings::new("postgres://u:secret@host:notaport/db"))
        .await
        .err()
        .unwrap();
    assert!(!err.to_string().contains("secret"), "{err}");
    let mut settings = PgSettings::new("postgres://postgres@127.0.0.1:1/none");
    settings.wait_timeout = std::time::Duration::from_secs(1);
    let err = PgRecordStore::connect(&settings).await.err().unwrap();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_writers_on_distinct_records_never_give_up() {
    // Under SERIALIZABLE this exhausted every retry (predicate locks on neighbouring index
    // entries); with per-record locks, writers on different records do not collide at all.
    let pg = TestPostgres::start();
    let store = Arc::new(store(&pg, "writers").await);
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..300 {
                    let key = format!("w{w}/{i}");
                    let v = store.put_if_absent("load", &key, vec![1]).await.unwrap();
                    store
                        .compare_and_swap("load", &key, v, vec![2])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(
        store.scan_all("load", "", 10_000).await.unwrap().len(),
        4800
    );
}
