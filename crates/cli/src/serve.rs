//! `keyhold serve`: resolves the one configuration (flags > env > file > defaults), then runs
//! the server until SIGINT/SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use keyhold_server::{Config, ConfigLayer};

/// Flags of `keyhold serve`. Each also has a `KEYHOLD_*` variable and a config-file key; the
/// variables are read by keyhold itself (so unknown ones can be rejected), not by clap.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file (env KEYHOLD_CONFIG). Unknown keys are rejected.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (env KEYHOLD_LISTEN); without it, both 127.0.0.1:8443 and
    /// [::1]:8443.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Data directory [default: ./keyhold-data] (env KEYHOLD_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Record store: `embedded` or postgres://… (env KEYHOLD_STORE).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Blob store: file:///path, s3://… or az://… (env KEYHOLD_BLOB).
    #[arg(long, value_name = "URL")]
    blob: Option<String>,
    /// DNS suffix of vault hosts [default: vault.localhost] (env KEYHOLD_VAULT_DOMAIN).
    #[arg(long, value_name = "DOMAIN")]
    vault_domain: Option<String>,
    /// DNS suffix of AI account hosts [default: openai.localhost] (env KEYHOLD_AI_DOMAIN).
    #[arg(long, value_name = "DOMAIN")]
    ai_domain: Option<String>,
    /// Extra host name clients use to reach this server; repeatable (env KEYHOLD_PUBLIC_HOST,
    /// comma-separated).
    #[arg(long = "public-host", value_name = "HOST")]
    public_host: Vec<String>,
    /// PEM certificate chain to serve instead of the generated dev CA's (env KEYHOLD_TLS_CERT).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert (env KEYHOLD_TLS_KEY).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// File holding the 32-byte master key (env KEYHOLD_MASTER_KEY_FILE). Without it a
    /// development key is generated in the data directory.
    #[arg(long, value_name = "FILE")]
    master_key_file: Option<PathBuf>,
    /// Log format: text or json (env KEYHOLD_LOG_FORMAT).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Maximum JSON request body in bytes (env KEYHOLD_MAX_BODY_BYTES).
    #[arg(long, value_name = "BYTES")]
    max_body_bytes: Option<u64>,
    /// Token audience of the management plane [default: https://management.localhost]
    /// (env KEYHOLD_MANAGEMENT_AUDIENCE).
    #[arg(long, value_name = "URI")]
    management_audience: Option<String>,
    /// Token audience of the AI data plane [default: https://cognitiveservices.localhost]
    /// (env KEYHOLD_AI_AUDIENCE).
    #[arg(long, value_name = "URI")]
    ai_audience: Option<String>,
    /// Token audience of the Microsoft Graph subset [default: https://graph.localhost]
    /// (env KEYHOLD_GRAPH_AUDIENCE); `{audience}:{port}` is accepted too.
    #[arg(long, value_name = "URI")]
    graph_audience: Option<String>,
    /// Seconds between re-checks of every customer-managed key; local vault changes are
    /// noticed at once (env KEYHOLD_KEY_CHECK_INTERVAL_SECS, default 60).
    #[arg(long, value_name = "SECONDS")]
    key_check_interval_secs: Option<u64>,
    /// Largest file the Files API accepts, in bytes (env KEYHOLD_MAX_FILE_BYTES, default 8 GiB).
    #[arg(long, value_name = "BYTES")]
    max_file_bytes: Option<u64>,
    /// Extra CA certificates (PEM) trusted for remote vaults named in keyVaultUri
    /// (env KEYHOLD_VAULT_CA_FILE).
    #[arg(long, value_name = "FILE")]
    vault_ca_file: Option<PathBuf>,
    /// A remote vault host accounts may use as keyVaultUri (`host[:port]` or
    /// `*.suffix[:port]`; repeat for more). Without one, only this server's own vaults
    /// (env KEYHOLD_REMOTE_VAULT_HOSTS, comma-separated).
    #[arg(long = "remote-vault-host", value_name = "HOST")]
    remote_vault_hosts: Vec<String>,
    /// Whether a keyVaultUri under vault.azure.net (as ARM templates hard-code it) names this
    /// server's vault of that name: true (default) or false. Never applies to a host a
    /// --remote-vault-host entry allows (env KEYHOLD_AZURE_VAULT_ALIAS).
    #[arg(long, value_name = "BOOL")]
    azure_vault_alias: Option<bool>,
    /// Command that trains fine-tuning jobs instead of the built-in trainer; repeat for each
    /// argument (env KEYHOLD_TRAINER_COMMAND, split on spaces). See the README for its protocol.
    #[arg(long = "trainer-command", value_name = "ARG", num_args = 1..)]
    trainer_command: Vec<String>,
    /// Base URL (…/v1) of an OpenAI-compatible endpoint that serves base-model deployments
    /// (env KEYHOLD_INFERENCE_UPSTREAM_URL).
    #[arg(long, value_name = "URL")]
    inference_upstream_url: Option<String>,
    /// File holding the upstream's API key (env KEYHOLD_INFERENCE_UPSTREAM_KEY_FILE).
    #[arg(long, value_name = "FILE")]
    inference_upstream_key_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) trusted for the upstream (env KEYHOLD_INFERENCE_UPSTREAM_CA_FILE).
    #[arg(long, value_name = "FILE")]
    inference_upstream_ca_file: Option<PathBuf>,
}

