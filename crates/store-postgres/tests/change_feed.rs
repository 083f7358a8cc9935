//! The change feed between nodes against a real PostgreSQL: what one node sends reaches every
//! listener quickly and in order; a restart of PostgreSQL is reported as a resync and the feed
//! works again afterwards; oversized payloads are refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use keyhold_store::StoreError;
use keyhold_store_postgres::testing::TestPostgres;
use keyhold_store_postgres::{FeedMessage, PgRecordStore, PgSettings};
use tokio::sync::broadcast::Receiver;

async fn next(feed: &mut Receiver<FeedMessage>) -> FeedMessage {
    tokio::time::timeout(Duration::from_secs(10), feed.recv())
        .await
        .expect("no change notification within 10 s")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_every_node_and_survive_a_restart() {
    let pg = TestPostgres::start();
    let url = pg.create_database("feed");
    let a = PgRecordStore::connect(&PgSettings::new(url.clone()))
        .await
        .unwrap();
    let b = PgRecordStore::connect(&PgSettings::new(url)).await.unwrap();
    let mut feed_a = a.listen();
    let mut feed_b = b.listen();
    assert_eq!(next(&mut feed_a).await, FeedMessage::Resync);
    assert_eq!(next(&mut feed_b).await, FeedMessage::Resync);

    let sent = Instant::now();
    for i in 0..20 {
        a.notify(&format!("change {i}")).await.unwrap();
    }
    for feed in [&mut feed_a, &mut feed_b] {
        for i in 0..20 {
            assert_eq!(next(feed).await, FeedMessage::Change(format!("change {i}")));
        }
    }
    let latency = sent.elapsed();
    assert!(latency < Duration::from_secs(1), "took {latency:?}");

    // Notifications sent while a listener is away are lost; the listener says so.
    pg.stop();
    assert!(matches!(
        a.notify("lost").await,
        Err(StoreError::Unavailable(_))
    ));
    pg.restart();
    assert_eq!(next(&mut feed_b).await, FeedMessage::Resync);
    // The pool may hold a connection that died with the server: the first use can fail.
    let mut sent = false;
    for _ in 0..20 {
        if a.notify("after restart").await.is_ok() {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sent, "notify never recovered after the restart");
    loop {
        match next(&mut feed_b).await {
            FeedMessage::Resync => continue,
            FeedMessage::Change(payload) => {
                assert_eq!(payload, "after restart");
                break;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payloads_are_refused() {
    let pg = TestPostgres::start();
    let store = PgRecordStore::connect(&PgSettings::new(pg.create_database("big")))
        .await
        .unwrap();
    let err = store.notify(&"x".repeat(8_000)).await.unwrap_err();
    assert!(matches!(err, StoreError::Engine(_)), "{err:?}");
    store.notify(&"x".repeat(7_900)).await.unwrap();
}
