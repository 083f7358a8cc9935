//! keyhold's HTTPS server: the validated configuration, start-up (data directory, master key,
//! TLS), request routing and the mapping of typed errors to Azure-style wire errors.
//!
//! Domain logic lives in the domain crates; this crate holds no crypto of its own beyond
//! loading the master key and configuring TLS.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod ai_api;
pub mod app;
pub mod arm;
pub mod bootstrap;
pub mod cluster;
pub mod config;
pub mod data_dir;
pub mod directory;
pub mod graph_api;
pub mod http;
pub mod identity_api;
pub mod jwks_fetch;
pub mod key_access;
pub mod key_watcher;
pub mod master_key;
pub mod master_key_check;
pub mod master_key_rotate;
pub mod master_key_rotation;
mod master_key_rotation_abort;
mod master_key_rotation_steps;
pub mod master_key_sites;
pub mod metrics;
pub mod metrics_api;
pub mod remote_vaults;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tls;
pub mod upstream;
pub mod vault_api;

pub use config::{Config, ConfigError, ConfigLayer};
pub use startup::{ReadyInfo, StartupError, run};
