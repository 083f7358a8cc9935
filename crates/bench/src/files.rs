//! Encrypted Files API throughput and key-service traffic, against the real server.
//!
//! 1. A 1 GiB file is copied on the data directory's disk (read + write + fsync): the limit.
//!    Then it is uploaded through HTTPS (multipart, streamed; the server encrypts into the blob
//!    store and fsyncs) and downloaded (the server decrypts; the client writes and fsyncs on the
//!    same disk). Ratios: copy time / upload time, copy time / download time.
//! 2. The server's peak RSS (VmHWM) before and after the 1 GiB round trip: constant memory.
//! 3. 10,000 file operations on an account with a customer-managed key in steady state,
//!    counting the calls that reached the vault (from the audit log): the KEK cache at work.

use std::io::Write;
use std::time::Instant;

use serde_json::{Value, json};

use crate::http::{Server, admin_token, client, start, token_for, whoami};
use crate::vault::call;

const GIB: u64 = 1024 * 1024 * 1024;
const OPS: usize = 10_000;

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

pub(crate) fn make_file(path: &std::path::Path, size: u64) -> Result<(), String> {
    let mut f = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in block.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    for i in 0..size / block.len() as u64 {
        block[0] = i as u8;
        f.write_all(&block).map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())
}

pub(crate) fn copy_secs(from: &std::path::Path, to: &std::path::Path) -> Result<f64, String> {
    let started = Instant::now();
    std::fs::copy(from, to).map_err(|e| e.to_string())?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())?;
    Ok(started.elapsed().as_secs_f64())
}

/// An account with a customer-managed key, ready for data-plane calls.
pub struct Setup {
    /// `https://bench-ai.openai.localhost:{port}/openai`.
    pub base: String,
    /// Its API key.
    pub key: String,
}

