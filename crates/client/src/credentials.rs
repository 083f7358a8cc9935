//! Saved client credentials (`keyhold login`): a JSON file with mode 0600, by default
//! `$XDG_CONFIG_HOME/keyhold/credentials.json` (or `~/.config/…`), overridable with
//! `KEYHOLD_CLIENT_CONFIG`. Its fields are those of the server's `bootstrap.json`, so the
//! bootstrap file itself can be used as credentials.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Credentials of a service principal and where to reach keyhold.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// Management/identity endpoint, e.g. `https://localhost:8443`.
    #[serde(alias = "managementEndpoint")]
    pub endpoint: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Client (application) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Default subscription id.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// CA certificate to trust (the dev CA).
    #[serde(default)]
    pub ca_certificate: Option<PathBuf>,
    /// DNS suffix of vault hosts.
    #[serde(default)]
    pub vault_domain: Option<String>,
    /// Scope of management-plane tokens.
    #[serde(default = "default_management_scope")]
    pub management_scope: String,
}

fn default_management_scope() -> String {
    "https://management.localhost/.default".to_owned()
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("endpoint", &self.endpoint)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.client_secret);
    }
}

/// Problems reading or writing the credentials file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// Not found or unreadable.
    #[error("cannot read credentials {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not the expected JSON.
    #[error("credentials file {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Group or others can read it.
    #[error("credentials file {0} is readable by others; run `chmod 600` on it")]
    NotPrivate(PathBuf),
    /// Cannot write.
    #[error("cannot write credentials {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// `$KEYHOLD_CLIENT_CONFIG`, else `$XDG_CONFIG_HOME/keyhold/credentials.json`, else
/// `$HOME/.config/keyhold/credentials.json`.
pub fn default_credentials_path() -> PathBuf {
    if let Some(path) = std::env::var_os("KEYHOLD_CLIENT_CONFIG") {
        return PathBuf::from(path);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("keyhold").join("credentials.json")
}

impl Credentials {
    /// Reads credentials (or a `bootstrap.json`), refusing files others can read.
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        let meta = std::fs::metadata(path).map_err(|e| CredentialsError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(CredentialsError::NotPrivate(path.to_path_buf()));
        }
        let text =
            zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| CredentialsError::Read {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?);
        serde_json::from_slice(&text).map_err(|e| CredentialsError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Writes credentials with mode 0600 (directories 0700), replacing the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), CredentialsError> {
        let fail = |reason: String| CredentialsError::Write {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        }
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec_pretty(self).map_err(|e| fail(e.to_string()))?,
        );
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| fail(e.to_string()))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(e.to_string()))
    }
}
