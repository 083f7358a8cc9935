//! `keyhold vault …`, `keyhold key …` and `keyhold audit …` against a real server, including
//! an audit log tampered with on disk being caught by `keyhold audit verify`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{run_to_exit, start, temp_parent};
use keyhold_store::{Batch, RecordStore, RedbRecordStore};
use serde_json::Value;

fn cli(args: &[&str], creds: &str) -> Value {
    let (status, stdout, stderr) = run_to_exit(args, &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    assert!(status.success(), "keyhold {args:?} failed: {stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed non-JSON ({e}): {stdout}"))
}

fn cli_fails(args: &[&str], creds: &str) -> String {
    let (status, _, stderr) = run_to_exit(args, &[("KEYHOLD_CLIENT_CONFIG", creds)]);
    assert!(!status.success(), "keyhold {args:?} should have failed");
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn vaults_keys_and_a_verified_audit_log() {
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
    let boot: Value = serde_json::from_slice(&std::fs::read(&bootstrap).unwrap()).unwrap();
    let sub = boot["subscriptionId"].as_str().unwrap();

    // The resource group through plain REST, as `az group create` would.
    let client = server.client(&[]);
    let token = common::admin_token(&client, &boot, "https://management.localhost/.default").await;
    let rg = client
        .put(format!(
            "https://localhost:{}/subscriptions/{sub}/resourcegroups/cli-rg?api-version=2024-11-01",
            server.port()
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({"location": "westeurope"}))
        .send()
        .await
        .unwrap();
    assert!(rg.status().is_success());

    let vault = cli(
        &[
            "vault",
            "create",
            "-n",
            "cli-kv",
            "-g",
            "cli-rg",
            "--retention-days",
            "7",
            "--enable-purge-protection",
        ],
        creds,
    );
    assert_eq!(vault["properties"]["enablePurgeProtection"], true);
    assert_eq!(
        cli(&["vault", "show", "-n", "cli-kv"], creds)["name"],
        "cli-kv"
    );
    assert_eq!(cli(&["vault", "list"], creds).as_array().unwrap().len(), 1);

    let key = cli(
        &["key", "create", "--vault-name", "cli-kv", "-n", "k1"],
        creds,
    );
    let v1 = key["key"]["kid"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    cli(
        &["key", "rotate", "--vault-name", "cli-kv", "-n", "k1"],
        creds,
    );
    let versions = cli(
        &["key", "versions", "--vault-name", "cli-kv", "-n", "k1"],
        creds,
    );
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let shown = cli(
        &[
            "key",
            "show",
            "--vault-name",
            "cli-kv",
            "-n",
            "k1",
            "--version",
            &v1,
        ],
        creds,
    );
    assert_eq!(shown["key"]["n"], key["key"]["n"]);
    let backup = parent.path().join("k1.backup");
    cli(
        &[
            "key",
            "backup",
            "--vault-name",
            "cli-kv",
            "-n",
            "k1",
            "--file",
            backup.to_str().unwrap(),
        ],
        creds,
    );
    // Backups never overwrite a file.
    let err = cli_fails(
        &[
            "key",
            "backup",
            "--vault-name",
            "cli-kv",
            "-n",
            "k1",
            "--file",
            backup.to_str().unwrap(),
        ],
        creds,
    );
    assert!(err.contains("cannot create"), "{err}");
    cli(
        &["key", "delete", "--vault-name", "cli-kv", "-n", "k1"],
        creds,
    );
    let err = cli_fails(
        &["key", "purge", "--vault-name", "cli-kv", "-n", "k1"],
        creds,
    );
    assert!(err.contains("purge protection"), "{err}");
    let deleted = cli(&["key", "list-deleted", "--vault-name", "cli-kv"], creds);
    assert_eq!(deleted.as_array().unwrap().len(), 1);
    cli(
        &["key", "recover", "--vault-name", "cli-kv", "-n", "k1"],
        creds,
    );
    cli(
        &[
            "vault",
            "set-policy",
            "-n",
            "cli-kv",
            "--object-id",
            "00000000-0000-0000-0000-00000000abcd",
            "--key-permissions",
            "get",
            "wrapKey",
        ],
        creds,
    );
    let policies = cli(
        &[
            "vault",
            "delete-policy",
            "-n",
            "cli-kv",
            "--object-id",
            "00000000-0000-0000-0000-00000000abcd",
        ],
        creds,
    );
    assert_eq!(
        policies["properties"]["accessPolicies"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // An AI account whose managed identity gets access, then a customer-managed key.
    let account = cli(
        &[
            "account",
            "create",
            "-n",
            "cli-ai",
            "-g",
            "cli-rg",
            "-l",
            "westeurope",
        ],
        creds,
    );
    let principal = account["identity"]["principalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let vault_uri = format!("https://cli-kv.vault.localhost:{}/", server.port());
    let err = cli_fails(
        &[
            "account",
            "encryption",
            "set",
            "-n",
            "cli-ai",
            "-g",
            "cli-rg",
            "--key-vault-uri",
            &vault_uri,
            "--key-name",
            "k1",
        ],
        creds,
    );
    assert!(err.contains("CmkIdentityAccessDenied"), "{err}");
    cli(
        &[
            "vault",
            "set-policy",
            "-n",
            "cli-kv",
            "--object-id",
            &principal,
            "--key-permissions",
            "get",
            "wrapKey",
            "unwrapKey",
        ],
        creds,
    );
    let encryption = cli(
        &[
            "account",
            "encryption",
            "set",
            "-n",
            "cli-ai",
            "-g",
            "cli-rg",
            "--key-vault-uri",
            &vault_uri,
            "--key-name",
            "k1",
        ],
        creds,
    );
    assert_eq!(encryption["keySource"], "Microsoft.KeyVault");
    let shown = cli(
        &[
            "account",
            "encryption",
            "show",
            "-n",
            "cli-ai",
            "-g",
            "cli-rg",
        ],
        creds,
    );
    assert_eq!(shown["keyVaultProperties"]["keyName"], "k1");
    let keys = cli(&["account", "keys", "-n", "cli-ai", "-g", "cli-rg"], creds);
    assert!(keys["key1"].as_str().unwrap().len() >= 32);

    // Files under the customer-managed key, through the CLI (streamed both ways).
    let local = parent.path().join("train.jsonl");
    let example =
        r#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}"#;
    std::fs::write(&local, format!("{example}\n").repeat(3000)).unwrap();
    let uploaded = cli(
        &[
            "file",
            "upload",
            "--account",
            "cli-ai",
            "-g",
            "cli-rg",
            "--file",
            local.to_str().unwrap(),
        ],
        creds,
    );
    assert_eq!(uploaded["status"], "processed", "{uploaded}");
    let id = uploaded["id"].as_str().unwrap().to_owned();
    let listed = cli(
        &["file", "list", "--account", "cli-ai", "-g", "cli-rg"],
        creds,
    );
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let out = parent.path().join("back.jsonl");
    cli(
        &[
            "file",
            "download",
            "--account",
            "cli-ai",
            "-g",
            "cli-rg",
            "--id",
            &id,
            "--file",
            out.to_str().unwrap(),
        ],
        creds,
    );
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&local).unwrap());
    let err = cli_fails(
        &[
            "file",
            "download",
            "--account",
            "cli-ai",
            "-g",
            "cli-rg",
            "--id",
            &id,
            "--file",
            out.to_str().unwrap(),
        ],
        creds,
    );
    assert!(err.contains("exists"), "{err}");
    cli(
        &[
            "file",
            "delete",
            "--account",
            "cli-ai",
            "-g",
            "cli-rg",
            "--id",
            &id,
        ],
        creds,
    );
    // A hub with its project, and a Foundry project refused on an OpenAI account.
    let hub = cli(
        &[
            "hub",
            "create",
            "-n",
            "cli-hub",
            "-g",
            "cli-rg",
            "-l",
            "westeurope",
        ],
        creds,
    );
    assert_eq!(hub["kind"], "Hub");
    let hub_id = hub["id"].as_str().unwrap().to_owned();
    cli(
        &[
            "hub",
            "create",
            "-n",
            "cli-hub-proj",
            "-g",
            "cli-rg",
            "-l",
            "westeurope",
            "--hub-id",
            &hub_id,
        ],
        creds,
    );
    assert_eq!(
        cli(&["hub", "list", "-g", "cli-rg"], creds)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    cli(
        &["hub", "delete", "-n", "cli-hub-proj", "-g", "cli-rg"],
        creds,
    );
    cli(&["hub", "delete", "-n", "cli-hub", "-g", "cli-rg"], creds);
    let err = cli_fails(
        &[
            "project",
            "create",
            "--account",
            "cli-ai",
            "-n",
            "p1",
            "-g",
            "cli-rg",
        ],
        creds,
    );
    assert!(err.contains("projects need kind AIServices"), "{err}");
    cli(
        &["account", "delete", "-n", "cli-ai", "-g", "cli-rg"],
        creds,
    );
    cli(
        &[
            "account",
            "purge",
            "-n",
            "cli-ai",
            "-g",
            "cli-rg",
            "-l",
            "westeurope",
        ],
        creds,
    );
    assert!(
        cli(&["account", "list"], creds)
            .as_array()
            .unwrap()
            .is_empty()
    );

    let verified = cli(&["audit", "verify"], creds);
    let count = verified["verified"].as_u64().unwrap();
    assert!(count >= 12, "{verified}");
    let tail = cli(&["audit", "tail", "-n", "3"], creds);
    let tail = tail.as_array().unwrap();
    assert_eq!(tail.len(), 3);
    assert_eq!(tail[2]["seq"].as_u64().unwrap(), count);
    assert!(
        tail.iter()
            .any(|e| e["operation"] == "DeletedAccount DELETE"),
        "{tail:?}"
    );

    // Rewrite history on disk while the server is down: verify finds the first broken link.
    let (status, _) = server.stop();
    assert!(status.success());
    {
        let records = RedbRecordStore::open(&data.join("store.redb")).unwrap();
        let page = records.scan("audit.entries", "", None, 1000).await.unwrap();
        let (key, mut group) = page
            .items
            .into_iter()
            .map(|(k, r)| (k, serde_json::from_slice::<Vec<Value>>(&r.value).unwrap()))
            .find(|(_, g)| g.iter().any(|e| e["seq"] == 3))
            .unwrap();
        let entry = group.iter_mut().find(|e| e["seq"] == 3).unwrap();
        entry["caller"] = "someone-else".into();
        records
            .commit(Batch::new().put("audit.entries", &key, serde_json::to_vec(&group).unwrap()))
            .await
            .unwrap();
    }
    let _server = start(&data, &[], &[]);
    cli(
        &["login", "--bootstrap", bootstrap.to_str().unwrap()],
        creds,
    );
    let err = cli_fails(&["audit", "verify"], creds);
    assert!(err.contains("BROKEN at entry 3"), "{err}");
}
