//! The commands that work on local files: `keyhold trust` (a CA bundle that curl accepts for
//! keyhold and that still holds the system's roots), `keyhold master-key generate --out`
//! (private from the first byte, never replacing a key without --force, usable by `serve`),
//! and `keyhold demo --help` telling the truth about its length.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{run_to_exit, start, temp_parent};

const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The base64 body of the first PEM certificate in `text`.
fn first_cert_body(text: &str) -> String {
    let start = text.find("-----BEGIN CERTIFICATE-----").unwrap();
    let end = text[start..].find("-----END CERTIFICATE-----").unwrap();
    text[start + 27..start + end].trim().to_owned()
}

fn curl(ca: &std::path::Path, url: &str) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(ca)
        .arg(url)
        .output()
        .expect("curl is installed");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn trust_writes_a_bundle_that_trusts_keyhold_and_the_world() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let ca = std::fs::read_to_string(data.join("tls/ca.pem")).unwrap();
    // Its directory need not exist yet (e.g. ~/.config/keyhold before the first login).
    let bundle = parent.path().join("config/keyhold/bundle.pem");
    let none = parent.path().join("no-creds.json");
    let none = none.to_str().unwrap();
    let (status, stdout, stderr) = run_to_exit(
        &[
            "trust",
            "--data-dir",
            data.to_str().unwrap(),
            "--out",
            bundle.to_str().unwrap(),
        ],
        &[("KEYHOLD_CLIENT_CONFIG", none)],
    );
    assert!(status.success(), "{stderr}");
    let absolute = std::fs::canonicalize(&bundle).unwrap();
    for var in [
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "NODE_EXTRA_CA_CERTS",
        "CURL_CA_BUNDLE",
    ] {
        let line = format!("export {var}='{}'", absolute.display());
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line} in:\n{stdout}"
        );
    }
    let text = std::fs::read_to_string(&bundle).unwrap();
    let system = std::fs::read_to_string(SYSTEM_BUNDLE).unwrap();
    let system_count = system.matches("-----BEGIN CERTIFICATE-----").count();
    assert!(system_count > 10, "the machine has system roots");
    assert_eq!(
        text.matches("-----BEGIN CERTIFICATE-----").count(),
        system_count + 1
    );
    assert!(
        text.contains(&first_cert_body(&system)),
        "a system root is in the bundle"
    );
    assert!(
        text.contains(&first_cert_body(&ca)),
        "keyhold's CA is in the bundle"
    );

    let url = format!("https://localhost:{}/healthz", server.port());
    let (ok, body) = curl(&bundle, &url);
    assert!(ok && body.contains("ok"), "curl with the bundle: {body}");
    let (ok, _) = curl(std::path::Path::new(SYSTEM_BUNDLE), &url);
    assert!(!ok, "the system roots alone do not trust keyhold");

    // Without --out, the bundle itself; without --data-dir, the CA the login names.
    let creds = parent.path().join("creds.json");
    let creds = creds.to_str().unwrap();
    let bootstrap = data.join("bootstrap.json");
    let (status, _, stderr) = run_to_exit(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        &[("KEYHOLD_CLIENT_CONFIG", creds)],
    );
    assert!(status.success(), "{stderr}");
    let (status, stdout, stderr) = run_to_exit(&["trust"], &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, text, "the same bundle on stdout");
    assert!(stderr.contains("--out"), "{stderr}");

    // No CA where it should be: a clear error.
    let (status, _, stderr) = run_to_exit(
        &[
            "trust",
            "--data-dir",
            parent.path().join("nowhere").to_str().unwrap(),
        ],
        &[("KEYHOLD_CLIENT_CONFIG", none)],
    );
    assert!(!status.success());
    assert!(
        stderr.contains("keyhold's CA") && stderr.contains("--data-dir"),
        "{stderr}"
    );
}

#[test]
fn master_key_files_are_private_and_never_replaced_by_accident() {
    let parent = temp_parent();
    let key = parent.path().join("keyhold.key");
    let key_arg = key.to_str().unwrap();
    let (status, stdout, stderr) = run_to_exit(&["master-key", "generate", "--out", key_arg], &[]);
    assert!(status.success(), "{stderr}");
    assert!(stdout.is_empty(), "the key goes to the file only: {stdout}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read(&key).unwrap();
    assert!(first.len() >= 43, "a base64 256-bit key");

    let (status, _, stderr) = run_to_exit(&["master-key", "generate", "--out", key_arg], &[]);
    assert!(!status.success());
    assert!(
        stderr.contains("exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), first, "unchanged");

    let (status, _, stderr) = run_to_exit(
        &["master-key", "generate", "--out", key_arg, "--force"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    let second = std::fs::read(&key).unwrap();
    assert_ne!(second, first);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let names: Vec<_> = std::fs::read_dir(parent.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("keyhold.key")],
        "no temporary left"
    );

    // Without --out the key is printed, as before.
    let (status, stdout, _) = run_to_exit(&["master-key", "generate"], &[]);
    assert!(status.success());
    assert_eq!(
        stdout.trim().len(),
        String::from_utf8(second.clone()).unwrap().trim().len()
    );

    // The server starts with it.
    let server = start(
        &parent.path().join("data"),
        &["--master-key-file", key_arg],
        &[],
    );
    drop(server);
}

#[test]
fn demo_help_tells_the_truth() {
    let (status, stdout, _) = run_to_exit(&["--help"], &[]);
    assert!(status.success());
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("demo"))
        .unwrap();
    assert!(
        line.contains("a few seconds") && !line.contains("30 s"),
        "{line}"
    );
    let (status, stdout, _) = run_to_exit(&["demo", "--help"], &[]);
    assert!(status.success());
    assert!(stdout.contains("purge protection"), "{stdout}");
}
