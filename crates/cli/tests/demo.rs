//! `keyhold demo` runs the whole story on a temporary server of its own, cleanly, well within
//! a minute, and removes the server's directory afterwards.
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
