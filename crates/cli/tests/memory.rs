//! Constant memory: streaming a large file up and down through the encrypted Files API grows the
//! server's peak resident memory (VmHWM) by far less than the file (bound: 64 MiB).
// The measured growth is printed for the record (`--nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use common::{start, temp_parent};
use futures::StreamExt;
use serde_json::{Value, json};

const SIZE: u64 = 4 * 1024 * 1024 * 1024;
const CHUNK: usize = 1 << 20;

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn four_gib_round_trip_in_constant_memory() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let port = server.port();
    let pid = server.child.id();
    let boot: Value =
        serde_json::from_slice(&std::fs::read(data.join("bootstrap.json")).unwrap()).unwrap();
    let sub = boot["subscriptionId"].as_str().unwrap();
    let client = server.client(&["mem-ai.openai.localhost"]);
    let admin = common::admin_token(&client, &boot, "https://management.localhost/.default").await;
    let base = format!("https://localhost:{port}/subscriptions/{sub}/resourceGroups/mem-rg");
    client
        .put(format!("{base}?api-version=2024-11-01"))
        .bearer_auth(&admin)
        .json(&json!({"location": "westeurope"}))
        .send()
        .await
        .unwrap();
    let account = format!("{base}/providers/Microsoft.CognitiveServices/accounts/mem-ai");
    client
        .put(format!("{account}?api-version=2025-09-01"))
        .bearer_auth(&admin)
        .json(&json!({"location": "westeurope", "kind": "OpenAI", "sku": {"name": "S0"}}))
        .send()
        .await
        .unwrap();
    let keys: Value = client
        .post(format!("{account}/listKeys?api-version=2025-09-01"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = keys["key1"].as_str().unwrap().to_owned();
    let before = peak_rss_kib(pid);

    // Upload 4 GiB generated on the fly (a counter pattern, so the download can be checked).
    let chunks = futures::stream::iter((0..SIZE / CHUNK as u64).map(|i| {
        let mut chunk = vec![0u8; CHUNK];
        chunk[..8].copy_from_slice(&i.to_be_bytes());
        Ok::<_, std::io::Error>(chunk)
    }));
    let part =
        reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(chunks), SIZE)
            .file_name("big.bin");
    let form = reqwest::multipart::Form::new()
        .text("purpose", "assistants")
        .part("file", part);
    let created: Value = client
        .post(format!(
            "https://mem-ai.openai.localhost:{port}/openai/files?api-version=2024-10-21"
        ))
        .header("api-key", &key)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["bytes"], SIZE, "{created}");
    let id = created["id"].as_str().unwrap();

    // Download it back, checking every chunk's counter without keeping the data.
    let mut body = client
        .get(format!(
            "https://mem-ai.openai.localhost:{port}/openai/files/{id}/content?api-version=2024-10-21"
        ))
        .header("api-key", &key)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let (mut total, mut pending) = (0u64, Vec::new());
    while let Some(piece) = body.next().await {
        pending.extend_from_slice(&piece.unwrap());
        while pending.len() >= CHUNK {
            let index = total / CHUNK as u64;
            assert_eq!(&pending[..8], &index.to_be_bytes(), "chunk {index}");
            pending.drain(..CHUNK);
            total += CHUNK as u64;
        }
    }
    assert_eq!(total, SIZE);
    let growth_mib = (peak_rss_kib(pid).saturating_sub(before)) as f64 / 1024.0;
    println!("server peak RSS grew {growth_mib:.1} MiB over a 4 GiB round trip");
    assert!(growth_mib < 64.0, "peak RSS grew {growth_mib:.1} MiB");
}
