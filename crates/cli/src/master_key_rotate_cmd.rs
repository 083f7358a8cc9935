//! `keyhold master-key rotate`: re-seals everything under a new master key, with the server
//! (every node) stopped. The work is in `keyhold_server::master_key_rotate`; this is its
//! command line, its progress bar (stderr) and its summary (stdout).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use keyhold_server::ConfigLayer;
use keyhold_server::master_key_rotate::{RotateOutcome, RotateRequest, run as rotate};
use keyhold_server::master_key_rotation::{RotationProgress, RotationStep, RotationSummary};

/// Test hook (not a setting): the process kills itself with SIGKILL right after this many
/// durable writes, so the tests can interrupt a rotation at every point. Read here and kept
/// out of the configuration's environment layer.
const KILL_AFTER_VAR: &str = "KEYHOLD_TEST_ROTATE_KILL_AFTER";

/// Flags of `keyhold master-key rotate`. The store, data directory and old key come from the
/// same configuration as `keyhold serve` (flags > `KEYHOLD_*` > config file).
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// TOML config file, as for `serve` (env KEYHOLD_CONFIG).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory [default: ./keyhold-data] (env KEYHOLD_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Record store: `embedded` or postgres://… (env KEYHOLD_STORE).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// The current master key [default: master_key_file of the configuration
    /// (KEYHOLD_MASTER_KEY_FILE), else the development key <data-dir>/master.key, which is
    /// removed once the rotation finished].
    #[arg(long, value_name = "FILE")]
    old_key_file: Option<PathBuf>,
    /// The new master key; make it first with `keyhold master-key generate --out FILE`,
    /// outside the data directory.
    #[arg(long, value_name = "FILE", required_unless_present = "abort")]
    new_key_file: Option<PathBuf>,
    /// Abandon a rotation that was interrupted before its commit (the data stays, or becomes
    /// again, entirely sealed under the old key). Needs only the old key.
    #[arg(long, conflicts_with = "new_key_file")]
    abort: bool,
    /// Records re-sealed per store transaction.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=400))]
    batch: u64,
}

/// The progress bar, and the test hook's counter.
struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
    writes: AtomicU64,
    kill_after: Option<u64>,
}

impl Progress {
    fn new(kill_after: Option<u64>) -> Self {
        Self {
            bar: Mutex::new(None),
            terminal: std::io::stderr().is_terminal(),
            writes: AtomicU64::new(0),
            kill_after,
        }
    }

    fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(bar) = bar.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl RotationProgress for Progress {
    fn step(&self, step: RotationStep, total: u64) {
        self.finish();
        let bar = if self.terminal {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len} records, eta {eta}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(step.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            bar.inc(n);
        }
    }

    fn durable_write(&self) {
        let done = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.kill_after == Some(done) {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }
}

fn summary_lines(summary: &RotationSummary) -> Vec<String> {
    let mut lines = Vec::new();
    if summary.already_rotated {
        lines.push("the store was already sealed under the new master key".to_owned());
    } else if let Some(phase) = summary.resumed_from {
        lines.push(format!(
            "finished a rotation an earlier run had taken to {phase:?} (records it had \
             already put in place are not counted below)"
        ));
    }
    let total: u64 = summary.resealed.values().sum();
    lines.push(format!(
        "re-sealed {total} record(s) under the new master key{}",
        if total == 0 { "" } else { ":" }
    ));
    for (namespace, count) in &summary.resealed {
        lines.push(format!("  {namespace:<28} {count}"));
    }
    for file in &summary.files {
        lines.push(format!("re-sealed {}", file.display()));
    }
    if summary.late > 0 {
        lines.push(format!(
            "warning: {} value(s) were written under the old key while the rotation ran (was a \
             node still running?); they were re-sealed too",
            summary.late
        ));
    }
    if summary.store_rewritten {
        lines.push(
            "rewrote the store file, so none of its pages keeps a value sealed under the old key"
                .to_owned(),
        );
    }
    if let Some(path) = &summary.removed_dev_key {
        lines.push(format!(
            "removed the development key {} (it opens nothing any more)",
            path.display()
        ));
    }
    lines
}

/// Runs `keyhold master-key rotate`.
pub fn run(args: RotateArgs) -> Result<(), String> {
    let kill_after = match std::env::var(KILL_AFTER_VAR) {
        Ok(n) => Some(
            n.parse::<u64>()
                .map_err(|_| format!("{KILL_AFTER_VAR} must be a number"))?,
        ),
        Err(_) => None,
    };
    let flags = ConfigLayer {
        data_dir: args.data_dir,
        store: args.store,
        master_key_file: args.old_key_file,
        ..ConfigLayer::default()
    };
    let vars = std::env::vars().filter(|(name, _)| name != KILL_AFTER_VAR);
    let config = crate::serve::resolve_layers(flags, args.config, vars)?;
    let new_key_file = args.new_key_file.clone();
    let request = RotateRequest {
        config,
        new_key_file: args.new_key_file,
        abort: args.abort,
        batch: usize::try_from(args.batch).unwrap_or(100),
    };
    let progress = Progress::new(kill_after);
    let outcome = crate::common::runtime()?.block_on(rotate(request, &progress));
    progress.finish();
    match outcome.map_err(|e| e.to_string())? {
        RotateOutcome::Aborted(removed) => {
            println!(
                "abandoned the master-key rotation: removed {removed} prepared record(s); the \
                 data is sealed under the old master key only, and `keyhold serve` starts with it"
            );
        }
        RotateOutcome::Rotated(summary) => {
            for line in summary_lines(&summary) {
                println!("{line}");
            }
            if let Some(path) = new_key_file {
                println!(
                    "done: start with KEYHOLD_MASTER_KEY_FILE={} keyhold serve (the old key no \
                     longer opens this data)",
                    path.display()
                );
            }
        }
    }
    Ok(())
}
