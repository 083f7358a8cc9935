//! `keyhold login` and `keyhold identity …` against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{run_to_exit, start, temp_parent};
use serde_json::Value;

fn cli(args: &[&str], creds: &str) -> Value {
    let (status, stdout, stderr) = run_to_exit(args, &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    assert!(status.success(), "keyhold {args:?} failed: {stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed non-JSON ({e}): {stdout}"))
}

#[test]
fn login_and_manage_service_principals() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let creds = parent.path().join("creds.json");
    let creds = creds.to_str().unwrap();

    // Without login: a clear error.
    let (status, _, stderr) = run_to_exit(
        &["identity", "sp", "list"],
        &[("KEYHOLD_CLIENT_CONFIG", creds)],
    );
    assert!(!status.success());
    assert!(stderr.contains("keyhold login"), "{stderr}");

    let bootstrap = data.join("bootstrap.json");
    let login = cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        creds,
    );
    assert_eq!(login["loggedIn"], true);
    assert_eq!(
        std::fs::metadata(creds).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let created = cli(
        &["identity", "sp", "create", "--name", "ci-pipeline"],
        creds,
    );
    let app_id = created["appId"].as_str().unwrap().to_owned();
    let secret = created["clientSecret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 40);
    let list = cli(&["identity", "sp", "list"], creds);
    let entry = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["appId"] == app_id.as_str())
        .unwrap();
    assert!(
        entry.get("clientSecret").is_none(),
        "secrets are shown once"
    );

    // The new principal can log in with its own secret (read from a file).
    let secret_file = parent.path().join("secret");
    std::fs::write(&secret_file, &secret).unwrap();
    let creds2 = parent.path().join("creds2.json");
    let endpoint = format!("https://localhost:{}", server.port());
    let tenant = cli(
        &[
            "identity",
            "token",
            "--scope",
            "https://vault.localhost/.default",
        ],
        creds,
    );
    assert_eq!(
        tenant["accessToken"].as_str().unwrap().split('.').count(),
        3
    );
    let boot: Value = serde_json::from_slice(&std::fs::read(&bootstrap).unwrap()).unwrap();
    let ca = data.join("tls/ca.pem");
    let (status, _, stderr) = run_to_exit(
        &[
            "login",
            "--endpoint",
            &endpoint,
            "--tenant",
            boot["tenantId"].as_str().unwrap(),
            "--client-id",
            &app_id,
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--ca",
            ca.to_str().unwrap(),
        ],
        &[("KEYHOLD_CLIENT_CONFIG", creds2.to_str().unwrap())],
    );
    assert!(status.success(), "{stderr}");

    // Reset: the old secret stops working for a new login.
    let reset = cli(
        &["identity", "sp", "reset-secret", "--app-id", &app_id],
        creds,
    );
    assert_ne!(reset["clientSecret"].as_str().unwrap(), secret);
    let creds3 = parent.path().join("creds3.json");
    let (status, _, stderr) = run_to_exit(
        &[
            "login",
            "--endpoint",
            &endpoint,
            "--tenant",
            boot["tenantId"].as_str().unwrap(),
            "--client-id",
            &app_id,
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--ca",
            ca.to_str().unwrap(),
        ],
        &[("KEYHOLD_CLIENT_CONFIG", creds3.to_str().unwrap())],
    );
    assert!(!status.success());
    assert!(stderr.contains("invalid_client"), "{stderr}");
    assert!(!creds3.exists(), "failed logins save nothing");

    let disabled = cli(&["identity", "sp", "disable", "--app-id", &app_id], creds);
    assert_eq!(disabled["accountEnabled"], false);
    cli(&["identity", "sp", "delete", "--app-id", &app_id], creds);
    let list = cli(&["identity", "sp", "list"], creds);
    assert!(
        !list["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["appId"] == app_id.as_str())
    );
    let rotated = cli(&["identity", "rotate-signing-key"], creds);
    assert!(rotated["kid"].is_string());
    drop(server);
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn tenants_subscriptions_and_a_move_from_the_cli() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let creds = parent.path().join("creds.json");
    let creds = creds.to_str().unwrap();
    let bootstrap = data.join("bootstrap.json");
    cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        creds,
    );

    let tenant = cli(&["tenant", "create", "--name", "contoso"], creds);
    let tenant_id = tenant["tenantId"].as_str().unwrap().to_owned();
    let admin = &tenant["admin"];
    assert_eq!(admin["clientSecret"].as_str().unwrap().len(), 40);
    assert!(ids(&cli(&["tenant", "list"], creds), "tenantId").contains(&tenant_id));
    let sub = cli(&["subscription", "create", "--name", "s2"], creds);
    let sub_id = sub["subscriptionId"].as_str().unwrap().to_owned();
    assert!(ids(&cli(&["subscription", "list"], creds), "subscriptionId").contains(&sub_id));

    // A move to an owner outside the target tenant is refused and changes nothing.
    let me = cli(&["identity", "whoami"], creds);
    let (status, _, stderr) = run_to_exit(
        &[
            "subscription",
            "move",
            "--subscription",
            &sub_id,
            "--to-tenant",
            &tenant_id,
            "--owner",
            me["objectId"].as_str().unwrap(),
        ],
        &[("KEYHOLD_CLIENT_CONFIG", creds)],
    );
    assert!(!status.success());
    assert!(stderr.contains("PrincipalNotFound"), "{stderr}");
    assert!(ids(&cli(&["subscription", "list"], creds), "subscriptionId").contains(&sub_id));

    let moved = cli(
        &[
            "subscription",
            "move",
            "--subscription",
            &sub_id,
            "--to-tenant",
            &tenant_id,
            "--owner",
            admin["objectId"].as_str().unwrap(),
        ],
        creds,
    );
    assert_eq!(moved["toTenantId"], tenant_id.as_str());
    assert!(!ids(&cli(&["subscription", "list"], creds), "subscriptionId").contains(&sub_id));

    // The new tenant's administrator logs in and finds the subscription in its tenant.
    let secret_file = parent.path().join("admin-secret");
    std::fs::write(&secret_file, admin["clientSecret"].as_str().unwrap()).unwrap();
    let creds_b = parent.path().join("creds-b.json");
    let creds_b = creds_b.to_str().unwrap();
    let ca = data.join("tls/ca.pem");
    cli(
        &[
            "login",
            "--endpoint",
            &format!("https://localhost:{}", server.port()),
            "--tenant",
            &tenant_id,
            "--client-id",
            admin["appId"].as_str().unwrap(),
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--ca",
            ca.to_str().unwrap(),
        ],
        creds_b,
    );
    assert_eq!(
        ids(&cli(&["subscription", "list"], creds_b), "subscriptionId"),
        vec![sub_id]
    );
    let (status, _, _) = run_to_exit(&["tenant", "list"], &[("KEYHOLD_CLIENT_CONFIG", creds_b)]);
    assert!(
        !status.success(),
        "a tenant's administrator is not the directory's"
    );
    drop(server);
}
