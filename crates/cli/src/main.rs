//! `keyhold`: runs the server (`keyhold serve`) and, as a thin layer over the REST API, manages
//! what it holds.
// The CLI's job is to print to stdout.
#![allow(clippy::print_stdout)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod account_cmd;
mod atomic_file;
mod audit_cmd;
mod common;
mod demo_cmd;
mod demo_story;
mod deployment_cmd;
mod errors;
mod file_cmd;
mod group_cmd;
mod hub_cmd;
mod identity_cmd;
mod key_cmd;
mod logging;
mod managed_identity_cmd;
mod master_key_cmd;
mod master_key_rotate_cmd;
mod output;
mod query;
mod role_cmd;
mod serve;
mod table;
mod tenancy_cmd;
mod times;
mod trust_cmd;
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
    #[command(flatten)]
    output: output::OutputArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTPS on 127.0.0.1:8443, data in ./keyhold-data by default).
    Serve(Box<serve::ServeArgs>),
    /// Save credentials for the client commands (checked by getting a token).
    Login(identity_cmd::LoginArgs),
    /// Identities: tokens, service principals, signing keys, user-assigned managed identities
    /// and workload bindings.
    #[command(subcommand)]
    Identity(identity_cmd::IdentityCommand),
    /// Resource groups.
    #[command(subcommand)]
    Group(group_cmd::GroupCommand),
    /// Role assignments (RBAC).
    #[command(subcommand)]
    Role(role_cmd::RoleCommand),
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
    /// Model deployments of an AI account.
    #[command(subcommand)]
    Deployment(deployment_cmd::DeploymentCommand),
    /// Files of an AI account (encrypted at rest under the account's key).
    #[command(subcommand)]
    File(file_cmd::FileCommand),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Master key utilities.
    #[command(subcommand)]
    MasterKey(master_key_cmd::MasterKeyCommand),
    /// Write a CA bundle (the system's CAs and keyhold's) and print the variables to export.
    Trust(trust_cmd::TrustArgs),
    /// Walk through the whole customer-managed-key story on a temporary server (a few
    /// seconds).
    Demo(demo_cmd::DemoArgs),
}

fn run(cli: Cli) -> Result<(), String> {
    let out = output::Output::from_args(&cli.output)?;
    let out = &out;
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Trust(args) => trust_cmd::run(args),
        Command::MasterKey(cmd) => master_key_cmd::run(cmd),
        Command::Login(args) => identity_cmd::login(args, out),
        Command::Identity(cmd) => identity_cmd::run(cmd, out),
        Command::Group(cmd) => group_cmd::run(cmd, out),
        Command::Role(cmd) => role_cmd::run(cmd, out),
        Command::Tenant(cmd) => tenancy_cmd::run_tenant(cmd, out),
        Command::Subscription(cmd) => tenancy_cmd::run_subscription(cmd, out),
        Command::Vault(cmd) => vault_cmd::run(cmd, out),
        Command::Key(cmd) => key_cmd::run(cmd, out),
        Command::Audit(cmd) => audit_cmd::run(cmd, out),
        Command::Account(cmd) => account_cmd::run(cmd, out),
        Command::Deployment(cmd) => deployment_cmd::run(cmd, out),
        Command::File(cmd) => file_cmd::run(cmd, out),
        Command::Hub(cmd) => hub_cmd::run_hub(cmd, out),
        Command::Project(cmd) => hub_cmd::run_project(cmd, out),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("keyhold: error: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        // Catches clashes such as a subcommand's short flag shadowing the global -o.
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
