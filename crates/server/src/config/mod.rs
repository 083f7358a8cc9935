//! The one server configuration, filled from a TOML file, `KEYHOLD_*` environment variables
//! and command-line flags, then validated once before anything starts.
//!
//! Precedence, highest first: **flags > environment > config file > defaults**. Every source
//! produces a [`ConfigLayer`]; [`Config::resolve`] merges the layers and validates the result.
//! Unknown keys in the file and unknown `KEYHOLD_*` variables are rejected with a message that
//! names them, because a misspelt setting that is silently ignored is a security problem for a
//! key service (think `KEYHOLD_MASTER_KEY_FLIE`).

mod env;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listen address (docs/DESIGN.md section 5).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
/// The default port (also of the IPv6 loopback listener).
pub const DEFAULT_PORT: u16 = 8443;
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./keyhold-data";
/// Default DNS suffix of vault hosts (`{vault}.vault.localhost`).
pub const DEFAULT_VAULT_DOMAIN: &str = "vault.localhost";
/// Default DNS suffix of AI account hosts (`{account}.openai.localhost`).
pub const DEFAULT_AI_DOMAIN: &str = "openai.localhost";
/// Default token audience of the management plane.
pub const DEFAULT_MANAGEMENT_AUDIENCE: &str = "https://management.localhost";
/// Default token audience of the AI data plane.
pub const DEFAULT_AI_AUDIENCE: &str = "https://cognitiveservices.localhost";
/// Default token audience of the Microsoft Graph subset (`/v1.0/…`).
pub const DEFAULT_GRAPH_AUDIENCE: &str = "https://graph.localhost";
/// Default limit for request bodies of JSON APIs.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 4 * 1024 * 1024;

pub use env::ENV_VARS;

/// One source's settings; every field optional. Also the schema of the config file, so its
/// field names are the file's keys (snake_case) and unknown keys are an error.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    /// Socket address to listen on.
    pub listen: Option<String>,
    /// Data directory (embedded store, blobs, TLS material, bootstrap file).
    pub data_dir: Option<PathBuf>,
    /// Record store: `embedded` (default) or `postgres://…`.
    pub store: Option<String>,
    /// Blob store: `file://…` (default: the data directory), `s3://…` or `az://…`.
    pub blob: Option<String>,
    /// DNS suffix of vault hosts.
    pub vault_domain: Option<String>,
    /// DNS suffix of AI account hosts.
    pub ai_domain: Option<String>,
    /// Extra host names this server is reached by (added to the generated certificate).
    pub public_host: Option<Vec<String>>,
    /// PEM certificate chain to serve instead of the generated one.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// File holding the 32-byte master key. Without it a development key is generated in the
    /// data directory.
    pub master_key_file: Option<PathBuf>,
    /// Log format: `text` or `json`.
    pub log_format: Option<String>,
    /// Maximum request body size in bytes for JSON APIs.
    pub max_body_bytes: Option<u64>,
    /// Seconds between re-checks of every customer-managed key (local vaults also notify at once).
    pub key_check_interval_secs: Option<u64>,
    /// Largest file the Files API accepts, in bytes.
    pub max_file_bytes: Option<u64>,
    /// Extra CA certificates (PEM) trusted for remote vault hosts.
    pub vault_ca_file: Option<PathBuf>,
    /// Remote vault hosts accounts may use (`host[:port]` or `*.suffix[:port]`); without an
    /// entry, only this keyhold's own vaults.
    pub remote_vault_hosts: Option<Vec<String>>,
    /// Whether a `keyVaultUri` under `vault.azure.net` names this server's vault of that name
    /// (default true; never for a host `remote_vault_hosts` allows).
    pub azure_vault_alias: Option<bool>,
    /// Token audience of the management plane.
    pub management_audience: Option<String>,
    /// Token audience of the AI data plane.
    pub ai_audience: Option<String>,
    /// Token audience of the Microsoft Graph subset.
    pub graph_audience: Option<String>,
    /// Other OIDC issuers whose tokens are accepted (config file only).
    pub trusted_issuer: Option<Vec<TrustedIssuerConfig>>,
    /// A command that trains fine-tuning jobs instead of the built-in trainer (program and
    /// arguments; see `keyhold_platform::trainer::ExternalTrainer` for its protocol).
    pub trainer_command: Option<Vec<String>>,
    /// Base URL of an OpenAI-compatible endpoint (`…/v1`) that serves base-model deployments.
    pub inference_upstream_url: Option<String>,
    /// File holding the upstream's API key (sent as a bearer token and as `api-key`).
    pub inference_upstream_key_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) trusted for the upstream.
    pub inference_upstream_ca_file: Option<PathBuf>,
}

