//! keyhold benchmarks. Each prints throughput as a ratio against a limit of this machine
//! measured in the same run (raw AES-GCM, `openssl speed`), never absolute targets, and never
//! asserts anything: they are measurements, not tests.
//!
//! Usage: `cargo run --release -p keyhold-bench -- <family>`, families: `crypto`, `http`,
//! `unwrap`, `files`, `chat`, `cluster` (all but `crypto` need `cargo build --release -p keyhold-cli` first).
// A benchmark's output is its purpose.
#![allow(clippy::print_stdout)]

mod chat;
mod cluster;
mod crypto;
mod files;
mod http;
mod vault;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let family = args.first().map(String::as_str).unwrap_or("crypto");
    let result = match family {
        "crypto" => crypto::run(),
        "http" => http::run(),
        "unwrap" => vault::run(),
        "files" => files::run(),
        "chat" => chat::run(),
        "cluster" => cluster::run(),
        other => Err(format!(
            "unknown benchmark family {other:?}; available: crypto, http, unwrap, files, chat, cluster"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keyhold-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
