//! HTTPS request throughput of the real server: validated (authenticated) requests/s on a
//! no-op endpoint (`GET /keyhold/v1/whoami`) against unauthenticated `GET /healthz`, same
//! server, same client, same run. The ratio shows what token validation costs.
//!
//! Starts `keyhold serve` (the release binary next to this one, or `KEYHOLD_BIN`) on a free
//! port with a temporary data directory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const CONNECTIONS: usize = 16;
const DURATION: Duration = Duration::from_secs(5);

/// A server process, stopped on drop.
pub struct Server {
    child: Child,
    /// Bound port.
    pub port: u16,
    /// Data directory (kept alive).
    pub dir: tempfile::TempDir,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The bootstrap file (tenant, subscription, admin credentials, scopes).
    pub fn bootstrap(&self) -> Result<Value, String> {
        serde_json::from_slice(
            &std::fs::read(self.dir.path().join("data/bootstrap.json"))
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and waits for its ready line.
pub fn start() -> Result<Server, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    start_node("127.0.0.1:0", dir, &[])
}

/// The release binary next to this one, or `KEYHOLD_BIN`.
pub fn keyhold_bin() -> std::path::PathBuf {
    std::env::var("KEYHOLD_BIN")
        .ok()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("keyhold")))
                .unwrap_or_default()
        })
}

/// Starts a server on `listen` with its data directory at `dir/data` (which may be prepared)
/// and `extra` arguments, and waits for its ready line.
pub fn start_node(
    listen: &str,
    dir: tempfile::TempDir,
    extra: &[String],
) -> Result<Server, String> {
    let bin = keyhold_bin();
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", listen, "--data-dir"])
        .arg(dir.path().join("data"))
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} (build it with `cargo build --release -p keyhold-cli`): {e}",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port = line
        .split_whitespace()
        .nth(3)
        .and_then(|u| u.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("unexpected ready line: {line}"))?;
    Ok(Server { child, port, dir })
}

/// An HTTPS client trusting the server's CA.
pub fn client(server: &Server) -> Result<reqwest::Client, String> {
    let ca = std::fs::read(server.dir.path().join("data/tls/ca.pem")).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).map_err(|e| e.to_string())?])
        .dns_resolver(Arc::new(keyhold_client::LocalhostResolver))
        .pool_max_idle_per_host(CONNECTIONS)
        .http1_only()
        .build()
        .map_err(|e| e.to_string())
}

/// A token of the bootstrap admin for `scope`.
pub async fn token_for(
    client: &reqwest::Client,
    server: &Server,
    scope: &str,
) -> Result<String, String> {
    let boot = server.bootstrap()?;
    let s = |k: &str| boot[k].as_str().unwrap_or_default().to_owned();
    let response: Value = client
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            s("authority"),
            s("tenantId")
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &s("clientId")),
            ("client_secret", &s("clientSecret")),
            ("scope", scope),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    response["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no token: {response}"))
}

/// The bootstrap admin's management token.
pub async fn admin_token(client: &reqwest::Client, server: &Server) -> Result<String, String> {
    let scope = server.bootstrap()?["managementScope"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    token_for(client, server, &scope).await
}

/// `GET /keyhold/v1/whoami` with `token` (the caller's `objectId` and tenant).
pub async fn whoami(
    client: &reqwest::Client,
    server: &Server,
    token: &str,
) -> Result<Value, String> {
    client
        .get(format!(
            "https://localhost:{}/keyhold/v1/whoami",
            server.port
        ))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<Value>()
        .await
        .map_err(|e| e.to_string())
}

/// Requests/s and latency percentiles (ms) for `url` with `CONNECTIONS` concurrent clients.
pub async fn load(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> Result<(f64, f64, f64), String> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + DURATION;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, token, done) = (
            client.clone(),
            url.to_owned(),
            token.map(str::to_owned),
            done.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                let mut request = client.get(&url);
                if let Some(t) = &token {
                    request = request.bearer_auth(t);
                }
                let response = request.send().await.map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("{url}: status {}", response.status()));
                }
                response.bytes().await.map_err(|e| e.to_string())?;
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, String>(latencies)
        }));
    }
    summarize(tasks, &done).await
}

/// Waits for the load tasks; returns operations/s and p50/p99 latency (ms).
pub async fn summarize(
    tasks: Vec<tokio::task::JoinHandle<Result<Vec<f64>, String>>>,
    done: &AtomicU64,
) -> Result<(f64, f64, f64), String> {
    let started = Instant::now();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.map_err(|e| e.to_string())??);
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok((rate, pct(0.50), pct(0.99)))
}

/// Runs the HTTP benchmarks.
pub fn run() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let server = start()?;
        let client = client(&server)?;
        let token = admin_token(&client, &server).await?;
        let base = format!("https://localhost:{}", server.port);
        println!("# keyhold HTTP benchmark: {CONNECTIONS} keep-alive connections, {}s per endpoint, client and server share this machine", DURATION.as_secs());
        // Warm up both paths (connections, caches).
        load(&client, &format!("{base}/healthz"), None).await?;
        let (health_rps, h50, h99) = load(&client, &format!("{base}/healthz"), None).await?;
        let (auth_rps, a50, a99) = load(&client, &format!("{base}/keyhold/v1/whoami"), Some(&token)).await?;
        println!("healthz_rps={health_rps:.0} p50_ms={h50:.2} p99_ms={h99:.2}");
        println!("authenticated_noop_rps={auth_rps:.0} p50_ms={a50:.2} p99_ms={a99:.2}");
        println!("token_validation_ratio={:.3}  (goal >= 0.90)", auth_rps / health_rps);
        Ok(())
    })
}
