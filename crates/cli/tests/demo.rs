//! `keyhold demo` runs the whole story on a temporary server of its own, cleanly, well within
//! a minute, and removes the server's directory afterwards; with `--use-login` it deletes what
//! it made on the user's server and says which vault purge protection keeps, and until when.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::run_to_exit;

#[test]
fn demo_runs_clean_on_a_fresh_temporary_server() {
    let tmp = common::temp_parent();
    let tmp_path = tmp.path().to_str().unwrap();
    let (status, stdout, stderr) = run_to_exit(&["demo"], &[("TMPDIR", tmp_path)]);
    assert!(status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("15 steps in"), "{stdout}");
    for expected in [
        "download HTTP 403, new job HTTP 403, deploy refused, existing deployment answers",
        "Deployed models keep serving until you delete them.",
        "old training file still downloads: HTTP 200",
        "account purged",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(stderr.contains("[15/15] Clean up"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "the demo's server directory was not removed: {left:?}"
    );
}

#[test]
fn demo_on_the_login_server_cleans_up_and_says_what_purge_protection_keeps() {
    let parent = common::temp_parent();
    let data = parent.path().join("data");
    let server = common::start(&data, &[], &[]);
    let creds = parent.path().join("creds.json");
    let env = [("KEYHOLD_CLIENT_CONFIG", creds.to_str().unwrap())];
    let bootstrap = data.join("bootstrap.json");
    let (status, _, stderr) =
        run_to_exit(&["login", "--bootstrap", bootstrap.to_str().unwrap()], &env);
    assert!(status.success(), "{stderr}");
    let mut vaults = Vec::new();
    for _ in 0..2 {
        let (status, stdout, stderr) = run_to_exit(&["demo", "--use-login"], &env);
        assert!(status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
        let left = stdout
            .lines()
            .find(|l| l.starts_with("Left on "))
            .unwrap_or_else(|| panic!("no note about what is left:\n{stdout}"));
        assert!(
            left.contains(&format!("localhost:{}", server.port())),
            "{left}"
        );
        assert!(
            left.contains("soft-deleted under purge protection until 20"),
            "{left}"
        );
        assert!(
            stdout.contains("Purge protection cannot be turned off"),
            "{stdout}"
        );
        let vault = left.split_whitespace().nth(4).unwrap().to_owned();
        assert!(vault.starts_with("demo-kv-"), "{left}");
        vaults.push(vault);
    }
    assert_ne!(vaults[0], vaults[1], "a new name per run");
    let list = |args: &[&str]| -> serde_json::Value {
        let (status, stdout, stderr) = run_to_exit(args, &env);
        assert!(status.success(), "{args:?}: {stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    assert_eq!(list(&["group", "list"]), serde_json::json!([]));
    assert_eq!(list(&["account", "list"]), serde_json::json!([]));
    assert_eq!(list(&["vault", "list"]), serde_json::json!([]));
    let mut deleted: Vec<String> = list(&["vault", "list-deleted", "--query", "[].name"])
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    deleted.sort();
    vaults.sort();
    assert_eq!(deleted, vaults, "only the vaults are left, soft-deleted");
}
