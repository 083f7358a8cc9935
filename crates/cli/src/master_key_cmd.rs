//! `keyhold master-key …`: helpers for operators who keep the master key outside the data
//! directory.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use crate::atomic_file::write_atomic;

/// Master key commands.
#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Make a new random master key (base64): into a new file with mode 0600 (`--out`), or
    /// to stdout.
    Generate {
        /// Write it to this file (mode 0600 from the first byte; written to a temporary file,
        /// synced and renamed). An existing file is never replaced without --force.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Re-seal everything under a new master key (the server stopped; for a PostgreSQL store,
    /// every node). Resumable: if it is interrupted, run it again with the same files.
    Rotate(Box<crate::master_key_rotate_cmd::RotateArgs>),
}

/// Runs a master key command.
pub fn run(command: MasterKeyCommand) -> Result<(), String> {
    match command {
        MasterKeyCommand::Rotate(args) => crate::master_key_rotate_cmd::run(*args),
        MasterKeyCommand::Generate { out, force } => {
            let (_key, encoded) =
                keyhold_server::master_key::generate_encoded().map_err(|e| e.to_string())?;
            match out {
                Some(path) => {
                    write_atomic(&path, encoded.as_bytes(), 0o600, force)?;
                    eprintln!(
                        "wrote a new master key to {} (mode 0600); start the server with \
                         KEYHOLD_MASTER_KEY_FILE={} keyhold serve",
                        path.display(),
                        path.display()
                    );
                    Ok(())
                }
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(encoded.as_bytes())
                        .and_then(|()| stdout.flush())
                        .map_err(|e| format!("cannot write to stdout: {e}"))
                }
            }
        }
    }
}