/// The upstream inference endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// Base URL without a trailing slash (`…/v1`).
    pub url: String,
    /// File holding the API key.
    pub key_file: Option<PathBuf>,
    /// Extra CA certificates.
    pub ca_file: Option<PathBuf>,
}

/// One trusted external issuer (config file `[[trusted_issuer]]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerConfig {
    /// Exact `iss` of its tokens, e.g. `https://localhost:9443/{tenant}/v2.0`.
    pub issuer: String,
    /// Local tenant its principals act in: a tenant id, or `default` for the bootstrap tenant.
    pub tenant: String,
    /// CA certificate to trust when fetching its keys (else the system roots).
    pub ca_file: Option<PathBuf>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where records live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// redb in the data directory.
    Embedded,
    /// A PostgreSQL database shared by every node.
    Postgres(PostgresUrl),
}

/// A `postgres://` URL. It may hold a password, so it is never printed (`Debug` shows only
/// the host part).
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL, for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.0.rsplit_once('@').map_or("…", |(_, rest)| {
            rest.split(['/', '?']).next().unwrap_or("…")
        });
        write!(f, "postgres://…@{host}/…")
    }
}

/// Where blobs (encrypted objects) live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobConfig {
    /// Local files under this directory.
    LocalDir(PathBuf),
    /// An S3 bucket or Azure Blob container (credentials from the environment).
    Object(keyhold_store_object::BlobUrl),
}

/// The validated configuration. Construct it only through [`Config::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Socket address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Further addresses served alike: without an explicit `listen`, the IPv6 loopback
    /// `[::1]:8443` beside `127.0.0.1:8443` (`*.localhost` names resolve to `::1` first where
    /// libnss-myhostname or systemd-resolved answer them). An explicit `listen` means exactly
    /// that address.
    pub listen_also: Vec<SocketAddr>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Record store engine.
    pub store: StoreConfig,
    /// Blob store engine.
    pub blob: BlobConfig,
    /// DNS suffix of vault hosts, lower case, no leading dot.
    pub vault_domain: String,
    /// DNS suffix of AI account hosts, lower case, no leading dot.
    pub ai_domain: String,
    /// Extra host names, lower case.
    pub public_hosts: Vec<String>,
    /// User-supplied certificate and key, when both are given.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    /// Master key file; `None` means the development key in the data directory.
    pub master_key_file: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// Maximum JSON request body size.
    pub max_body_bytes: u64,
    /// Seconds between re-checks of every customer-managed key (default 60).
    pub key_check_interval_secs: u64,
    /// Largest file the Files API accepts (default 8 GiB).
    pub max_file_bytes: u64,
    /// Extra CA certificates trusted for remote vault hosts.
    pub vault_ca_file: Option<PathBuf>,
    /// Remote vault hosts accounts may use.
    pub remote_vault_hosts: Vec<crate::remote_vaults::RemoteVaultHost>,
    /// Whether `https://{name}.vault.azure.net/` names this server's vault `name` (hosts that
    /// `remote_vault_hosts` allows are never aliased).
    pub azure_vault_alias: bool,
    /// Token audience of the management plane (no trailing slash).
    pub management_audience: String,
    /// Token audience of the AI data plane (no trailing slash).
    pub ai_audience: String,
    /// Token audience of the Microsoft Graph subset (no trailing slash); tokens for it with the
    /// port (`https://graph.localhost:8443`, what `az` asks for) are accepted too.
    pub graph_audience: String,
    /// Trusted external issuers.
    pub trusted_issuers: Vec<TrustedIssuerConfig>,
    /// External trainer command (empty: the built-in trainer).
    pub trainer_command: Vec<String>,
    /// Upstream inference endpoint.
    pub inference_upstream: Option<UpstreamConfig>,
}

