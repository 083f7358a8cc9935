//! What every client command shares: the runtime, the saved credentials, error messages with
//! hints, and the URLs of the management plane and of vaults.

use keyhold_client::{ClientError, Credentials, KeyholdClient, default_credentials_path};
use reqwest::Method;
use serde_json::Value;

/// A single-threaded runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Loads saved credentials and builds a client.
pub fn client() -> Result<KeyholdClient, String> {
    let path = default_credentials_path();
    let creds = Credentials::load(&path).map_err(|e| format!("{e}; run `keyhold login` first"))?;
    KeyholdClient::from_credentials(creds).map_err(|e| crate::errors::describe(&e, None))
}

/// A client error as printed, with a hint; names the logged-in client in suggested commands.
pub fn describe(client: &KeyholdClient, error: &ClientError) -> String {
    let app_id = client.credentials().map(|c| c.client_id.as_str());
    crate::errors::describe(error, app_id)
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

    /// A client error as printed, with a hint.
    pub fn describe(&self, error: &ClientError) -> String {
        describe(&self.client, error)
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
            .map_err(|e| self.describe(&e))
    }

    /// A management-plane write that may be long-running: follows the operation headers
    /// until it ends, then returns the resource (`Value::Null` after a delete).
    pub async fn management_lro(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        self.client
            .request_lro(method, path, &self.creds.management_scope, body)
            .await
            .map_err(|e| self.describe(&e))
    }

    /// A directory-API call for the logged-in tenant: `path` is under
    /// `keyhold/v1/tenants/{tenant}/`.
    pub async fn directory(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let url = format!("keyhold/v1/tenants/{}/{path}", self.creds.tenant_id);
        self.management(method, &url, body).await
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
            .map_err(|e| self.describe(&e))
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
            .map_err(|e| self.describe(&e))
    }
}

/// `key=value` pairs (`--tags env=dev team=ai`) as an ARM `tags` object.
pub fn parse_tags(tags: &[String]) -> Result<Value, String> {
    let mut map = serde_json::Map::new();
    for tag in tags {
        let (k, v) = tag
            .split_once('=')
            .ok_or_else(|| format!("tag {tag:?} is not key=value"))?;
        map.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Ok(Value::Object(map))
}

/// `text` quoted for a POSIX shell (single quotes; a `'` inside becomes `'\''`).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
