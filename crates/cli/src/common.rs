//! What every client command shares: the runtime, the saved credentials, JSON output, and the
//! URLs of the management plane and of vaults.

use std::io::Write;

use keyhold_client::{Credentials, KeyholdClient, default_credentials_path};
use reqwest::Method;
use serde_json::Value;

/// A single-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Pretty JSON on stdout.
pub fn print_json(value: &Value) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(|e| e.to_string())
        .and_then(|()| writeln!(out).map_err(|e| e.to_string()))
}

/// Loads saved credentials and builds a client.
pub fn client() -> Result<KeyholdClient, String> {
    let path = default_credentials_path();
    let creds = Credentials::load(&path).map_err(|e| format!("{e}; run `keyhold login` first"))?;
    KeyholdClient::from_credentials(creds).map_err(|e| e.to_string())
}

/// A client command's context: the client and where things are.
pub struct Context {
    /// The client.
    pub client: KeyholdClient,
    /// Saved credentials.
    pub creds: Credentials,
}

impl Context {
    /// From the saved credentials.
    pub fn load() -> Result<Context, String> {
        let client = client()?;
        let creds = client
            .credentials()
            .ok_or("no credentials; run `keyhold login` first")?
            .clone();
        Ok(Context { client, creds })
    }

    /// The subscription: `--subscription`, else the saved default.
    pub fn subscription(&self, given: Option<&str>) -> Result<String, String> {
        given
            .map(str::to_owned)
            .or_else(|| self.creds.subscription_id.clone())
            .ok_or_else(|| "no subscription: pass --subscription".into())
    }

    fn vault_domain(&self) -> &str {
        self.creds
            .vault_domain
            .as_deref()
            .unwrap_or("vault.localhost")
    }

    /// `https://{vault}.{vault-domain}:{port}`.
    pub fn vault_url(&self, vault: &str) -> String {
        let port = self
            .creds
            .endpoint
            .rsplit_once(':')
            .and_then(|(_, p)| p.trim_end_matches('/').parse::<u16>().ok())
            .unwrap_or(443);
        format!(
            "https://{}.{}:{port}",
            vault.to_ascii_lowercase(),
            self.vault_domain()
        )
    }

    /// A management-plane call.
    pub async fn management(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        self.client
            .request_json(method, path, &self.creds.management_scope, body)
            .await
            .map_err(|e| e.to_string())
    }

    /// Follows a vault list's `nextLink` (which must point at the same vault).
    pub async fn vault_next(&self, vault: &str, next_link: &str) -> Result<Value, String> {
        if !next_link.starts_with(&format!("{}/", self.vault_url(vault))) {
            return Err(format!("unexpected nextLink {next_link}"));
        }
        let scope = format!("https://{}/.default", self.vault_domain());
        self.client
            .request_json(Method::GET, next_link, &scope, None)
            .await
            .map_err(|e| e.to_string())
    }

    /// A vault data-plane call (`path` starts with `/`, without the api-version).
    pub async fn vault(
        &self,
        method: Method,
        vault: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{}{path}{sep}api-version=7.6", self.vault_url(vault));
        let scope = format!("https://{}/.default", self.vault_domain());
        self.client
            .request_json(method, &url, &scope, body)
            .await
            .map_err(|e| e.to_string())
    }
}
