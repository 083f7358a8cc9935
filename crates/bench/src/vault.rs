//! RSA-2048 `unwrapKey` over HTTPS against the real server: a vault and key created through
//! the ARM and Key Vault APIs, then many keep-alive connections posting unwraps for a fixed
//! time. Printed as a ratio against two cores' worth of `openssl speed -multi 2 rsa2048`
//! sign/s measured in the same run (an unwrap is one private-key operation, like a sign), with
//! p50/p99 latency. Every unwrap is authenticated, authorized, audited and durable in the
//! audit log before it is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{Server, admin_token, client, start, token_for, whoami};

pub(crate) const CONNECTIONS: usize = 128;
pub(crate) const DURATION: Duration = Duration::from_secs(10);

pub(crate) async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<Value, String> {
    let response = client
        .request(method, url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{url}: {status} {value}"))
    }
}

/// Sets up a vault and key; returns (unwrap URL, vault token, wrapped key).
pub(crate) async fn setup(
    client: &reqwest::Client,
    server: &Server,
) -> Result<(String, String, String), String> {
    let base = format!("https://localhost:{}", server.port);
    let admin = admin_token(client, server).await?;
    let boot = server.bootstrap()?;
    let sub = boot["subscriptionId"].as_str().unwrap_or_default();
    let tenant = boot["tenantId"].as_str().unwrap_or_default();
    call(
        client,
        reqwest::Method::PUT,
        &format!("{base}/subscriptions/{sub}/resourcegroups/bench?api-version=2024-11-01"),
        &admin,
        &json!({ "location": "westeurope" }),
    )
    .await?;
    let me = whoami(client, server, &admin).await?;
    call(
        client,
        reqwest::Method::PUT,
        &format!("{base}/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.KeyVault/vaults/bench-kv?api-version=2025-05-01"),
        &admin,
        &json!({ "location": "westeurope", "properties": {
            "tenantId": tenant, "sku": { "family": "A", "name": "standard" },
            "accessPolicies": [{ "tenantId": tenant, "objectId": me["objectId"],
                                 "permissions": { "keys": ["create", "wrapKey", "unwrapKey"] } }],
        } }),
    )
    .await?;
    let vault_token = token_for(
        client,
        server,
        boot["vaultScope"].as_str().unwrap_or_default(),
    )
    .await?;
    let vault = format!(
        "https://bench-kv.{}:{}",
        boot["vaultDomain"].as_str().unwrap_or("vault.localhost"),
        server.port
    );
    call(
        client,
        reqwest::Method::POST,
        &format!("{vault}/keys/cmk/create?api-version=7.6"),
        &vault_token,
        &json!({ "kty": "RSA", "key_size": 2048 }),
    )
    .await?;
    let wrapped = call(
        client,
        reqwest::Method::POST,
        &format!("{vault}/keys/cmk/wrapkey?api-version=7.6"),
        &vault_token,
        &json!({ "alg": "RSA-OAEP-256", "value": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" }),
    )
    .await?;
    let value = wrapped["value"]
        .as_str()
        .ok_or("no wrapped value")?
        .to_owned();
    Ok((
        format!("{vault}/keys/cmk/unwrapkey?api-version=7.6"),
        vault_token,
        value,
    ))
}

/// Unwraps/s and latency percentiles (ms); connections are spread over `clients` in turn.
pub(crate) async fn load(
    clients: &[reqwest::Client],
    url: &str,
    token: &str,
    wrapped: &str,
    duration: Duration,
) -> Result<(f64, f64, f64), String> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let body = json!({ "alg": "RSA-OAEP-256", "value": wrapped });
    let mut tasks = Vec::new();
    for i in 0..CONNECTIONS {
        let (client, url, token, body, done) = (
            clients[i % clients.len()].clone(),
            url.to_owned(),
            token.to_owned(),
            body.clone(),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                call(&client, reqwest::Method::POST, &url, &token, &body).await?;
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, String>(latencies)
        }));
    }
    crate::http::summarize(tasks, &done).await
}

/// Runs the unwrap benchmark.
pub fn run() -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let reference = crate::crypto::openssl_rsa2048_sign_per_sec_on(cores);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let server = start()?;
        let client = client(&server)?;
        let (url, token, wrapped) = setup(&client, &server).await?;
        println!(
            "# keyhold unwrapKey benchmark: RSA-2048 RSA-OAEP-256, {CONNECTIONS} keep-alive HTTPS connections, {}s; client and server share this machine's {cores} cores",
            DURATION.as_secs()
        );
        let clients = [client];
        load(&clients, &url, &token, &wrapped, Duration::from_secs(2)).await?;
        let (rate, p50, p99) = load(&clients, &url, &token, &wrapped, DURATION).await?;
        println!("unwrap_per_sec={rate:.0} p50_ms={p50:.2} p99_ms={p99:.2}");
        match reference {
            Some(sign) => {
                println!("openssl_rsa2048_sign_per_sec_{cores}_processes={sign:.0}");
                println!("unwrap_ratio={:.3}  (goal >= 0.80)", rate / sign);
            }
            None => println!("unwrap_ratio=n/a  (openssl not found or its output not understood)"),
        }
        Ok(())
    })
}
