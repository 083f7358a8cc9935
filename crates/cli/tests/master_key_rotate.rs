//! `keyhold master-key rotate` against the real binary: state made through the server (vaults
//! with software and HSM keys, a soft-deleted vault, an account with Microsoft-managed keys and
//! one with a customer-managed key, each with a file, a second tenant with its signing key, a
//! key backup), then a rotation, then everything read back through a server started with the
//! new key; the old key refused at start; a rotation killed with SIGKILL after every one of its
//! durable writes finishing when run again (or abandoned with --abort before its commit); a
//! wrong old key, or a running server, changing nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{Server, assert_unchanged, run_to_exit, snapshot, start_listening, temp_parent};
use serde_json::{Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const VAULT: &str = "rot-kv";
const GONE: &str = "rot-gone";
const MMK: &str = "rot-mmk";
const CMK: &str = "rot-cmk";

fn cli(args: &[&str], creds: &str) -> Value {
    let (status, stdout, stderr) = run_to_exit(args, &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    assert!(status.success(), "keyhold {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or(Value::Null)
}

fn generate_key(path: &Path) {
    let (status, _, stderr) = run_to_exit(
        &["master-key", "generate", "--out", path.to_str().unwrap()],
        &[],
    );
    assert!(status.success(), "{stderr}");
}

/// `keyhold master-key rotate --data-dir DATA ARGS…` with extra environment.
fn rotate(
    data: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::ExitStatus, String, String) {
    let mut all = vec!["master-key", "rotate", "--data-dir", data.to_str().unwrap()];
    all.extend_from_slice(args);
    run_to_exit(&all, env)
}

fn must_rotate(data: &Path, args: &[&str]) -> String {
    let (status, stdout, stderr) = rotate(data, args, &[]);
    assert!(status.success(), "rotate {args:?} failed: {stderr}");
    stdout
}

/// `keyhold serve` that must fail; returns its stderr.
fn start_fails(data: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (status, _, stderr) = run_to_exit(&args, &[]);
    assert!(!status.success(), "serve {extra:?} should have failed");
    stderr
}

async fn token(server: &Server, tenant: &str, id: &str, secret: &str, scope: &str) -> String {
    let authority = format!("https://localhost:{}", server.port());
    common::client_credentials_token(&server.client(&[]), &authority, tenant, id, secret, scope)
        .await
}

/// What was made before the rotation, to be found again after it.
struct World {
    creds: String,
    boot: Value,
    /// Account, file id, content.
    files: Vec<(&'static str, String, Vec<u8>)>,
    api_keys: Vec<(&'static str, Value)>,
    /// Key name, wrapped value (base64url) of `PLAIN`.
    wrapped: Vec<(&'static str, String)>,
    backup: PathBuf,
    /// Tenant id, a token it issued before the rotation, its JWKS then.
    tenant2: (String, String, Value),
    /// A management token of the first tenant, issued before the rotation.
    admin_token: String,
    ca_pem: Vec<u8>,
}

const PLAIN: &[u8] = b"0123456789abcdef0123456789abcdef";

async fn vault_op(
    server: &Server,
    token: &str,
    vault: &str,
    key: &str,
    op: &str,
    value: &str,
) -> String {
    let host = format!("{vault}.vault.localhost");
    let response = server
        .client(&[&host])
        .post(format!(
            "https://{host}:{}/keys/{key}/{op}?api-version=7.4",
            server.port()
        ))
        .bearer_auth(token)
        .json(&json!({ "alg": "RSA-OAEP-256", "value": value }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(
        status.is_success(),
        "{op} with {vault}/{key}: {status} {body}"
    );
    body["value"].as_str().unwrap().to_owned()
}

async fn jwks(server: &Server, tenant: &str) -> Value {
    server
        .client(&[])
        .get(format!(
            "https://localhost:{}/{tenant}/discovery/v2.0/keys",
            server.port()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Makes the state through a running server.
async fn build(server: &Server, parent: &Path) -> World {
    let data = &server.data_dir;
    let creds = parent.join("creds.json").to_str().unwrap().to_owned();
    let bootstrap = data.join("bootstrap.json");
    cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        &creds,
    );
    let boot: Value = serde_json::from_slice(&std::fs::read(&bootstrap).unwrap()).unwrap();
    let port = server.port();
    cli(&["group", "create", "-n", "rot-rg"], &creds);
    for vault in [VAULT, GONE] {
        cli(
            &[
                "vault",
                "create",
                "-n",
                vault,
                "-g",
                "rot-rg",
                "--retention-days",
                "7",
                "--enable-purge-protection",
            ],
            &creds,
        );
    }
    cli(
        &["key", "create", "--vault-name", VAULT, "-n", "cmk"],
        &creds,
    );
    cli(
        &[
            "key",
            "create",
            "--vault-name",
            VAULT,
            "-n",
            "hsm",
            "--kty",
            "RSA-HSM",
        ],
        &creds,
    );
    cli(
        &["key", "create", "--vault-name", GONE, "-n", "kept"],
        &creds,
    );
    let backup = parent.join("hsm.backup");
    cli(
        &[
            "key",
            "backup",
            "--vault-name",
            VAULT,
            "-n",
            "hsm",
            "--file",
            backup.to_str().unwrap(),
        ],
        &creds,
    );
    let tenant = boot["tenantId"].as_str().unwrap();
    let (id, secret) = (
        boot["clientId"].as_str().unwrap(),
        boot["clientSecret"].as_str().unwrap(),
    );
    let vault_token = token(
        server,
        tenant,
        id,
        secret,
        "https://vault.localhost/.default",
    )
    .await;
    let mut wrapped = Vec::new();
    for (vault, key) in [(VAULT, "cmk"), (VAULT, "hsm"), (GONE, "kept")] {
        let value = vault_op(
            server,
            &vault_token,
            vault,
            key,
            "wrapkey",
            &B64.encode(PLAIN),
        )
        .await;
        wrapped.push((key, value));
    }
    cli(&["vault", "delete", "-n", GONE], &creds);

    let mut files = Vec::new();
    let mut api_keys = Vec::new();
    for account in [MMK, CMK] {
        let created = cli(
            &[
                "account",
                "create",
                "-n",
                account,
                "-g",
                "rot-rg",
                "-l",
                "westeurope",
            ],
            &creds,
        );
        if account == CMK {
            let principal = created["identity"]["principalId"]
                .as_str()
                .unwrap()
                .to_owned();
            cli(
                &[
                    "vault",
                    "set-policy",
                    "-n",
                    VAULT,
                    "--object-id",
                    &principal,
                    "--key-permissions",
                    "get",
                    "wrapKey",
                    "unwrapKey",
                ],
                &creds,
            );
            cli(
                &[
                    "account",
                    "encryption",
                    "set",
                    "-n",
                    account,
                    "-g",
                    "rot-rg",
                    "--key-vault-uri",
                    &format!("https://{VAULT}.vault.localhost:{port}/"),
                    "--key-name",
                    "cmk",
                ],
                &creds,
            );
        }
        let content = format!("the {account} file, sealed under its KEK\n").into_bytes();
        let path = parent.join(format!("{account}.txt"));
        std::fs::write(&path, &content).unwrap();
        let file = cli(
            &[
                "file",
                "upload",
                "--account",
                account,
                "-g",
                "rot-rg",
                "--file",
                path.to_str().unwrap(),
                "--purpose",
                "assistants",
            ],
            &creds,
        );
        files.push((account, file["id"].as_str().unwrap().to_owned(), content));
        api_keys.push((
            account,
            cli(&["account", "keys", "-n", account, "-g", "rot-rg"], &creds),
        ));
    }

    let tenant2 = cli(&["tenant", "create", "--name", "rot-contoso"], &creds);
    let t2 = tenant2["tenantId"].as_str().unwrap().to_owned();
    let admin2 = &tenant2["admin"];
    let t2_token = token(
        server,
        &t2,
        admin2["appId"].as_str().unwrap(),
        admin2["clientSecret"].as_str().unwrap(),
        "https://management.localhost/.default",
    )
    .await;
    let t2_jwks = jwks(server, &t2).await;
    assert!(!t2_jwks["keys"].as_array().unwrap().is_empty(), "{t2_jwks}");
    let admin_token = token(
        server,
        tenant,
        id,
        secret,
        "https://management.localhost/.default",
    )
    .await;
    World {
        creds,
        boot,
        files,
        api_keys,
        wrapped,
        backup,
        tenant2: (t2, t2_token, t2_jwks),
        admin_token,
        ca_pem: std::fs::read(data.join("tls/ca.pem")).unwrap(),
    }
}

/// Reads everything back through `server` (the same CA: its client trusts only the CA file
/// saved before the rotation).
async fn check(server: &Server, world: &World, parent: &Path) {
    let data = &server.data_dir;
    assert_eq!(
        std::fs::read(data.join("tls/ca.pem")).unwrap(),
        world.ca_pem
    );
    let creds = &world.creds;
    let port = server.port();
    // The saved credentials name the old port: log in again.
    let bootstrap = data.join("bootstrap.json");
    cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        creds,
    );
    for (account, id, content) in &world.files {
        let out = parent.join(format!("{account}.back"));
        let _ = std::fs::remove_file(&out);
        cli(
            &[
                "file",
                "download",
                "--account",
                account,
                "-g",
                "rot-rg",
                "--id",
                id,
                "--file",
                out.to_str().unwrap(),
            ],
            creds,
        );
        assert_eq!(&std::fs::read(&out).unwrap(), content, "{account}'s file");
    }
    for (account, keys) in &world.api_keys {
        assert_eq!(
            &cli(&["account", "keys", "-n", account, "-g", "rot-rg"], creds),
            keys
        );
        // The API key from before the rotation still opens the data plane.
        let host = format!("{account}.openai.localhost");
        let listed = server
            .client(&[&host])
            .get(format!(
                "https://{host}:{port}/openai/files?api-version=2024-10-21"
            ))
            .header("api-key", keys["key1"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            listed.status().is_success(),
            "{account}: {}",
            listed.status()
        );
    }
    let encryption = cli(
        &["account", "encryption", "show", "-n", CMK, "-g", "rot-rg"],
        creds,
    );
    assert!(encryption.to_string().contains("Active"), "{encryption}");

    let boot = &world.boot;
    let tenant = boot["tenantId"].as_str().unwrap();
    let (id, secret) = (
        boot["clientId"].as_str().unwrap(),
        boot["clientSecret"].as_str().unwrap(),
    );
    // Tokens issued before the rotation verify; new ones are issued.
    let groups = server
        .client(&[])
        .get(format!(
            "https://localhost:{port}/subscriptions/{}/resourcegroups?api-version=2024-11-01",
            boot["subscriptionId"].as_str().unwrap()
        ))
        .bearer_auth(&world.admin_token)
        .send()
        .await
        .unwrap();
    assert!(
        groups.status().is_success(),
        "old token: {}",
        groups.status()
    );
    let (t2, t2_token, t2_jwks) = &world.tenant2;
    assert_eq!(
        &jwks(server, t2).await,
        t2_jwks,
        "the second tenant's signing key"
    );
    let subs = server
        .client(&[])
        .get(format!(
            "https://localhost:{port}/keyhold/v1/tenants/{t2}/subscriptions"
        ))
        .bearer_auth(t2_token)
        .send()
        .await
        .unwrap();
    assert!(
        subs.status().is_success(),
        "tenant 2's old token: {}",
        subs.status()
    );

    let vault_token = token(
        server,
        tenant,
        id,
        secret,
        "https://vault.localhost/.default",
    )
    .await;
    let recovered = cli(&["vault", "recover", "-n", GONE, "-l", "westeurope"], creds);
    assert!(recovered.to_string().contains(GONE), "{recovered}");
    for (key, wrapped) in &world.wrapped {
        let vault = if *key == "kept" { GONE } else { VAULT };
        let plain = vault_op(server, &vault_token, vault, key, "unwrapkey", wrapped).await;
        assert_eq!(B64.decode(plain).unwrap(), PLAIN, "{vault}/{key}");
        vault_op(
            server,
            &vault_token,
            vault,
            key,
            "wrapkey",
            &B64.encode(PLAIN),
        )
        .await;
    }
    cli(&["vault", "delete", "-n", GONE], creds);
    // The backup taken before the rotation restores.
    let target = format!("rot-kv{port}");
    cli(&["vault", "create", "-n", &target, "-g", "rot-rg"], creds);
    cli(
        &[
            "key",
            "restore",
            "--vault-name",
            &target,
            "--file",
            world.backup.to_str().unwrap(),
        ],
        creds,
    );
    let plain = vault_op(
        server,
        &vault_token,
        &target,
        "hsm",
        "unwrapkey",
        &world.wrapped[1].1,
    )
    .await;
    assert_eq!(B64.decode(plain).unwrap(), PLAIN, "the restored backup");
}

/// A free loopback port; every server of a test listens on it, so that tokens issued before the
/// rotation (their issuer names the port) can be used after it.
fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
}

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_from_the_development_key_keeps_everything_and_retires_it() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let listen = free_port();
    let server = start_listening(&data, &listen, &[], &[]);
    let world = build(&server, parent.path()).await;
    let new_key = parent.path().join("new.key");
    generate_key(&new_key);
    let new_arg = new_key.to_str().unwrap();
    // A running server holds the store: refused.
    let (status, _, stderr) = rotate(&data, &["--new-key-file", new_arg], &[]);
    assert!(!status.success());
    assert!(stderr.contains("in use by another process"), "{stderr}");
    let (status, _) = server.stop();
    assert!(status.success());

    let old_copy = parent.path().join("old.key");
    std::fs::copy(data.join("master.key"), &old_copy).unwrap();
    let ca_key_before = std::fs::read(data.join("tls/ca.key.sealed")).unwrap();

    // A wrong old key, a missing new key or the same key twice: refused, nothing changed.
    let wrong = parent.path().join("wrong.key");
    generate_key(&wrong);
    let before = snapshot(&data);
    let (status, _, stderr) = rotate(
        &data,
        &[
            "--old-key-file",
            wrong.to_str().unwrap(),
            "--new-key-file",
            new_arg,
        ],
        &[],
    );
    assert!(!status.success());
    assert!(
        stderr.contains("wrong.key") && stderr.contains("is not the master key"),
        "{stderr}"
    );
    let (status, _, stderr) = rotate(&data, &["--new-key-file", "/nonexistent/new.key"], &[]);
    assert!(
        !status.success() && stderr.contains("master-key generate"),
        "{stderr}"
    );
    let (status, _, stderr) = rotate(&data, &["--new-key-file", old_copy.to_str().unwrap()], &[]);
    assert!(
        !status.success() && stderr.contains("new key is the old key"),
        "{stderr}"
    );
    let (status, _, stderr) = rotate(&data, &["--abort"], &[]);
    assert!(
        !status.success() && stderr.contains("nothing to abort"),
        "{stderr}"
    );
    assert_unchanged(&before, &snapshot(&data), "refused rotations");

    let summary = must_rotate(&data, &["--new-key-file", new_arg]);
    for expected in [
        "vault.vaults",
        "vault.deleted_vaults",
        "vault.key_versions",
        "vault.backup_keys",
        "identity.signing_keys",
        "platform.accounts",
        "platform.keks",
        "ca.key.sealed",
        "rewrote the store file",
        "removed the development key",
    ] {
        assert!(summary.contains(expected), "{expected} in:\n{summary}");
    }
    assert!(!data.join("master.key").exists());
    assert_ne!(
        std::fs::read(data.join("tls/ca.key.sealed")).unwrap(),
        ca_key_before
    );
    let again = must_rotate(
        &data,
        &[
            "--old-key-file",
            old_copy.to_str().unwrap(),
            "--new-key-file",
            new_arg,
        ],
    );
    assert!(
        again.contains("already sealed under the new master key"),
        "{again}"
    );
    assert!(again.contains("re-sealed 0 record"), "{again}");

    // The old key fails at once, naming it; so does no key at all.
    let before = snapshot(&data);
    let stderr = start_fails(&data, &["--master-key-file", old_copy.to_str().unwrap()]);
    assert!(
        stderr.contains("old.key") && stderr.contains("retired by `keyhold master-key rotate`"),
        "{stderr}"
    );
    let stderr = start_fails(&data, &[]);
    assert!(stderr.contains("master.key"), "{stderr}");
    assert_unchanged(&before, &snapshot(&data), "failed starts");

    let server = start_listening(&data, &listen, &["--master-key-file", new_arg], &[]);
    check(&server, &world, parent.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_killed_after_any_write_finishes_or_aborts_when_run_again() {
    let parent = temp_parent();
    let golden = parent.path().join("golden");
    let old_key = parent.path().join("old.key");
    let new_key = parent.path().join("new.key");
    let third = parent.path().join("third.key");
    for key in [&old_key, &new_key, &third] {
        generate_key(key);
    }
    let (old_arg, new_arg) = (old_key.to_str().unwrap(), new_key.to_str().unwrap());
    let listen = free_port();
    let server = start_listening(&golden, &listen, &["--master-key-file", old_arg], &[]);
    let world = build(&server, parent.path()).await;
    let (status, _) = server.stop();
    assert!(status.success());
    let keys = [
        "--old-key-file",
        old_arg,
        "--new-key-file",
        new_arg,
        "--batch",
        "1",
    ];

    let mut aborted = false;
    let mut finished_by_kill = false;
    let mut other_key_refused = false;
    let mut checked: Vec<(u64, bool)> = Vec::new();
    let mut positions = 0;
    for n in 1u64.. {
        let data = parent.path().join(format!("run{n}"));
        copy_dir(&golden, &data);
        let (status, _, stderr) = rotate(
            &data,
            &keys,
            &[("KEYHOLD_TEST_ROTATE_KILL_AFTER", &n.to_string())],
        );
        if status.success() {
            positions = n - 1;
            std::fs::remove_dir_all(&data).unwrap();
            break;
        }
        assert_eq!(status.signal(), Some(9), "killed after write {n}: {stderr}");
        let with_old = start_fails(&data, &["--master-key-file", old_arg]);
        if with_old.contains("retired") {
            // Killed after its last write: finished, and a rerun has nothing left to do.
            let again = must_rotate(&data, &keys);
            assert!(again.contains("already sealed"), "{again}");
            let server = start_listening(&data, &listen, &["--master-key-file", new_arg], &[]);
            check(&server, &world, parent.path()).await;
            drop(server);
            finished_by_kill = true;
            std::fs::remove_dir_all(&data).unwrap();
            continue;
        }
        // Neither key starts a server while the rotation is unfinished.
        assert!(with_old.contains("has not finished"), "{with_old}");
        let with_new = start_fails(&data, &["--master-key-file", new_arg]);
        assert!(with_new.contains("has not finished"), "{with_new}");
        let before_commit = with_old.contains("--abort");

        if !other_key_refused {
            // A third key as the new one is refused without changing a byte.
            let before = snapshot(&data);
            let (status, _, stderr) = rotate(
                &data,
                &[
                    "--old-key-file",
                    old_arg,
                    "--new-key-file",
                    third.to_str().unwrap(),
                ],
                &[],
            );
            assert!(
                !status.success() && stderr.contains("another new key"),
                "{stderr}"
            );
            assert_unchanged(&before, &snapshot(&data), "a rotation to another key");
            other_key_refused = true;
        }
        if before_commit && !aborted && n >= 5 {
            // Before the commit the old key alone still opens everything.
            let out = must_rotate(&data, &["--old-key-file", old_arg, "--abort"]);
            assert!(out.contains("abandoned"), "{out}");
            assert!(!data.join("tls/ca.key.sealed.next").exists());
            let server = start_listening(&data, &listen, &["--master-key-file", old_arg], &[]);
            check(&server, &world, parent.path()).await;
            drop(server);
            aborted = true;
            std::fs::remove_dir_all(&data).unwrap();
            continue;
        }
        if !before_commit {
            let (status, _, stderr) = rotate(&data, &["--old-key-file", old_arg, "--abort"], &[]);
            assert!(
                !status.success() && stderr.contains("already committed"),
                "{stderr}"
            );
        }
        let out = must_rotate(&data, &keys);
        assert!(
            out.contains("finished a rotation an earlier run had taken"),
            "{out}"
        );
        let again = must_rotate(&data, &keys);
        assert!(again.contains("already sealed"), "{again}");
        assert!(!data.join("store.redb.rotating").exists());
        // Read everything back at a few positions spread over the phases.
        if n == 2 || n % 9 == 0 || (!before_commit && !checked.iter().any(|(_, b)| !*b)) {
            let server = start_listening(&data, &listen, &["--master-key-file", new_arg], &[]);
            check(&server, &world, parent.path()).await;
            drop(server);
            checked.push((n, before_commit));
        }
        std::fs::remove_dir_all(&data).unwrap();
    }
    eprintln!("{positions} kill positions; read back after kills at {checked:?}");
    assert!(aborted, "a kill before the commit was tested");
    assert!(finished_by_kill, "a kill after the last write was tested");
    assert!(
        checked.iter().any(|(_, before)| !*before),
        "a kill after the commit was read back: {checked:?}"
    );
    // Every master-sealed record is one write with --batch 1, twice (prepare, apply), plus
    // the rotation's own steps.
    assert!(positions >= 20, "only {positions} kill positions");

    // And the last kill position's data is whole with the new key only.
    let data = parent.path().join("final");
    copy_dir(&golden, &data);
    must_rotate(&data, &keys);
    let stderr = start_fails(&data, &["--master-key-file", old_arg]);
    assert!(stderr.contains("retired"), "{stderr}");
    let server = start_listening(&data, &listen, &["--master-key-file", new_arg], &[]);
    check(&server, &world, parent.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_cluster_rotates_once_and_each_node_reseals_its_own_files() {
    let pg = keyhold_store_postgres::testing::TestPostgres::start();
    let url = pg.create_database("rotate");
    let parent = temp_parent();
    let (node1, node2) = (parent.path().join("node1"), parent.path().join("node2"));
    let old_key = parent.path().join("old.key");
    let new_key = parent.path().join("new.key");
    generate_key(&old_key);
    generate_key(&new_key);
    let (old_arg, new_arg) = (old_key.to_str().unwrap(), new_key.to_str().unwrap());
    let old_args = ["--store", url.as_str(), "--master-key-file", old_arg];
    let new_args = ["--store", url.as_str(), "--master-key-file", new_arg];

    let listen = free_port();
    let first = start_listening(&node1, &listen, &old_args, &[]);
    let second = start_listening(&node2, "127.0.0.1:0", &old_args, &[]);
    let world = build(&first, parent.path()).await;
    let rotate_args = [
        "--store",
        url.as_str(),
        "--old-key-file",
        old_arg,
        "--new-key-file",
        new_arg,
    ];
    // Nodes are connected: refused, naming where they connect from.
    let (status, _, stderr) = rotate(&node1, &rotate_args, &[]);
    assert!(!status.success());
    assert!(
        stderr.contains("other keyhold connection") && stderr.contains("127.0.0.1"),
        "{stderr}"
    );
    assert!(first.stop().0.success());
    assert!(second.stop().0.success());

    let summary = must_rotate(&node1, &rotate_args);
    assert!(
        summary.contains("platform.accounts") && summary.contains("node1/tls/ca.key.sealed"),
        "{summary}"
    );
    assert!(!summary.contains("rewrote the store file"), "{summary}");

    // The other node's own CA key is still under the old key: its start says what to do, and
    // the same command re-seals it (the database is done already).
    let stderr = start_fails(&node2, &new_args);
    assert!(stderr.contains("run it on this node too"), "{stderr}");
    let other = must_rotate(&node2, &rotate_args);
    assert!(
        other.contains("already sealed") && other.contains("node2/tls/ca.key.sealed"),
        "{other}"
    );
    let stderr = start_fails(&node1, &old_args);
    assert!(stderr.contains("retired"), "{stderr}");

    let second = start_listening(&node2, "127.0.0.1:0", &new_args, &[]);
    // The same signing key (another node names another issuer port).
    let (t2, _, t2_jwks) = &world.tenant2;
    let kids = |set: &Value| -> Vec<(Value, Value)> {
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["kid"].clone(), k["n"].clone()))
            .collect()
    };
    assert_eq!(kids(&jwks(&second, t2).await), kids(t2_jwks));
    drop(second);
    let first = start_listening(&node1, &listen, &new_args, &[]);
    check(&first, &world, parent.path()).await;
}