impl Config {
    /// Token audience of every vault: `https://{vault_domain}` (docs/DESIGN.md section 5; the 401
    /// challenge names it so the Azure SDKs' challenge-domain check passes).
    pub fn vault_audience(&self) -> String {
        format!("https://{}", self.vault_domain)
    }
}

/// Why a configuration was rejected. Each message names the setting and the source.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {reason}")]
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The config file is not valid TOML or has unknown keys.
    #[error("invalid config file {path}: {reason}")]
    FileInvalid {
        /// The file.
        path: PathBuf,
        /// What the parser said (names the key).
        reason: String,
    },
    /// A `KEYHOLD_*` environment variable that keyhold does not know.
    #[error("unknown environment variable {0} (known: {known})", known = env::known_env_list())]
    UnknownEnv(String),
    /// A setting has a value that cannot be used.
    #[error("invalid {setting}: {reason}")]
    Invalid {
        /// The setting's name as the user wrote it.
        setting: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
}

impl ConfigLayer {
    /// Reads a TOML config file. Unknown keys are an error.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::FileUnreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::FileInvalid {
            path: path.to_path_buf(),
            reason: e.message().to_owned(),
        })
    }

    /// Overlays `higher` on `self`: every field `higher` sets wins.
    pub fn overlay(self, higher: ConfigLayer) -> ConfigLayer {
        ConfigLayer {
            listen: higher.listen.or(self.listen),
            data_dir: higher.data_dir.or(self.data_dir),
            store: higher.store.or(self.store),
            blob: higher.blob.or(self.blob),
            vault_domain: higher.vault_domain.or(self.vault_domain),
            ai_domain: higher.ai_domain.or(self.ai_domain),
            public_host: higher.public_host.or(self.public_host),
            tls_cert: higher.tls_cert.or(self.tls_cert),
            tls_key: higher.tls_key.or(self.tls_key),
            master_key_file: higher.master_key_file.or(self.master_key_file),
            log_format: higher.log_format.or(self.log_format),
            max_body_bytes: higher.max_body_bytes.or(self.max_body_bytes),
            key_check_interval_secs: higher
                .key_check_interval_secs
                .or(self.key_check_interval_secs),
            max_file_bytes: higher.max_file_bytes.or(self.max_file_bytes),
            vault_ca_file: higher.vault_ca_file.or(self.vault_ca_file),
            remote_vault_hosts: higher.remote_vault_hosts.or(self.remote_vault_hosts),
            azure_vault_alias: higher.azure_vault_alias.or(self.azure_vault_alias),
            management_audience: higher.management_audience.or(self.management_audience),
            ai_audience: higher.ai_audience.or(self.ai_audience),
            graph_audience: higher.graph_audience.or(self.graph_audience),
            trusted_issuer: higher.trusted_issuer.or(self.trusted_issuer),
            trainer_command: higher.trainer_command.or(self.trainer_command),
            inference_upstream_url: higher
                .inference_upstream_url
                .or(self.inference_upstream_url),
            inference_upstream_key_file: higher
                .inference_upstream_key_file
                .or(self.inference_upstream_key_file),
            inference_upstream_ca_file: higher
                .inference_upstream_ca_file
                .or(self.inference_upstream_ca_file),
        }
    }
}

impl Config {
    /// Merges `file < env < flags` over the defaults and validates the result.
    pub fn resolve(
        file: Option<ConfigLayer>,
        env: ConfigLayer,
        flags: ConfigLayer,
    ) -> Result<Config, ConfigError> {
        let merged = file.unwrap_or_default().overlay(env).overlay(flags);
        Config::validate(merged)
    }

