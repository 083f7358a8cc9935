//! `keyhold master-key …`: helpers for operators who keep the master key outside the data
//! directory.

use std::io::Write;

use clap::Subcommand;

/// Master key commands.
#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64) to stdout, e.g.
    /// `keyhold master-key generate > /run/secrets/keyhold.key && chmod 600 …`.
    Generate,
}

/// Runs a master key command.
pub fn run(command: MasterKeyCommand) -> Result<(), String> {
    match command {
        MasterKeyCommand::Generate => {
            let (_key, encoded) =
                keyhold_server::master_key::generate_encoded().map_err(|e| e.to_string())?;
            let mut out = std::io::stdout().lock();
            out.write_all(encoded.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write to stdout: {e}"))
        }
    }
}
