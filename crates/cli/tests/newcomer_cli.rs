//! A newcomer's first hour with keyhold's own CLI, against a real server: resource groups,
//! a vault and key (times shown as ISO-8601, the key disabled and enabled again), az-style
//! output (`-o table|tsv`, `--query`), a user-assigned identity with a workload binding whose
//! token really works, role assignments that really grant (and stop granting) vault access,
//! a model deployment, and `examples/train.jsonl` uploaded and accepted by a fine-tuning job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run_to_exit, start, temp_parent};
use serde_json::{Value, json};

fn run(args: &[&str], creds: &str) -> (bool, String, String) {
    let (status, stdout, stderr) = run_to_exit(args, &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    (status.success(), stdout, stderr)
}

fn text(args: &[&str], creds: &str) -> String {
    let (ok, stdout, stderr) = run(args, creds);
    assert!(ok, "keyhold {args:?} failed: {stderr}");
    stdout
}

fn cli(args: &[&str], creds: &str) -> Value {
    let stdout = text(args, creds);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed non-JSON ({e}): {stdout}"))
}

fn fails(args: &[&str], creds: &str) -> String {
    let (ok, _, stderr) = run(args, creds);
    assert!(!ok, "keyhold {args:?} should have failed");
    stderr
}

/// `2026-12-04T18:46:46Z`.
fn is_iso_utc(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    let b = s.as_bytes();
    s.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && s.starts_with("20")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newcomers_first_hour() {
    let parent = temp_parent();
    let data = parent.path().join("data");
    let server = start(&data, &[], &[]);
    let creds = parent.path().join("creds.json");
    let creds = creds.to_str().unwrap();
    let bootstrap = data.join("bootstrap.json");
    let login = cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        creds,
    );
    let boot: Value = serde_json::from_slice(&std::fs::read(&bootstrap).unwrap()).unwrap();
    assert_eq!(login["subscriptionId"], boot["subscriptionId"]);
    let sub = boot["subscriptionId"].as_str().unwrap();

    // Resource groups.
    let rg = cli(
        &["group", "create", "-n", "rg1", "--tags", "env=dev"],
        creds,
    );
    assert_eq!(rg["location"], "westeurope");
    assert_eq!(rg["tags"], json!({ "env": "dev" }));
    cli(
        &["group", "create", "-n", "rg2", "-l", "northeurope"],
        creds,
    );
    let table = text(&["group", "list", "-o", "table"], creds);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("Location"), "{table}");
    assert!(
        lines[0].contains("Name") && !lines[0].contains("Id"),
        "{table}"
    );
    assert!(lines[1].starts_with("--------"), "{table}");
    assert_eq!(lines.len(), 4, "{table}");
    assert!(table.contains("northeurope  rg2"), "{table}");
    assert_eq!(
        text(
            &[
                "group", "show", "-n", "rg2", "--query", "location", "-o", "tsv"
            ],
            creds
        ),
        "northeurope\n"
    );
    assert_eq!(
        cli(
            &["group", "list", "--query", "[?location=='westeurope'].name"],
            creds
        ),
        json!(["rg1"])
    );
    let table = text(
        &[
            "group",
            "list",
            "-o",
            "table",
            "--query",
            "[].{n:name, where:location}",
        ],
        creds,
    );
    assert!(
        table.starts_with("N    Where\n---  "),
        "columns in query order: {table}"
    );
    assert_eq!(
        cli(&["group", "delete", "-n", "rg2"], creds)["deleted"],
        "rg2"
    );
    assert!(fails(&["group", "show", "-n", "rg2"], creds).contains("404"));

    // A vault and a key: times are ISO-8601; the key can be disabled with keyhold's own CLI.
    cli(
        &[
            "vault",
            "create",
            "-n",
            "kv1",
            "-g",
            "rg1",
            "--retention-days",
            "7",
            "--enable-purge-protection",
        ],
        creds,
    );
    let key = cli(
        &["key", "create", "--vault-name", "kv1", "-n", "cmk"],
        creds,
    );
    assert!(is_iso_utc(&key["attributes"]["created"]), "{key}");
    assert!(is_iso_utc(&key["attributes"]["updated"]), "{key}");
    let tsv = text(
        &[
            "key",
            "list",
            "--vault-name",
            "kv1",
            "-o",
            "tsv",
            "--query",
            "[].attributes.created",
        ],
        creds,
    );
    assert!(is_iso_utc(&json!(tsv.trim_end())), "{tsv}");
    let table = text(
        &[
            "key",
            "show",
            "--vault-name",
            "kv1",
            "-n",
            "cmk",
            "-o",
            "table",
        ],
        creds,
    );
    assert!(
        !table.contains("\"created\":1") && table.contains("\"created\":\"20"),
        "{table}"
    );
    let set = |value: Option<&str>| {
        let mut args = vec![
            "key",
            "set-attributes",
            "--vault-name",
            "kv1",
            "-n",
            "cmk",
            "--enabled",
        ];
        args.extend(value);
        cli(&args, creds)["attributes"]["enabled"].clone()
    };
    assert_eq!(set(Some("false")), false);
    assert_eq!(
        cli(&["key", "show", "--vault-name", "kv1", "-n", "cmk"], creds)["attributes"]["enabled"],
        false
    );
    assert_eq!(set(Some("true")), true);
    assert_eq!(set(Some("false")), false);
    assert_eq!(set(None), true, "--enabled alone still means true");
    let err = fails(
        &["key", "set-attributes", "--vault-name", "kv1", "-n", "cmk"],
        creds,
    );
    assert!(err.contains("--enabled true|false"), "{err}");

    // A user-assigned identity and a workload binding that hands out its tokens.
    let identity = cli(&["identity", "create", "-n", "id1", "-g", "rg1"], creds);
    let client_id = identity["properties"]["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let principal_id = identity["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(identity["location"], "westeurope");
    assert_eq!(
        cli(
            &["identity", "list", "-g", "rg1", "--query", "[].name"],
            creds
        ),
        json!(["id1"])
    );
    assert_eq!(
        cli(&["identity", "show", "-n", "id1", "-g", "rg1"], creds)["properties"]["principalId"],
        principal_id.as_str()
    );
    let (ok, stdout, stderr) = run(
        &[
            "identity",
            "binding",
            "create",
            "--identity",
            "id1",
            "-g",
            "rg1",
        ],
        creds,
    );
    assert!(ok, "{stderr}");
    let binding: Value = serde_json::from_str(&stdout).unwrap();
    let endpoint = binding["identityEndpoint"].as_str().unwrap().to_owned();
    let header = binding["identityHeader"].as_str().unwrap().to_owned();
    assert_eq!(
        endpoint,
        format!("https://localhost:{}/msi/token", server.port())
    );
    assert!(
        stderr.contains(&format!("export IDENTITY_ENDPOINT='{endpoint}'")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("export IDENTITY_HEADER='{header}'")),
        "{stderr}"
    );
    let identity_id = identity["id"].as_str().unwrap();
    let exports = text(
        &[
            "identity",
            "binding",
            "create",
            "--identity",
            identity_id,
            "--export",
        ],
        creds,
    );
    let lines: Vec<&str> = exports.lines().collect();
    assert_eq!(lines.len(), 2, "{exports}");
    assert!(
        lines[0].starts_with("export IDENTITY_ENDPOINT='https://"),
        "{exports}"
    );
    assert!(
        lines[1].starts_with("export IDENTITY_HEADER='"),
        "{exports}"
    );
    let err = fails(
        &["identity", "binding", "create", "--identity", "id1"],
        creds,
    );
    assert!(err.contains("-g"), "{err}");

    // Role assignments, by role name and appId, really grant access to an RBAC vault.
    cli(
        &[
            "vault",
            "create",
            "-n",
            "kv2",
            "-g",
            "rg1",
            "--enable-rbac-authorization",
        ],
        creds,
    );
    let http = server.client(&["kv2.vault.localhost"]);
    let msi_token = || async {
        let answer: Value = http
            .get(format!(
                "{endpoint}?resource=https://vault.localhost&api-version=2019-08-01"
            ))
            .header("X-IDENTITY-HEADER", &header)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"].as_str().unwrap().to_owned()
    };
    let key_url = format!(
        "https://kv2.vault.localhost:{}/keys/k2?api-version=7.6",
        server.port()
    );
    // The admin (Owner) needs a data role too, to make the key.
    let admin = cli(&["identity", "whoami"], creds);
    cli(
        &[
            "role",
            "assign",
            "--assignee",
            admin["appId"].as_str().unwrap(),
            "--role",
            "Key Vault Crypto Officer",
            "--vault",
            "kv2",
        ],
        creds,
    );
    cli(&["key", "create", "--vault-name", "kv2", "-n", "k2"], creds);
    let get_key = |token: String| {
        let http = http.clone();
        let url = key_url.clone();
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get_key(msi_token().await).await, 403, "no role yet");
    let assigned = cli(
        &[
            "role",
            "assign",
            "--assignee",
            &client_id,
            "--role",
            "Key Vault Crypto User",
            "-g",
            "rg1",
            "--vault",
            "kv2",
        ],
        creds,
    );
    assert_eq!(
        assigned["principalId"],
        principal_id.as_str(),
        "appId resolved"
    );
    assert_eq!(assigned["roleDefinitionName"], "Key Vault Crypto User");
    assert!(
        assigned["scope"]
            .as_str()
            .unwrap()
            .ends_with("/providers/Microsoft.KeyVault/vaults/kv2")
    );
    assert!(uuid::Uuid::parse_str(assigned["name"].as_str().unwrap()).is_ok());
    assert_eq!(
        get_key(msi_token().await).await,
        200,
        "the role grants access"
    );
    let listed = cli(
        &[
            "role",
            "list",
            "--vault",
            "kv2",
            "--assignee",
            &principal_id,
        ],
        creds,
    );
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["roleDefinitionName"], "Key Vault Crypto User");
    // By objectId and role GUID, at the group; then deleted by name.
    let reader_id = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    let by_guid = cli(
        &[
            "role",
            "assign",
            "--assignee",
            &principal_id,
            "--role",
            reader_id,
            "-g",
            "rg1",
        ],
        creds,
    );
    assert_eq!(by_guid["roleDefinitionName"], "Reader");
    assert_eq!(
        by_guid["scope"],
        format!("/subscriptions/{sub}/resourceGroups/rg1")
    );
    let deleted = cli(
        &[
            "role",
            "delete",
            "--name",
            by_guid["name"].as_str().unwrap(),
            "-g",
            "rg1",
        ],
        creds,
    );
    assert_eq!(deleted["deleted"], json!([by_guid["name"]]));
    let err = fails(
        &[
            "role",
            "assign",
            "--assignee",
            &principal_id,
            "--role",
            "Key Vault Wizard",
            "-g",
            "rg1",
        ],
        creds,
    );
    assert!(
        err.contains("no role named") && err.contains("Key Vault Crypto User"),
        "{err}"
    );
    let table = text(
        &[
            "role",
            "list",
            "--vault",
            "kv2",
            "-o",
            "table",
            "--query",
            "[].{role:roleDefinitionName, principal:principalId}",
        ],
        creds,
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("Key Vault Crypto User ") && l.ends_with(&principal_id)),
        "{table}"
    );
    cli(
        &[
            "role",
            "delete",
            "--assignee",
            &client_id,
            "--role",
            "Key Vault Crypto User",
            "--vault",
            "kv2",
        ],
        creds,
    );
    assert_eq!(
        get_key(msi_token().await).await,
        403,
        "access ends with the assignment"
    );

    // A deployment, following the long-running-operation headers.
    cli(
        &[
            "account",
            "create",
            "-n",
            "ai1",
            "-g",
            "rg1",
            "-l",
            "westeurope",
        ],
        creds,
    );
    let deployment = cli(
        &[
            "deployment",
            "create",
            "--account",
            "ai1",
            "-g",
            "rg1",
            "-n",
            "chat",
            "--model",
            "gpt-4o-mini",
            "--model-version",
            "2024-07-18",
            "--capacity",
            "2",
        ],
        creds,
    );
    assert_eq!(deployment["properties"]["provisioningState"], "Succeeded");
    assert_eq!(deployment["properties"]["model"]["name"], "gpt-4o-mini");
    assert_eq!(
        deployment["sku"],
        json!({ "name": "Standard", "capacity": 2 })
    );
    assert!(is_iso_utc(&deployment["systemData"]["createdAt"]));
    assert_eq!(
        cli(
            &[
                "deployment",
                "list",
                "--account",
                "ai1",
                "-g",
                "rg1",
                "--query",
                "[].name"
            ],
            creds
        ),
        json!(["chat"])
    );
    assert_eq!(
        cli(
            &[
                "deployment",
                "show",
                "--account",
                "ai1",
                "-g",
                "rg1",
                "-n",
                "chat"
            ],
            creds
        )["name"],
        "chat"
    );
    cli(
        &[
            "deployment",
            "delete",
            "--account",
            "ai1",
            "-g",
            "rg1",
            "-n",
            "chat",
        ],
        creds,
    );
    let err = fails(
        &[
            "deployment",
            "show",
            "--account",
            "ai1",
            "-g",
            "rg1",
            "-n",
            "chat",
        ],
        creds,
    );
    assert!(err.contains("DeploymentNotFound"), "{err}");

    // examples/train.jsonl is accepted for fine-tuning.
    let train = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/train.jsonl");
    let uploaded = cli(
        &[
            "file",
            "upload",
            "--account",
            "ai1",
            "-g",
            "rg1",
            "--file",
            train,
        ],
        creds,
    );
    assert_eq!(uploaded["status"], "processed", "{uploaded}");
    assert!(is_iso_utc(&uploaded["created_at"]), "{uploaded}");
    let lines = std::fs::read_to_string(train).unwrap();
    assert!((15..=30).contains(&lines.lines().count()));
    for line in lines.lines() {
        let example: Value = serde_json::from_str(line).unwrap();
        let roles: Vec<&str> = example["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant"], "{line}");
    }
    let key1 = cli(&["account", "keys", "-n", "ai1", "-g", "rg1"], creds)["key1"]
        .as_str()
        .unwrap()
        .to_owned();
    let ai = server.client(&["ai1.openai.localhost"]);
    let base = format!("https://ai1.openai.localhost:{}/openai", server.port());
    let job: Value = ai
        .post(format!("{base}/fine_tuning/jobs?api-version=2024-10-21"))
        .header("api-key", &key1)
        .json(&json!({ "model": "gpt-4o-mini-2024-07-18", "training_file": uploaded["id"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"]
        .as_str()
        .unwrap_or_else(|| panic!("job refused: {job}"))
        .to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let job: Value = ai
            .get(format!(
                "{base}/fine_tuning/jobs/{id}?api-version=2024-10-21"
            ))
            .header("api-key", &key1)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match job["status"].as_str().unwrap() {
            "succeeded" => break,
            "failed" | "cancelled" => panic!("the job on examples/train.jsonl ended: {job}"),
            _ if std::time::Instant::now() > deadline => panic!("the job took too long: {job}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    drop(server);
}
