//! `keyhold serve` end to end: the real binary, real TLS, the contract of docs/DESIGN.md section 5,
//! and start-ups that must fail cleanly without touching the data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{assert_unchanged, run_to_exit, snapshot, start, temp_parent};

#[tokio::test(flavor = "multi_thread")]
async fn first_start_initialises_the_data_dir_and_serves_https() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    eprintln!("ready after {:?}", server.ready_after);
    assert!(
        server.ready_line.contains("trust CA"),
        "{}",
        server.ready_line
    );
    assert!(
        server.ready_line.contains(".vault.localhost:"),
        "{}",
        server.ready_line
    );

    // The contract's files, private.
    assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o777, 0o700);
    for file in [
        "master.key",
        "store.redb",
        "tls/ca.pem",
        "tls/ca.key.sealed",
    ] {
        let meta = std::fs::metadata(data.join(file)).unwrap_or_else(|_| panic!("{file} missing"));
        assert_eq!(meta.mode() & 0o077, 0, "{file} must be private");
    }
    let sealed = std::fs::read(data.join("tls/ca.key.sealed")).unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("PRIVATE KEY"));

    // HTTPS with only the generated CA trusted, on the service host and a vault host.
    let client = server.client(&["kv1.vault.localhost", "acct.openai.localhost"]);
    let port = server.port();
    for url in [
        format!("https://localhost:{port}/healthz"),
        format!("https://kv1.vault.localhost:{port}/healthz"),
        format!("https://acct.openai.localhost:{port}/healthz"),
    ] {
        let response = client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(response.status(), 200, "{url}");
        assert!(response.headers().contains_key("x-ms-request-id"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }
    let ready = client
        .get(format!("https://localhost:{port}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // Unknown paths and methods: Azure-shaped errors, client request id echoed.
    let missing = client
        .get(format!("https://localhost:{port}/no/such/api"))
        .header("x-ms-client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-ms-client-request-id"], "abc-123");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NotFound");
    let wrong_method = client
        .post(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "GET, HEAD");

    let (status, stderr) = server.stop();
    assert!(
        status.success(),
        "graceful shutdown exits 0; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("development master key"),
        "dev key warning expected:\n{stderr}"
    );
}

/// A server killed with SIGKILL leaves a store that redb must repair; the next start must
/// repair it and serve (a read-only pre-check cannot repair, which once made such a store
/// look corrupted), and a wrong master key must still be refused after the repair.
#[tokio::test(flavor = "multi_thread")]
async fn starts_after_sigkill() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let mut first = start(&data, &[], &[]);
    let client = first.client(&[]);
    for _ in 0..20 {
        let _ = client
            .get(format!("https://localhost:{}/readyz", first.port()))
            .send()
            .await;
    }
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let second = start(&data, &[], &[]);
    let response = second
        .client(&[])
        .get(format!("https://localhost:{}/readyz", second.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = second.stop();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_reuses_keys_and_ca() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let first = start(&data, &[], &[]);
    let (status, _) = first.stop();
    assert!(status.success());
    let ca = std::fs::read(data.join("tls/ca.pem")).unwrap();
    let key = std::fs::read(data.join("master.key")).unwrap();

    let second = start(&data, &[], &[]);
    assert_eq!(std::fs::read(data.join("tls/ca.pem")).unwrap(), ca);
    assert_eq!(std::fs::read(data.join("master.key")).unwrap(), key);
    let client = second.client(&[]);
    let response = client
        .get(format!("https://localhost:{}/healthz", second.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the old CA still verifies the new server cert"
    );
    let (status, stderr) = second.stop();
    assert!(status.success());
    assert!(
        !stderr.contains("generated a development master key"),
        "{stderr}"
    );
}

#[test]
fn configured_master_key_file_and_mismatch() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let key_a = parent.path().join("a.key");
    let key_b = parent.path().join("b.key");
    for path in [&key_a, &key_b] {
        let (status, out, _) = run_to_exit(&["master-key", "generate"], &[]);
        assert!(status.success());
        assert_eq!(out.trim().len(), 44, "base64 of 32 bytes");
        std::fs::write(path, out).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let server = start(
        &data,
        &[],
        &[("KEYHOLD_MASTER_KEY_FILE", key_a.to_str().unwrap())],
    );
    let (status, stderr) = server.stop();
    assert!(status.success());
    assert!(
        !data.join("master.key").exists(),
        "no dev key when a key file is configured"
    );
    assert!(!stderr.contains("development master key"));

    let before = snapshot(&data);
    let (status, _, stderr) = run_to_exit(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("KEYHOLD_MASTER_KEY_FILE", key_b.to_str().unwrap())],
    );
    assert!(!status.success());
    assert!(stderr.contains("does not match the master key"), "{stderr}");
    assert!(stderr.contains("b.key"), "names the key file: {stderr}");
    assert_unchanged(&before, &snapshot(&data), "wrong master key");
}

/// One bad set-up per row: each exits non-zero with a message naming the problem, and the data
/// directory is byte-for-byte and mode-for-mode unchanged.
#[test]
fn bad_starts_fail_clearly_and_change_nothing() {
    struct Case {
        name: &'static str,
        prepare: fn(&Path) -> Vec<String>,
        env: &'static [(&'static str, &'static str)],
        expect: &'static str,
    }
    fn initialised(data: &Path) {
        let server = start(data, &[], &[]);
        let (status, stderr) = server.stop();
        assert!(status.success(), "{stderr}");
    }
    let cases = [
        Case {
            name: "loose permissions",
            prepare: |data| {
                initialised(data);
                std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o755)).unwrap();
                vec![]
            },
            env: &[],
            expect: "chmod go-rwx",
        },
        Case {
            name: "owned by someone else",
            prepare: |data| {
                initialised(data);
                std::os::unix::fs::chown(data, Some(65534), Some(65534)).unwrap();
                vec![]
            },
            env: &[],
            expect: "is owned by uid 65534",
        },
        Case {
            name: "corrupted store",
            prepare: |data| {
                initialised(data);
                std::fs::write(data.join("store.redb"), vec![0x5a; 8192]).unwrap();
                vec![]
            },
            env: &[],
            expect: "store.redb",
        },
        Case {
            name: "occupied port",
            prepare: |data| {
                initialised(data);
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap().to_string();
                std::mem::forget(listener); // held until the test process exits
                vec!["--listen".into(), addr]
            },
            env: &[],
            expect: "already in use",
        },
        Case {
            name: "unreadable certificate",
            prepare: |_| {
                vec![
                    "--tls-cert".into(),
                    "/nonexistent/cert.pem".into(),
                    "--tls-key".into(),
                    "/nonexistent/key.pem".into(),
                ]
            },
            env: &[],
            expect: "/nonexistent/cert.pem",
        },
        Case {
            name: "missing development key",
            prepare: |data| {
                initialised(data);
                std::fs::remove_file(data.join("master.key")).unwrap();
                vec![]
            },
            env: &[],
            expect: "no master.key",
        },
        Case {
            name: "unknown environment variable",
            prepare: |_| vec![],
            env: &[("KEYHOLD_LISTEN_ADDR", "x")],
            expect: "KEYHOLD_LISTEN_ADDR",
        },
        Case {
            name: "invalid flag value",
            prepare: |_| vec!["--vault-domain".into(), "bad_domain!".into()],
            env: &[],
            expect: "invalid vault_domain",
        },
    ];
    for case in cases {
        let parent = temp_parent();
        let data = parent.path().join("data");
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--data-dir".into(),
            data.to_str().unwrap().into(),
        ];
        let extra = (case.prepare)(&data);
        if !extra.iter().any(|a| a == "--listen") {
            args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        args.extend(extra);
        let before = snapshot(&data);
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, stdout, stderr) = run_to_exit(&arg_refs, case.env);
        assert!(
            !status.success(),
            "{}: must fail; stdout {stdout}",
            case.name
        );
        assert!(
            stderr.contains(case.expect),
            "{}: stderr should contain {:?}:\n{stderr}",
            case.name,
            case.expect
        );
        assert!(!stdout.contains("keyhold ready"), "{}", case.name);
        assert_unchanged(&before, &snapshot(&data), case.name);
    }
}

#[test]
fn config_file_unknown_key_is_rejected() {
    let parent = temp_parent();
    let file = parent.path().join("keyhold.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nvault_domian = \"x\"\n").unwrap();
    let data = parent.path().join("data");
    let (status, _, stderr) = run_to_exit(
        &[
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!status.success());
    assert!(stderr.contains("vault_domian"), "{stderr}");
    assert!(!data.exists(), "nothing created");
}

#[test]
fn version_flag() {
    let (status, stdout, _) = run_to_exit(&["--version"], &[]);
    assert!(status.success());
    assert_eq!(
        stdout.trim(),
        format!("keyhold {}", env!("CARGO_PKG_VERSION"))
    );
}