    /// Validates one merged layer, filling defaults.
    pub fn validate(layer: ConfigLayer) -> Result<Config, ConfigError> {
        let listen_also = if layer.listen.is_none() {
            vec![SocketAddr::from((
                std::net::Ipv6Addr::LOCALHOST,
                DEFAULT_PORT,
            ))]
        } else {
            Vec::new()
        };
        let listen_text = layer.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| ConfigError::Invalid {
            setting: "listen",
            reason: format!("{listen_text:?} is not an address like 127.0.0.1:8443 or [::1]:8443"),
        })?;
        let data_dir = layer
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                setting: "data_dir",
                reason: "must not be empty".into(),
            });
        }
        let remote_vault_hosts = layer
            .remote_vault_hosts
            .unwrap_or_default()
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                crate::remote_vaults::RemoteVaultHost::parse(e).map_err(|reason| {
                    ConfigError::Invalid {
                        setting: "remote_vault_hosts",
                        reason,
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let store = parse_store(layer.store.as_deref())?;
        let blob = parse_blob(layer.blob.as_deref(), &data_dir)?;
        let vault_domain = validate_domain(
            "vault_domain",
            layer
                .vault_domain
                .as_deref()
                .unwrap_or(DEFAULT_VAULT_DOMAIN),
        )?;
        let ai_domain = validate_domain(
            "ai_domain",
            layer.ai_domain.as_deref().unwrap_or(DEFAULT_AI_DOMAIN),
        )?;
        if vault_domain == ai_domain {
            return Err(ConfigError::Invalid {
                setting: "ai_domain",
                reason: "must differ from vault_domain".into(),
            });
        }
        let public_hosts = layer
            .public_host
            .unwrap_or_default()
            .iter()
            .map(|h| validate_domain("public_host", h))
            .collect::<Result<Vec<_>, _>>()?;
        let tls_files = match (layer.tls_cert, layer.tls_key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    setting: "tls_key",
                    reason: "tls_cert is set, so tls_key must be set too".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    setting: "tls_cert",
                    reason: "tls_key is set, so tls_cert must be set too".into(),
                });
            }
        };
        let log_format = match layer.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::Invalid {
                    setting: "log_format",
                    reason: format!("{other:?} is not one of: text, json"),
                });
            }
        };
        let max_body_bytes = layer.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if !(1024..=1024 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(ConfigError::Invalid {
                setting: "max_body_bytes",
                reason: format!("{max_body_bytes} is outside 1024..=1073741824"),
            });
        }
        let key_check_interval_secs = layer.key_check_interval_secs.unwrap_or(60);
        if !(1..=86_400).contains(&key_check_interval_secs) {
            return Err(ConfigError::Invalid {
                setting: "key_check_interval_secs",
                reason: format!("{key_check_interval_secs} is outside 1..=86400"),
            });
        }
        let max_file_bytes = layer.max_file_bytes.unwrap_or(8 * 1024 * 1024 * 1024);
        if max_file_bytes == 0 {
            return Err(ConfigError::Invalid {
                setting: "max_file_bytes",
                reason: "must be at least 1".into(),
            });
        }
        let management_audience = validate_audience(
            "management_audience",
            layer
                .management_audience
                .as_deref()
                .unwrap_or(DEFAULT_MANAGEMENT_AUDIENCE),
        )?;
        let ai_audience = validate_audience(
            "ai_audience",
            layer.ai_audience.as_deref().unwrap_or(DEFAULT_AI_AUDIENCE),
        )?;
        let graph_audience = validate_audience(
            "graph_audience",
            layer
                .graph_audience
                .as_deref()
                .unwrap_or(DEFAULT_GRAPH_AUDIENCE),
        )?;
        let trusted_issuers = layer.trusted_issuer.unwrap_or_default();
        for t in &trusted_issuers {
            if !t.issuer.starts_with("https://") {
                return Err(ConfigError::Invalid {
                    setting: "trusted_issuer.issuer",
                    reason: format!("{:?} must be an https:// URL", t.issuer),
                });
            }
            if t.tenant != "default" && uuid::Uuid::parse_str(&t.tenant).is_err() {
                return Err(ConfigError::Invalid {
                    setting: "trusted_issuer.tenant",
                    reason: format!("{:?} must be a tenant id or `default`", t.tenant),
                });
            }
        }
        let trainer_command = layer.trainer_command.unwrap_or_default();
        if trainer_command.first().is_some_and(|p| p.trim().is_empty()) {
            return Err(ConfigError::Invalid {
                setting: "trainer_command",
                reason: "the program name is empty".into(),
            });
        }
        let inference_upstream = match layer.inference_upstream_url {
            None => {
                if layer.inference_upstream_key_file.is_some()
                    || layer.inference_upstream_ca_file.is_some()
                {
                    return Err(ConfigError::Invalid {
                        setting: "inference_upstream_url",
                        reason: "an upstream key or CA file is set, so the URL must be set too"
                            .into(),
                    });
                }
                None
            }
            Some(url) => {
                let url = url.trim_end_matches('/').to_owned();
                let loopback_http = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|p| url.starts_with(p));
                if !url.starts_with("https://") && !loopback_http {
                    return Err(ConfigError::Invalid {
                        setting: "inference_upstream_url",
                        reason: format!(
                            "{url:?} must be an https:// URL (plain http only on loopback)"
                        ),
                    });
                }
                Some(UpstreamConfig {
                    url,
                    key_file: layer.inference_upstream_key_file,
                    ca_file: layer.inference_upstream_ca_file,
                })
            }
        };
        Ok(Config {
            listen_also,
            listen,
            data_dir,
            store,
            blob,
            vault_domain,
            ai_domain,
            public_hosts,
            tls_files,
            master_key_file: layer.master_key_file,
            log_format,
            max_body_bytes,
            key_check_interval_secs,
            max_file_bytes,
            vault_ca_file: layer.vault_ca_file,
            remote_vault_hosts,
            azure_vault_alias: layer.azure_vault_alias.unwrap_or(true),
            management_audience,
            ai_audience,
            graph_audience,
            trusted_issuers,
            trainer_command,
            inference_upstream,
        })
    }
}

