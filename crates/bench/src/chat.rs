//! Chat completions against a deployed fine-tuned model whose account uses a customer-managed
//! key: requests/s over HTTPS with keep-alive, as a ratio against the same server's `/healthz`
//! in the same run. The difference is what the chat path costs (authentication by api-key,
//! account and deployment lookup, the model, the audit record, metering) — the model itself
//! was decrypted once at deployment and stays in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::files::{Setup, setup, upload};
use crate::http::{admin_token, client, load, start, summarize};
use crate::vault::call;

const CONNECTIONS: usize = 16;
const DURATION: Duration = Duration::from_secs(5);

async fn fine_tune(http: &reqwest::Client, s: &Setup) -> Result<String, String> {
    let training: String = (0..200)
        .map(|i| {
            json!({ "messages": [
                { "role": "user", "content": format!("What is item number {i} in the catalog?") },
                { "role": "assistant", "content": format!("Item {i} is the part with serial {}.", i * 7919) },
            ] })
            .to_string()
                + "\n"
        })
        .collect();
    let len = training.len() as u64;
    let file = upload(http, s, reqwest::Body::from(training), len, "fine-tune").await?;
    let job: Value = http
        .post(format!("{}/fine_tuning/jobs?api-version=2024-10-21", s.base))
        .header("api-key", &s.key)
        .json(&json!({ "model": "gpt-4o-mini-2024-07-18", "training_file": file, "hyperparameters": { "n_epochs": 2 } }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let id = job["id"]
        .as_str()
        .ok_or_else(|| format!("job refused: {job}"))?;
    let started = Instant::now();
    loop {
        let job: Value = http
            .get(format!(
                "{}/fine_tuning/jobs/{id}?api-version=2024-10-21",
                s.base
            ))
            .header("api-key", &s.key)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match job["status"].as_str() {
            Some("succeeded") => {
                println!(
                    "fine_tune_seconds={:.2} (200 examples, 2 epochs, built-in trainer)",
                    started.elapsed().as_secs_f64()
                );
                return Ok(job["fine_tuned_model"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned());
            }
            Some("failed" | "cancelled") => return Err(format!("job ended: {job}")),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn chat_load(http: &reqwest::Client, s: &Setup) -> Result<(f64, f64, f64), String> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + DURATION;
    let url = format!(
        "{}/deployments/bench/chat/completions?api-version=2024-10-21",
        s.base
    );
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (http, url, key, done) = (http.clone(), url.clone(), s.key.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            while Instant::now() < deadline {
                let started = Instant::now();
                let body = json!({ "messages": [{ "role": "user", "content": format!("which part is item {}?", i % 200) }] });
                let response = http.post(&url).header("api-key", &key).json(&body).send().await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("chat: status {}", response.status()));
                }
                let value: Value = response.json().await.map_err(|e| e.to_string())?;
                let expected = format!("serial {}", (i % 200) * 7919);
                if !value["choices"][0]["message"]["content"].as_str().unwrap_or_default().contains(&expected) {
                    return Err(format!("wrong answer: {value}"));
                }
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                done.fetch_add(1, Ordering::Relaxed);
                i += CONNECTIONS;
            }
            Ok::<_, String>(latencies)
        }));
    }
    summarize(tasks, &done).await
}

/// Runs the chat benchmark.
pub fn run() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let server = start()?;
        let http = client(&server)?;
        let s = setup(&http, &server).await?;
        let model = fine_tune(&http, &s).await?;
        let admin = admin_token(&http, &server).await?;
        let boot = server.bootstrap()?;
        let sub = boot["subscriptionId"].as_str().unwrap_or_default();
        call(&http, reqwest::Method::PUT,
            &format!("https://localhost:{}/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.CognitiveServices/accounts/bench-ai/deployments/bench?api-version=2025-09-01", server.port),
            &admin,
            &json!({ "properties": { "model": { "format": "OpenAI", "name": model, "version": "1" } }, "sku": { "name": "Standard", "capacity": 1 } }),
        ).await?;
        let base = format!("https://localhost:{}", server.port);
        println!("# keyhold chat benchmark: {CONNECTIONS} keep-alive connections, {}s per endpoint, client and server share this machine", DURATION.as_secs());
        load(&http, &format!("{base}/healthz"), None).await?;
        chat_load(&http, &s).await?;
        let (health_rps, h50, h99) = load(&http, &format!("{base}/healthz"), None).await?;
        let (chat_rps, c50, c99) = chat_load(&http, &s).await?;
        println!("healthz_rps={health_rps:.0} p50_ms={h50:.2} p99_ms={h99:.2}");
        println!("chat_rps={chat_rps:.0} p50_ms={c50:.2} p99_ms={c99:.2}  (fine-tuned model, CMK account, every answer checked)");
        println!("chat_ratio={:.3}  (chat requests/s over /healthz requests/s)", chat_rps / health_rps);
        Ok(())
    })
}
