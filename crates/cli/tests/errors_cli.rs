//! What the CLI says when something is wrong, against a real server: a 403 names the missing
//! permission and the command that grants it (and that command works), a refused secret
//! points at `keyhold login` without printing any secret, a stopped server is named once with
//! a hint to start it, and a bad `-o` or `--query` is explained.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::OpenOptionsExt;

use common::{run_to_exit, start, temp_parent};
use serde_json::Value;

fn run(args: &[&str], creds: &str) -> (bool, String, String) {
    let (status, stdout, stderr) = run_to_exit(args, &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    (status.success(), stdout, stderr)
}

fn cli(args: &[&str], creds: &str) -> Value {
    let (ok, stdout, stderr) = run(args, creds);
    assert!(ok, "keyhold {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

fn fails(args: &[&str], creds: &str) -> String {
    let (ok, _, stderr) = run(args, creds);
    assert!(!ok, "keyhold {args:?} should have failed");
    stderr
}

fn write_private(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Splits a suggested command line (`keyhold role assign --assignee A --role "Key Vault …"`)
/// into arguments, honouring double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[test]
fn errors_say_what_to_do() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let admin = parent.path().join("admin.json");
    let admin = admin.to_str().unwrap();
    let bootstrap = data.join("bootstrap.json");
    cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        admin,
    );
    let boot: Value = serde_json::from_slice(&std::fs::read(&bootstrap).unwrap()).unwrap();
    let sub = boot["subscriptionId"].as_str().unwrap();
    let endpoint = format!("https://localhost:{}", server.port());

    // A principal without any role.
    let sp = cli(&["identity", "sp", "create", "--name", "newcomer"], admin);
    let app_id = sp["appId"].as_str().unwrap();
    let secret = sp["clientSecret"].as_str().unwrap();
    let secret_file = parent.path().join("secret");
    write_private(&secret_file, secret);
    let user = parent.path().join("user.json");
    let user = user.to_str().unwrap();
    cli(
        &[
            "login",
            "--endpoint",
            &endpoint,
            "--tenant",
            boot["tenantId"].as_str().unwrap(),
            "--client-id",
            app_id,
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--ca",
            data.join("tls/ca.pem").to_str().unwrap(),
            "--subscription",
            sub,
        ],
        user,
    );

    // 403: the permission, and the command that grants it; run as the admin, it works.
    let err = fails(&["vault", "list"], user);
    assert!(err.contains("403 AuthorizationFailed"), "{err}");
    assert!(
        err.contains("lack permission 'Microsoft.KeyVault/vaults/read'"),
        "{err}"
    );
    let suggested = err
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("keyhold role assign"))
        .unwrap_or_else(|| panic!("no suggested grant in: {err}"));
    assert_eq!(
        suggested,
        format!(
            "keyhold role assign --assignee {app_id} --role Reader --scope /subscriptions/{sub}"
        )
    );
    let args = words(suggested);
    let args: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    cli(&args, admin);
    assert_eq!(cli(&["vault", "list"], user), serde_json::json!([]));
    let err = fails(&["group", "create", "-n", "rg-new"], user);
    assert!(
        err.contains(&format!(
            "--role Contributor --scope /subscriptions/{sub}\n"
        )),
        "a new group is granted on the subscription: {err}"
    );

    // 401: a wrong secret points at `keyhold login` and no secret is printed.
    let mut wrong: Value = serde_json::from_slice(&std::fs::read(user).unwrap()).unwrap();
    wrong["clientSecret"] = "not-the-secret-0123456789".into();
    let wrong_file = parent.path().join("wrong.json");
    write_private(&wrong_file, &wrong.to_string());
    let err = fails(&["vault", "list"], wrong_file.to_str().unwrap());
    assert!(err.contains("401 invalid_client"), "{err}");
    assert!(err.contains("run `keyhold login` again"), "{err}");
    assert!(
        !err.contains("not-the-secret") && !err.contains(secret),
        "{err}"
    );

    // Bad output options are explained before anything is sent.
    let err = fails(&["group", "list", "-o", "back.jsonl"], admin);
    assert!(
        err.contains("json, table, tsv or none") && err.contains("--file"),
        "{err}"
    );
    let err = fails(&["group", "list", "--query", "[?name=="], admin);
    assert!(err.contains("invalid --query"), "{err}");

    // The server stopped: the URL once, and how to start it.
    let (status, _) = server.stop();
    assert!(status.success());
    let err = fails(&["group", "list"], admin);
    assert_eq!(err.matches("https://").count(), 1, "the URL once: {err}");
    assert!(err.contains(&format!("cannot reach {endpoint}/")), "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(err.contains("Start it with `keyhold serve`"), "{err}");
    assert!(
        !err.contains(boot["clientSecret"].as_str().unwrap()),
        "{err}"
    );
}
