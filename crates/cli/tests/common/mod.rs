//! Test harness: spawns the real `keyhold` binary on a free loopback port and talks to it over
//! HTTPS with the generated CA trusted, resolving `*.localhost` names to loopback itself
//! (docs/DESIGN.md section 5: the system resolver may not).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn keyhold_bin() -> &'static str {
    env!("CARGO_BIN_EXE_keyhold")
}

/// A running server.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub ready_line: String,
    pub ready_after: Duration,
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// Starts `keyhold serve --listen 127.0.0.1:0 --data-dir <data_dir> <extra>` and waits for the
/// ready line. Panics with the server's stderr if it does not become ready.
pub fn start(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    start_listening(data_dir, "127.0.0.1:0", extra, env)
}

/// [`start`] on a chosen address (tokens name their issuer by port, so a test that restarts a
/// server and reuses its tokens keeps the port).
pub fn start_listening(
    data_dir: &Path,
    listen: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Server {
    let started = Instant::now();
    let mut cmd = Command::new(keyhold_bin());
    cmd.arg("serve")
        .arg("--listen")
        .arg(listen)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn keyhold");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "keyhold did not become ready; stderr:\n{}",
                stderr.join().unwrap()
            );
        }
    };
    let ready_after = started.elapsed();
    assert!(
        line.starts_with("keyhold ready on https://"),
        "unexpected ready line: {line}"
    );
    let addr: SocketAddr = line["keyhold ready on https://".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    Server {
        child,
        addr,
        data_dir: data_dir.to_path_buf(),
        ready_line: line,
        ready_after,
        stderr: Some(stderr),
    }
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// An HTTPS client that trusts only the generated CA and resolves the given names.
    pub fn client(&self, names: &[&str]) -> reqwest::Client {
        client_for(&self.data_dir.join("tls/ca.pem"), self.addr, names)
    }

    /// Sends SIGTERM and waits for the exit status and stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status =
            wait_timeout(&mut self.child, Duration::from_secs(20)).expect("exit after SIGTERM");
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client trusting only `ca_pem`, resolving `localhost` and `names` to `addr`.
pub fn client_for(ca_pem: &Path, addr: SocketAddr, names: &[&str]) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca_pem).unwrap()).unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .https_only(true)
        .resolve("localhost", addr);
    for name in names {
        builder = builder.resolve(name, addr);
    }
    builder.build().unwrap()
}

/// Runs keyhold to completion (for start-ups expected to fail) with a timeout.
pub fn run_to_exit(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut cmd = Command::new(keyhold_bin());
    cmd.args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = match wait_timeout(&mut child, Duration::from_secs(30)) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "keyhold {args:?} did not exit; stderr: {}",
                err.join().unwrap()
            );
        }
    };
    (status, out.join().unwrap(), err.join().unwrap())
}

pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file and directory under `root` with its mode, owner and content hash, to prove that a
/// failed start changed nothing.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u32, u32, Option<Vec<u8>>)> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let content = if meta.is_file() {
            Some(std::fs::read(&path).unwrap())
        } else {
            None
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
        out.insert(path, (meta.mode(), meta.uid(), content));
    }
    out
}

/// A fresh private parent directory for a data dir.
pub fn temp_parent() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("keyhold-test")
        .tempdir()
        .unwrap()
}

/// Asserts two snapshots are equal, naming only the paths that differ.
pub fn assert_unchanged(
    before: &BTreeMap<PathBuf, (u32, u32, Option<Vec<u8>>)>,
    after: &BTreeMap<PathBuf, (u32, u32, Option<Vec<u8>>)>,
    what: &str,
) {
    let mut diffs = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => diffs.push(format!("removed {}", path.display())),
            Some(new) if new.0 != old.0 || new.1 != old.1 => diffs.push(format!(
                "{}: mode/owner {:o}/{} -> {:o}/{}",
                path.display(),
                old.0,
                old.1,
                new.0,
                new.1
            )),
            Some(new) if new.2 != old.2 => {
                diffs.push(format!("{}: content changed", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("created {}", path.display()));
    }
    assert!(
        diffs.is_empty(),
        "{what}: the data directory changed: {diffs:#?}"
    );
}

/// A client-credentials token for `scope` from the token endpoint of `tenant` at `authority`
/// (`https://localhost:{port}`), as any SDK asks for one; panics with the answer if there is none.
pub async fn client_credentials_token(
    client: &reqwest::Client,
    authority: &str,
    tenant: &str,
    client_id: &str,
    secret: &str,
    scope: &str,
) -> String {
    let response: serde_json::Value = client
        .post(format!("{authority}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {response}"))
        .to_owned()
}

/// The bootstrap administrator's token for `scope`, from `bootstrap.json`'s own fields
/// (`authority`, `tenantId`, `clientId`, `clientSecret`).
pub async fn admin_token(
    client: &reqwest::Client,
    boot: &serde_json::Value,
    scope: &str,
) -> String {
    let field = |name: &str| {
        boot[name]
            .as_str()
            .unwrap_or_else(|| panic!("bootstrap.json has no {name}"))
    };
    client_credentials_token(
        client,
        field("authority"),
        field("tenantId"),
        field("clientId"),
        field("clientSecret"),
        scope,
    )
    .await
}