/// Creates a vault, an RSA key, an OpenAI account with a system identity and CMK.
pub async fn setup(http: &reqwest::Client, server: &Server) -> Result<Setup, String> {
    let base = format!("https://localhost:{}", server.port);
    let admin = admin_token(http, server).await?;
    let boot = server.bootstrap()?;
    let sub = boot["subscriptionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let tenant = boot["tenantId"].as_str().unwrap_or_default();
    let rg = format!("{base}/subscriptions/{sub}/resourceGroups/bench");
    call(
        http,
        reqwest::Method::PUT,
        &format!("{rg}?api-version=2024-11-01"),
        &admin,
        &json!({"location": "westeurope"}),
    )
    .await?;
    let me = whoami(http, server, &admin).await?;
    let vault_url =
        format!("{rg}/providers/Microsoft.KeyVault/vaults/bench-kv?api-version=2025-05-01");
    let policy = |oid: &Value, keys: &[&str]| json!({ "tenantId": tenant, "objectId": oid, "permissions": { "keys": keys } });
    call(http, reqwest::Method::PUT, &vault_url, &admin, &json!({ "location": "westeurope", "properties": {
        "tenantId": tenant, "sku": { "family": "A", "name": "standard" }, "enablePurgeProtection": true,
        "accessPolicies": [policy(&me["objectId"], &["create", "get"])] } })).await?;
    let vault_token = token_for(
        http,
        server,
        boot["vaultScope"].as_str().unwrap_or_default(),
    )
    .await?;
    let vault = format!("https://bench-kv.vault.localhost:{}", server.port);
    call(
        http,
        reqwest::Method::POST,
        &format!("{vault}/keys/cmk/create?api-version=7.6"),
        &vault_token,
        &json!({"kty": "RSA", "key_size": 2048}),
    )
    .await?;
    let account_url = format!(
        "{rg}/providers/Microsoft.CognitiveServices/accounts/bench-ai?api-version=2025-09-01"
    );
    let account = call(http, reqwest::Method::PUT, &account_url, &admin, &json!({
        "location": "westeurope", "kind": "OpenAI", "sku": {"name": "S0"}, "identity": {"type": "SystemAssigned"} })).await?;
    call(http, reqwest::Method::PUT,
        &format!("{rg}/providers/Microsoft.KeyVault/vaults/bench-kv/accessPolicies/add?api-version=2025-05-01"), &admin,
        &json!({ "properties": { "accessPolicies": [policy(&account["identity"]["principalId"], &["get", "wrapKey", "unwrapKey"])] } })).await?;
    call(http, reqwest::Method::PATCH, &account_url, &admin, &json!({ "properties": { "encryption": {
        "keySource": "Microsoft.KeyVault", "keyVaultProperties": { "keyVaultUri": format!("{vault}/"), "keyName": "cmk" } } } })).await?;
    let keys = call(
        http,
        reqwest::Method::POST,
        &account_url.replace("?api-version", "/listKeys?api-version"),
        &admin,
        &json!({}),
    )
    .await?;
    Ok(Setup {
        base: format!("https://bench-ai.openai.localhost:{}/openai", server.port),
        key: keys["key1"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Uploads a file; returns its id.
pub async fn upload(
    http: &reqwest::Client,
    s: &Setup,
    body: reqwest::Body,
    len: u64,
    purpose: &str,
) -> Result<String, String> {
    let part = reqwest::multipart::Part::stream_with_length(body, len).file_name("bench.bin");
    let form = reqwest::multipart::Form::new()
        .text("purpose", purpose.to_owned())
        .part("file", part);
    let response = http
        .post(format!("{}/files?api-version=2024-10-21", s.base))
        .header("api-key", &s.key)
        .multipart(form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("upload: {status} {value}"));
    }
    Ok(value["id"].as_str().unwrap_or_default().to_owned())
}

async fn vault_calls(
    http: &reqwest::Client,
    server: &Server,
    after: u64,
) -> Result<(u64, u64), String> {
    let admin = admin_token(http, server).await?;
    let mut seq = after;
    let mut calls = 0;
    loop {
        let page = http
            .get(format!(
                "https://localhost:{}/keyhold/v1/audit?after={seq}&top=1000",
                server.port
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<Value>()
            .await
            .map_err(|e| e.to_string())?;
        let entries = page["value"].as_array().cloned().unwrap_or_default();
        for e in &entries {
            seq = e["seq"].as_u64().unwrap_or(seq);
            if e["vault"] == "bench-kv" {
                calls += 1;
            }
        }
        if !page["more"].as_bool().unwrap_or(false) || entries.is_empty() {
            return Ok((calls, seq));
        }
    }
}

/// Runs the files benchmark.
pub fn run() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let server = start()?;
        let http = client(&server)?;
        let s = setup(&http, &server).await?;
        let work = server.dir.path().join("work");
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let source = work.join("source.bin");
        make_file(&source, GIB)?;
        let copy = copy_secs(&source, &work.join("copy.bin"))?;
        std::fs::remove_file(work.join("copy.bin")).map_err(|e| e.to_string())?;
        println!("# keyhold files benchmark: 1 GiB through HTTPS with a customer-managed key; client, server and disk on this machine");
        println!("disk_copy_secs={copy:.2} ({:.0} MiB/s)", 1024.0 / copy);
        let rss_before = peak_rss_kib(server.pid());

        let started = Instant::now();
        let file = tokio::fs::File::open(&source).await.map_err(|e| e.to_string())?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
        let id = upload(&http, &s, body, GIB, "assistants").await?;
        let up = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut response = http.get(format!("{}/files/{id}/content?api-version=2024-10-21", s.base))
            .header("api-key", &s.key).send().await.map_err(|e| e.to_string())?;
        let mut out = std::fs::File::create(work.join("download.bin")).map_err(|e| e.to_string())?;
        let mut total = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            out.write_all(&chunk).map_err(|e| e.to_string())?;
            total += chunk.len() as u64;
        }
        out.sync_all().map_err(|e| e.to_string())?;
        let down = started.elapsed().as_secs_f64();
        if total != GIB {
            return Err(format!("downloaded {total} bytes, expected {GIB}"));
        }
        let rss_after = peak_rss_kib(server.pid());
        println!("upload_secs={up:.2} ({:.0} MiB/s) download_secs={down:.2} ({:.0} MiB/s)", 1024.0 / up, 1024.0 / down);
        println!("upload_ratio={:.3} download_ratio={:.3} roundtrip_ratio={:.3}  (goal >= 0.70; ratio = disk copy time / API time)",
            copy / up, copy / down, 2.0 * copy / (up + down));
        println!("server_peak_rss_growth_mib={:.1}  (goal < 64; VmHWM {} -> {} KiB)",
            (rss_after.saturating_sub(rss_before)) as f64 / 1024.0, rss_before, rss_after);

        // Steady state: many small operations, counting vault calls.
        let (_, start_seq) = vault_calls(&http, &server, 0).await?;
        let started = Instant::now();
        let mut ids = Vec::new();
        for i in 0..OPS {
            if i % 5 == 0 || ids.is_empty() {
                let data = format!("record {i}\n").into_bytes();
                let len = data.len() as u64;
                ids.push(upload(&http, &s, reqwest::Body::from(data), len, "assistants").await?);
            } else {
                let id = &ids[i % ids.len()];
                let r = http.get(format!("{}/files/{id}?api-version=2024-10-21", s.base)).header("api-key", &s.key)
                    .send().await.map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("retrieve: {}", r.status()));
                }
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (calls, _) = vault_calls(&http, &server, start_seq).await?;
        println!("file_ops={OPS} ops_per_sec={:.0} vault_calls={calls} vault_calls_per_10k_ops={:.2}  (goal <= 1)",
            OPS as f64 / elapsed, calls as f64 * 10_000.0 / OPS as f64);
        Ok(())
    })
}
