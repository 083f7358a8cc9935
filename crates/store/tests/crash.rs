//! Crash safety: a child process writing batches and blobs is killed with SIGKILL at random
//! points (including mid-upload of a large blob). After each kill the store is reopened and
//! every acknowledged write must be there, exact, and nothing partial may be visible.
//!
//! The child is this same test binary, re-executed with `KEYHOLD_CRASH_CHILD` set, running only
//! `crash_child`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use keyhold_store::{Batch, EmbeddedStore, Precondition, RecordStoreExt};
use tokio::io::AsyncReadExt;

const CHILD_ENV: &str = "KEYHOLD_CRASH_CHILD";
const KEYS_PER_BATCH: u64 = 10;

fn blob_content(i: u64) -> Vec<u8> {
    // Sizes vary from tiny to ~3 MiB so some kills land mid-upload.
    let size = if i % 4 == 3 {
        3 * 1024 * 1024 + (i as usize % 1000)
    } else {
        (i as usize * 7919) % 70_000
    };
    (0..size)
        .map(|j| ((j as u64 * 31 + i) % 251) as u8)
        .collect()
}

/// The child: writes forever, printing an ACK after each durable commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = EmbeddedStore::open(Path::new(&dir)).unwrap();
    let start = match store.records.get("crash", "counter").await.unwrap() {
        Some(rec) => u64::from_be_bytes(rec.value.try_into().unwrap()),
        None => 0,
    };
    let mut out = std::io::stdout();
    for i in start.. {
        // A batch: 10 keys and the counter, all or nothing.
        let counter = store.records.get("crash", "counter").await.unwrap();
        let mut batch = Batch::new().put_if(
            "crash",
            "counter",
            (i + 1).to_be_bytes().to_vec(),
            match counter {
                Some(rec) => Precondition::Version(rec.version),
                None => Precondition::Absent,
            },
        );
        for j in 0..KEYS_PER_BATCH {
            batch = batch.put("crash", &format!("b/{i:08}/{j}"), i.to_be_bytes().to_vec());
        }
        store.records.commit(batch).await.unwrap();
        writeln!(out, "ACK batch {i}").unwrap();
        out.flush().unwrap();

        let content = blob_content(i);
        let mut upload = store
            .blobs
            .begin_put(&format!("blob/{i:08}"))
            .await
            .unwrap();
        for chunk in content.chunks(256 * 1024) {
            upload.write(chunk).await.unwrap();
        }
        upload.commit().await.unwrap();
        writeln!(out, "ACK blob {i}").unwrap();
        out.flush().unwrap();
    }
}

async fn verify(dir: &Path, acked_batches: &BTreeSet<u64>, acked_blobs: &BTreeSet<u64>) -> u64 {
    let store = EmbeddedStore::open(dir).unwrap();
    let counter = store
        .records
        .get("crash", "counter")
        .await
        .unwrap()
        .map_or(0, |rec| u64::from_be_bytes(rec.value.try_into().unwrap()));
    // Every acknowledged batch is there.
    for i in acked_batches {
        assert!(*i < counter, "acked batch {i} lost (counter {counter})");
    }
    // Every batch present is complete, and matches the counter.
    let keys = store
        .records
        .scan_all("crash", "b/", 1_000_000)
        .await
        .unwrap();
    assert_eq!(
        keys.len() as u64,
        counter * KEYS_PER_BATCH,
        "partial batch visible"
    );
    for (key, rec) in &keys {
        let i: u64 = key[2..10].parse().unwrap();
        assert_eq!(rec.value, i.to_be_bytes().to_vec(), "{key}");
    }
    // Every listed blob is complete; every acknowledged blob is listed.
    let mut listed = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .blobs
            .list("blob/", after.as_deref(), 1000)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|b| b.key.clone());
        for info in page {
            let i: u64 = info.key["blob/".len()..].parse().unwrap();
            let mut reader = store.blobs.get(&info.key).await.unwrap();
            let mut data = Vec::new();
            reader.reader.read_to_end(&mut data).await.unwrap();
            assert!(data == blob_content(i), "blob {i} is partial or wrong");
            listed.insert(i);
        }
    }
    for i in acked_blobs {
        assert!(listed.contains(i), "acked blob {i} lost");
    }
    let tmp_left = std::fs::read_dir(dir.join("blobs/tmp")).unwrap().count();
    assert_eq!(
        tmp_left, 0,
        "temp files of interrupted uploads are swept on open"
    );
    counter
}

#[test]
fn sigkill_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acked_batches = BTreeSet::new();
    let mut acked_blobs = BTreeSet::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 3 + seed % 12;
        let mut acks = 0;
        let mut last_was_large_batch = false;
        for line in stdout.lines() {
            let line = line.unwrap();
            let Some(rest) = line.strip_prefix("ACK ") else {
                continue;
            };
            let (kind, i) = rest.split_once(' ').unwrap();
            let i: u64 = i.parse().unwrap();
            match kind {
                "batch" => {
                    acked_batches.insert(i);
                    last_was_large_batch = i % 4 == 3;
                }
                "blob" => {
                    acked_blobs.insert(i);
                }
                _ => unreachable!(),
            }
            acks += 1;
            // On odd rounds, kill right after the batch preceding a 3 MiB blob: mid-upload.
            let mid_upload = round % 2 == 1 && last_was_large_batch && kind == "batch";
            if acks >= kill_after && (round % 2 == 0 || mid_upload) {
                if mid_upload {
                    std::thread::sleep(Duration::from_millis(5));
                }
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let counter = rt.block_on(verify(dir.path(), &acked_batches, &acked_blobs));
        assert!(counter >= acked_batches.len() as u64);
    }
    assert!(acked_batches.len() >= 6, "the child made progress");
}
