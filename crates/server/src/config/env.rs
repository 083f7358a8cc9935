//! The `KEYHOLD_*` environment layer of the configuration: which variables exist, which
//! setting each fills, and how their text is parsed. An unknown `KEYHOLD_*` variable is an
//! error (see `config.rs` for why).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{ConfigError, ConfigLayer};

/// Environment variables and the setting each fills. `KEYHOLD_CONFIG` names the file.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("KEYHOLD_CONFIG", "config"),
    ("KEYHOLD_LISTEN", "listen"),
    ("KEYHOLD_DATA_DIR", "data_dir"),
    ("KEYHOLD_STORE", "store"),
    ("KEYHOLD_BLOB", "blob"),
    ("KEYHOLD_VAULT_DOMAIN", "vault_domain"),
    ("KEYHOLD_AI_DOMAIN", "ai_domain"),
    ("KEYHOLD_PUBLIC_HOST", "public_host"),
    ("KEYHOLD_TLS_CERT", "tls_cert"),
    ("KEYHOLD_TLS_KEY", "tls_key"),
    ("KEYHOLD_MASTER_KEY_FILE", "master_key_file"),
    ("KEYHOLD_LOG_FORMAT", "log_format"),
    ("KEYHOLD_MAX_BODY_BYTES", "max_body_bytes"),
    ("KEYHOLD_KEY_CHECK_INTERVAL_SECS", "key_check_interval_secs"),
    ("KEYHOLD_MAX_FILE_BYTES", "max_file_bytes"),
    ("KEYHOLD_VAULT_CA_FILE", "vault_ca_file"),
    ("KEYHOLD_REMOTE_VAULT_HOSTS", "remote_vault_hosts"),
    ("KEYHOLD_AZURE_VAULT_ALIAS", "azure_vault_alias"),
    ("KEYHOLD_MANAGEMENT_AUDIENCE", "management_audience"),
    ("KEYHOLD_AI_AUDIENCE", "ai_audience"),
    ("KEYHOLD_GRAPH_AUDIENCE", "graph_audience"),
    ("KEYHOLD_TRAINER_COMMAND", "trainer_command"),
    ("KEYHOLD_INFERENCE_UPSTREAM_URL", "inference_upstream_url"),
    (
        "KEYHOLD_INFERENCE_UPSTREAM_KEY_FILE",
        "inference_upstream_key_file",
    ),
    (
        "KEYHOLD_INFERENCE_UPSTREAM_CA_FILE",
        "inference_upstream_ca_file",
    ),
    // Read by client commands (`keyhold login` and friends), not by the server.
    ("KEYHOLD_CLIENT_CONFIG", "client config file"),
];

pub(crate) fn known_env_list() -> String {
    ENV_VARS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl ConfigLayer {
    /// Builds a layer from `KEYHOLD_*` variables (pass `std::env::vars()`); returns it with the
    /// config file path from `KEYHOLD_CONFIG`, if set.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Option<PathBuf>), ConfigError> {
        let mut layer = ConfigLayer::default();
        let mut file = None;
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("KEYHOLD_"))
            .collect();
        for (name, value) in vars {
            let setting = ENV_VARS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, setting)| *setting)
                .ok_or_else(|| ConfigError::UnknownEnv(name.clone()))?;
            match setting {
                "config" => file = Some(PathBuf::from(value)),
                "listen" => layer.listen = Some(value),
                "data_dir" => layer.data_dir = Some(PathBuf::from(value)),
                "store" => layer.store = Some(value),
                "blob" => layer.blob = Some(value),
                "vault_domain" => layer.vault_domain = Some(value),
                "ai_domain" => layer.ai_domain = Some(value),
                "public_host" => {
                    layer.public_host = Some(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|h| !h.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    )
                }
                "tls_cert" => layer.tls_cert = Some(PathBuf::from(value)),
                "tls_key" => layer.tls_key = Some(PathBuf::from(value)),
                "master_key_file" => layer.master_key_file = Some(PathBuf::from(value)),
                "log_format" => layer.log_format = Some(value),
                "management_audience" => layer.management_audience = Some(value),
                "ai_audience" => layer.ai_audience = Some(value),
                "graph_audience" => layer.graph_audience = Some(value),
                "max_body_bytes" => {
                    layer.max_body_bytes =
                        Some(value.parse().map_err(|_| ConfigError::Invalid {
                            setting: "KEYHOLD_MAX_BODY_BYTES",
                            reason: format!("{value:?} is not a whole number of bytes"),
                        })?)
                }
                "vault_ca_file" => layer.vault_ca_file = Some(PathBuf::from(value)),
                "remote_vault_hosts" => {
                    layer.remote_vault_hosts =
                        Some(value.split(',').map(|h| h.trim().to_owned()).collect())
                }
                "azure_vault_alias" => {
                    layer.azure_vault_alias = Some(match value.to_ascii_lowercase().as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => {
                            return Err(ConfigError::Invalid {
                                setting: "KEYHOLD_AZURE_VAULT_ALIAS",
                                reason: format!("{value:?} is not true or false"),
                            });
                        }
                    })
                }
                "trainer_command" => {
                    layer.trainer_command =
                        Some(value.split_whitespace().map(str::to_owned).collect())
                }
                "inference_upstream_url" => layer.inference_upstream_url = Some(value),
                "inference_upstream_key_file" => {
                    layer.inference_upstream_key_file = Some(PathBuf::from(value))
                }
                "inference_upstream_ca_file" => {
                    layer.inference_upstream_ca_file = Some(PathBuf::from(value))
                }
                "max_file_bytes" => {
                    layer.max_file_bytes =
                        Some(value.parse().map_err(|_| ConfigError::Invalid {
                            setting: "KEYHOLD_MAX_FILE_BYTES",
                            reason: format!("{value:?} is not a whole number of bytes"),
                        })?)
                }
                "key_check_interval_secs" => {
                    layer.key_check_interval_secs =
                        Some(value.parse().map_err(|_| ConfigError::Invalid {
                            setting: "KEYHOLD_KEY_CHECK_INTERVAL_SECS",
                            reason: format!("{value:?} is not a whole number of seconds"),
                        })?)
                }
                _ => {} // client-side settings
            }
        }
        Ok((layer, file))
    }
}
