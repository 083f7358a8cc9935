//! `keyhold demo`: the whole customer-managed-key story in a few seconds, step by step, with
//! a plain explanation of each step and a summary table at the end.
//!
//! By default it starts its own server in a temporary directory (deleted afterwards); with
//! `--use-login` it runs against the server saved by `keyhold login`, creating resources
//! named uniquely for the run and cleaning them up, even after a failed step. One thing stays:
//! the vault, soft-deleted, because purge protection (which a customer-managed key requires,
//! and which can never be turned off) forbids purging it before its retention ends; the demo
//! says so at the end, with the date keyhold will purge it.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use keyhold_client::{Credentials, KeyholdClient};

use crate::common::{Context, runtime};
use crate::demo_story::{Demo, story};

/// `keyhold demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run against the server saved by `keyhold login` instead of a temporary one. Everything
    /// is deleted afterwards except the vault, which purge protection keeps soft-deleted for
    /// 7 days (the demo prints its name and purge date).
    #[arg(long)]
    use_login: bool,
}

/// A step's outcome for the summary table.
pub(crate) struct Row {
    step: String,
    outcome: String,
    millis: u128,
}

fn spinner(text: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(text.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// The steps done so far.
pub(crate) struct Steps {
    rows: Vec<Row>,
    total: usize,
}

impl Steps {
    /// Runs one step: prints its number, title and explanation, shows a spinner while it runs,
    /// and records the outcome.
    pub(crate) async fn run<F, T>(&mut self, title: &str, why: &str, work: F) -> Result<T, String>
    where
        F: std::future::Future<Output = Result<(T, String), String>>,
    {
        let n = self.rows.len() + 1;
        eprintln!("\n[{n}/{}] {title}\n      {why}", self.total);
        let bar = spinner(title);
        let started = Instant::now();
        let result = work.await;
        bar.finish_and_clear();
        let millis = started.elapsed().as_millis();
        match result {
            Ok((value, outcome)) => {
                eprintln!("      -> {outcome} ({millis} ms)");
                self.rows.push(Row {
                    step: title.to_owned(),
                    outcome,
                    millis,
                });
                Ok(value)
            }
            Err(err) => {
                eprintln!("      -> FAILED: {err}");
                Err(format!("step {n} ({title}) failed: {err}"))
            }
        }
    }
}

/// A server started for the demo; stopped and its directory removed on drop.
struct TempServer {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for TempServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_server() -> Result<(TempServer, Credentials), String> {
    let dir = std::env::temp_dir().join(format!("keyhold-demo-{}", unique_suffix()));
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the keyhold binary: {e}"))?;
    let mut child = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .env("KEYHOLD_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start a server: {e}"))?;
    let stdout = child.stdout.take().ok_or("the server has no stdout")?;
    let server = TempServer { child, dir };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("the server did not start: {e}"))?;
    if !line.starts_with("keyhold ready on https://") {
        return Err("the server did not start (run `keyhold serve` to see why)".into());
    }
    let creds = Credentials::load(&server.dir.join("data").join("bootstrap.json"))
        .map_err(|e| e.to_string())?;
    Ok((server, creds))
}

/// Eight hex digits that differ between runs (names only; nothing secret).
fn unique_suffix() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..8].to_owned()
}

/// Runs `keyhold demo`.
pub fn run(args: DemoArgs) -> Result<(), String> {
    let started = Instant::now();
    let (server, ctx) = if args.use_login {
        (None, Context::load()?)
    } else {
        eprintln!("Starting a keyhold server in a temporary directory…");
        let (server, creds) = start_server()?;
        let client = KeyholdClient::from_credentials(creds).map_err(|e| e.to_string())?;
        let creds = client.credentials().ok_or("no credentials")?.clone();
        (Some(server), Context { client, creds })
    };
    let endpoint = ctx.creds.endpoint.trim_end_matches('/').to_owned();
    let suffix = &unique_suffix();
    let sub = ctx.subscription(None)?;
    let http = ctx.client.http().clone();
    let mut demo = Demo::new(ctx, sub, http, suffix);
    let mut steps = Steps {
        rows: Vec::new(),
        total: 15,
    };
    let (outcome, left) = runtime()?.block_on(async {
        let outcome = story(&mut demo, &mut steps).await;
        if !args.use_login {
            return (outcome, None);
        }
        if outcome.is_err()
            && let Err(e) = demo.clean_up().await
        {
            eprintln!("cleaning up after the failed step failed too: {e}");
        }
        (outcome, demo.left_behind().await)
    });
    drop(server);
    print_summary(&steps.rows, started.elapsed());
    if let Some(left) = left {
        println!(
            "\nLeft on {endpoint}: {left}.\nPurge protection cannot be turned off and forbids \
             purging a vault before its retention ends: that is what makes a vault fit for \
             customer-managed keys. keyhold purges it by itself then; until then its name stays \
             taken (each run uses a new one). Everything else the demo made was deleted."
        );
    }
    outcome
}

fn print_summary(rows: &[Row], elapsed: Duration) {
    let width = rows.iter().map(|r| r.step.len()).max().unwrap_or(4).max(4);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\n{:<3} {:<width$} {:>7}  outcome", "#", "step", "ms");
    let _ = writeln!(out, "{}", "-".repeat(width + 24));
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<3} {:<width$} {:>7}  {}",
            i + 1,
            r.step,
            r.millis,
            r.outcome
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(width + 24));
    let _ = writeln!(
        out,
        "{} steps in {:.1} s",
        rows.len(),
        elapsed.as_secs_f64()
    );
}