fn parse_store(value: Option<&str>) -> Result<StoreConfig, ConfigError> {
    match value {
        None | Some("embedded") => Ok(StoreConfig::Embedded),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            // Parsed now so a typo fails the start before anything is written; the parser's
            // message never repeats the URL (it may hold a password).
            tokio_postgres_config(url).map_err(|reason| ConfigError::Invalid {
                setting: "store",
                reason,
            })?;
            Ok(StoreConfig::Postgres(PostgresUrl(url.to_owned())))
        }
        Some(other) => Err(ConfigError::Invalid {
            setting: "store",
            reason: format!("{other:?} is not `embedded` or a postgres:// URL"),
        }),
    }
}

fn tokio_postgres_config(url: &str) -> Result<(), String> {
    keyhold_store_postgres::PgSettings::validate_url(url)
}

fn parse_blob(value: Option<&str>, data_dir: &Path) -> Result<BlobConfig, ConfigError> {
    match value {
        None => Ok(BlobConfig::LocalDir(data_dir.join("blobs"))),
        Some(url) if url.starts_with("file://") => {
            let path = &url["file://".len()..];
            if path.is_empty() || !path.starts_with('/') {
                return Err(ConfigError::Invalid {
                    setting: "blob",
                    reason: format!("{url:?} must be an absolute file:///path"),
                });
            }
            Ok(BlobConfig::LocalDir(PathBuf::from(path)))
        }
        Some(url) if url.starts_with("s3://") || url.starts_with("az://") => {
            keyhold_store_object::BlobUrl::parse(url)
                .map(BlobConfig::Object)
                .map_err(|reason| ConfigError::Invalid {
                    setting: "blob",
                    reason,
                })
        }
        Some(other) => Err(ConfigError::Invalid {
            setting: "blob",
            reason: format!("{other:?} is not a file://, s3:// or az:// URL"),
        }),
    }
}

/// An audience is an `https://host` URI; a trailing slash is dropped.
fn validate_audience(setting: &'static str, value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim_end_matches('/');
    match trimmed.strip_prefix("https://") {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(ConfigError::Invalid {
            setting,
            reason: format!("{value:?} is not an https://host URI"),
        }),
    }
}

/// Validates a DNS name (RFC 1123 labels), lower-cases it and strips one trailing dot.
fn validate_domain(setting: &'static str, value: &str) -> Result<String, ConfigError> {
    let name = value.trim_end_matches('.').to_ascii_lowercase();
    let bad = |reason: &str| ConfigError::Invalid {
        setting,
        reason: format!("{value:?} {reason}"),
    };
    if name.is_empty() || name.len() > 253 {
        return Err(bad("must be a DNS name of 1 to 253 characters"));
    }
    for label in name.split('.') {
        let ok_chars = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if label.is_empty() || label.len() > 63 || !ok_chars {
            return Err(bad("has a label that is not 1-63 of [a-z0-9-]"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("has a label that starts or ends with '-'"));
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests;
