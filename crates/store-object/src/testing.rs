//! Real object stores for tests, no containers: `s3s-fs` (an S3 server over a directory, from
//! crates.io) and Azurite 3.35.0 (Microsoft's Azure Storage emulator, from npm), each on a free
//! loopback port with a temporary directory, killed and removed when dropped.
//!
//! Where the programs are: `KEYHOLD_S3S_FS` and `KEYHOLD_AZURITE_BLOB`, else `.tools/bin/s3s-fs`
//! and `.tools/azurite/node_modules/.bin/azurite-blob` in the repository (`scripts/test`
//! installs both there).
// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;

/// Azurite's well-known development account and key (public, documented by Microsoft).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// The key of [`AZURITE_ACCOUNT`].
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn tool(env: &str, relative: &str) -> PathBuf {
    let path = std::env::var(env)
        .map(PathBuf::from)
        .unwrap_or_else(|_| repository_root().join(relative));
    assert!(
        path.exists(),
        "{} not found: run scripts/test (it installs the test peers into .tools/) or set {env}",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited at start: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 30 s");
}

/// A running peer process.
pub struct Peer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    command: Vec<String>,
}

impl Peer {
    fn spawn(program: PathBuf, args: Vec<String>, port: u16, dir: tempfile::TempDir) -> Peer {
        let mut command = vec![program.display().to_string()];
        command.extend(args);
        let mut peer = Peer {
            child: Self::start(&command),
            port,
            dir,
            command,
        };
        wait_for_port(port, &mut peer.child, &peer.command[0]);
        peer
    }

    fn start(command: &[String]) -> Child {
        Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", command[0]))
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (an outage).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and directory.
    pub fn restart(&mut self) {
        self.child = Self::start(&self.command);
        wait_for_port(self.port, &mut self.child, &self.command[0]);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
        let _ = &self.dir;
    }
}

/// `s3s-fs` serving bucket `keyhold` with access key `keyhold` / secret `keyhold-secret`.
pub struct S3Server {
    /// The process.
    pub peer: Peer,
}

impl S3Server {
    /// Starts it.
    pub fn start() -> S3Server {
        let dir = tempfile::Builder::new()
            .prefix("keyhold-s3-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("keyhold")).unwrap();
        let port = free_port();
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            "keyhold",
            "--secret-key",
            "keyhold-secret",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([dir.path().display().to_string()])
        .collect();
        let program = tool("KEYHOLD_S3S_FS", ".tools/bin/s3s-fs");
        S3Server {
            peer: Peer::spawn(program, args, port, dir),
        }
    }

    /// An object store client for the bucket.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name("keyhold")
                .with_region("us-east-1")
                .with_access_key_id("keyhold")
                .with_secret_access_key("keyhold-secret")
                .with_endpoint(format!("http://127.0.0.1:{}", self.peer.port))
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }

    /// The environment that makes `s3://keyhold` reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "keyhold".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "keyhold-secret".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            (
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.peer.port),
            ),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Azurite's blob service with container `keyhold` created.
pub struct AzuriteServer {
    /// The process.
    pub peer: Peer,
}

impl AzuriteServer {
    /// Starts it and creates the container.
    pub async fn start() -> AzuriteServer {
        let dir = tempfile::Builder::new()
            .prefix("keyhold-azurite-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let args = vec![
            "--blobHost".to_owned(),
            "127.0.0.1".to_owned(),
            "--blobPort".to_owned(),
            port.to_string(),
            "--location".to_owned(),
            dir.path().display().to_string(),
            "--disableTelemetry".to_owned(),
            "--silent".to_owned(),
        ];
        let program = tool(
            "KEYHOLD_AZURITE_BLOB",
            ".tools/azurite/node_modules/.bin/azurite-blob",
        );
        let server = AzuriteServer {
            peer: Peer::spawn(program, args, port, dir),
        };
        // An open port is not yet a ready server: Node may accept connections before the
        // blob service answers (seen on a loaded 2-core machine), so the first request retries.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match crate::azure_admin::create_container(
                &format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"),
                AZURITE_ACCOUNT,
                AZURITE_KEY,
                "keyhold",
            )
            .await
            {
                Ok(()) => break,
                Err(e) if e.starts_with("cannot reach") && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(e) => panic!("Azurite did not create the container: {e}"),
            }
        }
        server
    }

    /// An object store client for the container.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            MicrosoftAzureBuilder::new()
                .with_account(AZURITE_ACCOUNT)
                .with_access_key(AZURITE_KEY)
                .with_container_name("keyhold")
                .with_endpoint(format!(
                    "http://127.0.0.1:{}/{AZURITE_ACCOUNT}",
                    self.peer.port
                ))
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }

    /// The environment that makes `az://keyhold` reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AZURE_STORAGE_ACCOUNT_NAME", AZURITE_ACCOUNT.to_owned()),
            ("AZURE_STORAGE_ACCOUNT_KEY", AZURITE_KEY.to_owned()),
            (
                "AZURE_STORAGE_ENDPOINT",
                format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.peer.port),
            ),
            ("AZURE_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}