impl ServeArgs {
    fn into_layer(self) -> (ConfigLayer, Option<PathBuf>) {
        let layer = ConfigLayer {
            listen: self.listen,
            data_dir: self.data_dir,
            store: self.store,
            blob: self.blob,
            vault_domain: self.vault_domain,
            ai_domain: self.ai_domain,
            public_host: (!self.public_host.is_empty()).then_some(self.public_host),
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            master_key_file: self.master_key_file,
            log_format: self.log_format,
            max_body_bytes: self.max_body_bytes,
            key_check_interval_secs: self.key_check_interval_secs,
            max_file_bytes: self.max_file_bytes,
            vault_ca_file: self.vault_ca_file,
            remote_vault_hosts: (!self.remote_vault_hosts.is_empty())
                .then_some(self.remote_vault_hosts),
            azure_vault_alias: self.azure_vault_alias,
            management_audience: self.management_audience,
            ai_audience: self.ai_audience,
            graph_audience: self.graph_audience,
            trusted_issuer: None,
            trainer_command: (!self.trainer_command.is_empty()).then_some(self.trainer_command),
            inference_upstream_url: self.inference_upstream_url,
            inference_upstream_key_file: self.inference_upstream_key_file,
            inference_upstream_ca_file: self.inference_upstream_ca_file,
        };
        (layer, self.config)
    }
}

/// Resolves the configuration from every source.
pub fn resolve(args: ServeArgs) -> Result<Config, String> {
    let (flags, flag_file) = args.into_layer();
    resolve_layers(flags, flag_file, std::env::vars())
}

/// Resolves `flags` over the environment (`vars`) and the config file (named by a flag, else
/// by `KEYHOLD_CONFIG`), as `serve` does; other commands that act on the server's data use it
/// so they read the same settings.
pub fn resolve_layers(
    flags: ConfigLayer,
    flag_file: Option<PathBuf>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, String> {
    let (env, env_file) = ConfigLayer::from_env(vars).map_err(|e| e.to_string())?;
    let file = match flag_file.or(env_file) {
        Some(path) => Some(ConfigLayer::from_file(&path).map_err(|e| e.to_string())?),
        None => None,
    };
    Config::resolve(file, env, flags).map_err(|e| e.to_string())
}

/// Runs the server.
pub fn run(args: ServeArgs) -> Result<(), String> {
    let config = resolve(args)?;
    crate::logging::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("keyhold")
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime
        .block_on(keyhold_server::run(config, |ready| {
            let mut out = std::io::stdout().lock();
            // One line for people and for scripts that wait for readiness.
            let _ = writeln!(out, "{ready}").and_then(|()| out.flush());
        }))
        .map_err(|e| e.to_string())
}
