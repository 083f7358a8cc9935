//! Crypto-shredding, proven by reading the store directly: after an account is purged, its KEK
//! records, file records and ciphertext objects are gone, so nothing it stored can be
//! decrypted again — whoever holds the master key or the customer's key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{start, temp_parent};
use keyhold_store::{RecordStore, RecordStoreExt, RedbRecordStore};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn purging_an_account_destroys_its_keks_records_and_objects() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let port = server.port();
    let boot: Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
    let sub = boot["subscriptionId"].as_str().unwrap();
    let client = server.client(&["shred-ai.openai.localhost", "keep-ai.openai.localhost"]);
    let admin = common::admin_token(&client, &boot, "https://management.localhost/.default").await;
    let base = format!("https://localhost:{port}/subscriptions/{sub}/resourceGroups/shred-rg");
    let ok = |r: reqwest::Response| {
        assert!(r.status().is_success(), "{}", r.status());
        r
    };
    ok(client
        .put(format!("{base}?api-version=2024-11-01"))
        .bearer_auth(&admin)
        .json(&json!({"location": "westeurope"}))
        .send()
        .await
        .unwrap());
    for name in ["keep-ai", "shred-ai"] {
        let account = format!("{base}/providers/Microsoft.CognitiveServices/accounts/{name}");
        ok(client
            .put(format!("{account}?api-version=2025-09-01"))
            .bearer_auth(&admin)
            .json(&json!({"location": "westeurope", "kind": "OpenAI", "sku": {"name": "S0"}}))
            .send()
            .await
            .unwrap());
        let keys: Value = ok(client
            .post(format!("{account}/listKeys?api-version=2025-09-01"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap())
        .json()
        .await
        .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("purpose", "assistants")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"secret payload".to_vec()).file_name("s.txt"),
            );
        ok(client
            .post(format!(
                "https://{name}.openai.localhost:{port}/openai/files?api-version=2024-10-21"
            ))
            .header("api-key", keys["key1"].as_str().unwrap())
            .multipart(form)
            .send()
            .await
            .unwrap());
    }
    let account = format!("{base}/providers/Microsoft.CognitiveServices/accounts/shred-ai");
    ok(client
        .delete(format!("{account}?api-version=2025-09-01"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap());
    ok(client
        .delete(format!(
            "https://localhost:{port}/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/westeurope/resourceGroups/shred-rg/deletedAccounts/shred-ai?api-version=2025-09-01"
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap());
    let (status, _) = server.stop();
    assert!(status.success());

    let store = RedbRecordStore::open(&data.join("store.redb")).unwrap();
    // The account that was not purged still has its KEK and file: the checks below look at the
    // right places.
    for namespace in ["platform.keks", "platform.files"] {
        assert_eq!(
            store
                .scan_all(namespace, "keep-ai/", 100)
                .await
                .unwrap()
                .len(),
            1,
            "{namespace}"
        );
    }
    for namespace in ["platform.keks", "platform.files", "platform.accounts"] {
        let left = store.scan_all(namespace, "shred-ai/", 100).await.unwrap();
        assert!(left.is_empty(), "{namespace} still holds {left:?}");
    }
    assert!(
        store
            .get("platform.deleted_accounts", "shred-ai")
            .await
            .unwrap()
            .is_none()
    );
    let objects: Vec<_> = walk(&data.join("blobs"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("shred-ai"))
        .collect();
    assert!(objects.is_empty(), "{objects:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
