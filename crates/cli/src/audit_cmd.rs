//! `keyhold audit …`: read and verify the hash-chained audit log.
//!
//! `verify` fetches every entry and checks the chain here, in the client, with the same
//! function the server uses: a server (or a store) that rewrote history cannot vouch for
//! itself. It reports the first broken link and exits non-zero.

use clap::Subcommand;
use keyhold_vault::AuditEntry;
use keyhold_vault::audit::{GENESIS, verify_chain};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Context, runtime};
use crate::output::Output;

/// `keyhold audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain; prints the first broken link, if any.
    Verify,
    /// Print the newest entries.
    Tail {
        /// How many.
        #[arg(long, short = 'n', default_value_t = 20)]
        count: u64,
    },
}

async fn page(
    ctx: &Context,
    after: u64,
    top: u64,
) -> Result<(Vec<AuditEntry>, bool, Value), String> {
    let answer = ctx
        .management(
            Method::GET,
            &format!("keyhold/v1/audit?after={after}&top={top}"),
            None,
        )
        .await?;
    let entries: Vec<AuditEntry> = serde_json::from_value(answer["value"].clone())
        .map_err(|e| format!("the server sent malformed audit entries: {e}"))?;
    Ok((
        entries,
        answer["more"].as_bool().unwrap_or(false),
        answer["head"].clone(),
    ))
}

/// Runs `keyhold audit …`.
pub fn run(command: AuditCommand, out: &Output) -> Result<(), String> {
    let ctx = Context::load()?;
    let value = runtime()?.block_on(async {
        match command {
            AuditCommand::Verify => {
                let (mut seq, mut hash) = (0u64, GENESIS.to_owned());
                loop {
                    let (entries, more, head) = page(&ctx, seq, 1000).await?;
                    match verify_chain(&entries, seq, &hash) {
                        Ok((s, h)) => (seq, hash) = (s, h),
                        Err(brk) => {
                            return Err(format!(
                                "audit chain BROKEN at entry {}: {} ({} entries before it verified)",
                                brk.seq,
                                brk.reason,
                                brk.seq.saturating_sub(1)
                            ));
                        }
                    }
                    if !more {
                        let head_seq = head["seq"].as_u64().unwrap_or(0);
                        if head_seq != seq || head["hash"].as_str() != Some(hash.as_str()) {
                            return Err(format!(
                                "audit chain BROKEN after entry {seq}: the log's head says entry {head_seq} (entries were removed from the end)"
                            ));
                        }
                        return Ok(json!({ "verified": seq, "head": hash }));
                    }
                }
            }
            AuditCommand::Tail { count } => {
                let (_, _, head) = page(&ctx, 0, 1).await?;
                let head_seq = head["seq"].as_u64().unwrap_or(0);
                let after = head_seq.saturating_sub(count.clamp(1, 1000));
                let (entries, _, _) = page(&ctx, after, count.clamp(1, 1000)).await?;
                serde_json::to_value(entries).map_err(|e| e.to_string())
            }
        }
    })?;
    out.print(&value)
}
