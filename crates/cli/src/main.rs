//! `keyhold`: runs the server (`keyhold serve`) and, as a thin layer over the REST API, manages
//! what it holds.
// The CLI's job is to print to stdout.
#![allow(clippy::print_stdout)]

mod account_cmd;
mod audit_cmd;
mod common;
mod demo_cmd;
mod demo_story;
mod file_cmd;
mod hub_cmd;
mod identity_cmd;
mod key_cmd;
mod logging;
mod master_key_cmd;
mod serve;
mod tenancy_cmd;
mod vault_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// keyhold: customer-managed keys, an Azure-Key-Vault-compatible key service and Entra-style
/// identities for self-hosted AI services, in one binary.
#[derive(Debug, Parser)]
#[command(name = "keyhold", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTPS on 127.0.0.1:8443, data in ./keyhold-data by default).
    Serve(Box<serve::ServeArgs>),
    /// Save credentials for the client commands (checked by getting a token).
    Login(identity_cmd::LoginArgs),
    /// Identities: tokens, service principals, signing keys.
    #[command(subcommand)]
    Identity(identity_cmd::IdentityCommand),
    /// Tenants (directory administrators).
    #[command(subcommand)]
    Tenant(tenancy_cmd::TenantCommand),
    /// Subscriptions of your tenant, and moving one to another tenant.
    #[command(subcommand)]
    Subscription(tenancy_cmd::SubscriptionCommand),
    /// Key vaults (management plane).
    #[command(subcommand)]
    Vault(vault_cmd::VaultCommand),
    /// Keys in a vault (data plane).
    #[command(subcommand)]
    Key(key_cmd::KeyCommand),
    /// AI accounts and their encryption (management plane).
    #[command(subcommand)]
    Account(account_cmd::AccountCommand),
    /// Azure AI hubs and hub projects (Machine Learning workspaces).
    #[command(subcommand)]
    Hub(hub_cmd::HubCommand),
    /// Foundry projects of an AIServices account.
    #[command(subcommand)]
    Project(hub_cmd::ProjectCommand),
    /// Files of an AI account (encrypted at rest under the account's key).
    #[command(subcommand)]
    File(file_cmd::FileCommand),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Master key utilities.
    #[command(subcommand)]
    MasterKey(master_key_cmd::MasterKeyCommand),
    /// Walk through the whole customer-managed-key story on a temporary server (about 30 s).
    Demo(demo_cmd::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Login(args) => identity_cmd::login(args),
        Command::Identity(cmd) => identity_cmd::run(cmd),
        Command::Tenant(cmd) => tenancy_cmd::run_tenant(cmd),
        Command::Subscription(cmd) => tenancy_cmd::run_subscription(cmd),
        Command::Vault(cmd) => vault_cmd::run(cmd),
        Command::Key(cmd) => key_cmd::run(cmd),
        Command::Audit(cmd) => audit_cmd::run(cmd),
        Command::Account(cmd) => account_cmd::run(cmd),
        Command::File(cmd) => file_cmd::run(cmd),
        Command::Hub(cmd) => hub_cmd::run_hub(cmd),
        Command::Project(cmd) => hub_cmd::run_project(cmd),
        Command::MasterKey(cmd) => master_key_cmd::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("keyhold: error: {message}");
            ExitCode::FAILURE
        }
    }
}
