//! The platform's access to vaults: vault facts from the vault service (what Azure's resource
//! providers read through ARM), and probes that call the vault's data plane with the account
//! identity's own token, exactly as a remote client would — so access policies, RBAC, the
//! firewall, disabled identities and key state are all checked by the real gate.
//!
//! This server's own vaults are called **in process**: the request goes through the same
//! router and gate as one from the network (`tower::ServiceExt::oneshot`), without a socket.
//! So each node of a cluster serves its own key operations (no node reaches another's
//! loopback, and losing one node stops none of the others), and a TLS certificate from a
//! private CA needs no extra trust setting. The caller's address is unspecified (`0.0.0.0`),
//! which no firewall rule names: only the trusted-services bypass admits these calls.
//! Remote vaults are called over HTTPS.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_identity::{Identity, IdentityError, Principal};
use keyhold_platform::{KeyFacts, KeyVaultAccess, PlatformError, VaultFacts};
use keyhold_vault::Vaults;
use serde_json::{Value, json};

use crate::remote_vaults::{VaultHost, VaultHosts};

/// The application router, set once the server's state exists: in-process calls of this
/// server's own vaults go through it.
pub type LocalRouter = Arc<std::sync::OnceLock<axum::Router>>;

/// Vault access: in process for keyhold's own vaults, over HTTPS for remote ones.
pub struct HttpsKeyVaultAccess {
    identity: Arc<Identity>,
    vaults: Arc<Vaults>,
    http: reqwest::Client,
    hosts: VaultHosts,
    vault_audience: String,
    local: LocalRouter,
}

/// Largest answer read from a vault (key bundles and wrap results are a few KiB).
const MAX_VAULT_ANSWER: usize = 64 * 1024;

/// A vault URI keyhold may call: where it is, and the token audience for it.
struct Target {
    /// The vault's name (first host label, lower case).
    name: String,
    /// The audience its tokens are minted for.
    audience: String,
    /// A vault of another server: its answers are not echoed.
    remote: bool,
    /// Where to call it (`https://host[:port]`, no trailing slash): the URI's own host for a
    /// remote vault, this server's vault host for a local one (also when the URI named it by
    /// its Azure alias).
    url: String,
}

impl HttpsKeyVaultAccess {
    /// `ca_pems`: CAs to trust for vault hosts (this server's development CA, and the CAs of
    /// remote vaults from `vault_ca_file`), besides the system roots. `hosts` says which vault
    /// hosts are this server's own and which remote ones the operator allowed.
    pub fn new(
        identity: Arc<Identity>,
        vaults: Arc<Vaults>,
        hosts: VaultHosts,
        vault_audience: &str,
        ca_pems: &[Vec<u8>],
        local: LocalRouter,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(keyhold_client::LocalhostResolver))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        for pem in ca_pems {
            for ca in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())? {
                builder = builder.add_root_certificate(ca);
            }
        }
        Ok(Self {
            identity,
            vaults,
            http: builder.build().map_err(|e| e.to_string())?,
            hosts,
            vault_audience: vault_audience.to_owned(),
            local,
        })
    }

    /// Where `base` points, or `InvalidKeyVaultUri` for a host keyhold will not call.
    fn target(&self, base: &str) -> Result<Target, PlatformError> {
        match self.hosts.classify(base) {
            Ok(VaultHost::Local(name)) => Ok(Target {
                url: self.hosts.local_url(&name),
                name,
                audience: self.vault_audience.clone(),
                remote: false,
            }),
            Ok(VaultHost::Remote { name, audience }) => Ok(Target {
                name,
                audience,
                remote: true,
                url: origin(base),
            }),
            Err(reason) => Err(PlatformError::InvalidKeyVaultUri(reason)),
        }
    }

    /// A token of `identity` for `target`, for keyhold's own call (never a client's).
    async fn token(&self, identity: &Principal, target: &Target) -> Result<String, IdentityError> {
        Ok(self
            .identity
            .issue_service_token(identity, &target.audience)
            .await?
            .access_token)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<Value>,
        vault: &str,
    ) -> Result<(u16, Value), PlatformError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            tracing::warn!(%vault, error = %e, "vault call failed");
            PlatformError::KeyVaultUnreachable(vault.to_owned())
        };
        if matches!(self.hosts.classify(url), Ok(VaultHost::Local(_))) {
            return self.call_local(method, url, token, body, vault).await;
        }
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let mut response = request.send().await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&e))? {
            if bytes.len() + chunk.len() > MAX_VAULT_ANSWER {
                return Err(unreachable(&"the vault's answer is too large"));
            }
            bytes.extend_from_slice(&chunk);
        }
        let value = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

impl HttpsKeyVaultAccess {
    /// One call of this server's own vault through its router, in process.
    async fn call_local(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<Value>,
        vault: &str,
    ) -> Result<(u16, Value), PlatformError> {
        use tower::ServiceExt as _;
        let unreachable = |e: &dyn std::fmt::Display| {
            tracing::warn!(%vault, error = %e, "in-process vault call failed");
            PlatformError::KeyVaultUnreachable(vault.to_owned())
        };
        let router = self
            .local
            .get()
            .cloned()
            .ok_or_else(|| unreachable(&"the server is not serving yet"))?;
        let rest = url.strip_prefix("https://").unwrap_or(url);
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let payload = match &body {
            Some(b) => serde_json::to_vec(b).map_err(|e| unreachable(&e))?,
            None => Vec::new(),
        };
        let mut request = axum::http::Request::builder()
            .method(method.as_str())
            .uri(format!("/{path}"))
            .header(axum::http::header::HOST, authority)
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(payload))
            .map_err(|e| unreachable(&e))?;
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [0, 0, 0, 0],
                0,
            ))));
        let response = router.oneshot(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_VAULT_ANSWER)
            .await
            .map_err(|e| unreachable(&e))?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

/// `https://host[:port]` of a vault URI (which `classify` accepted: it starts with
/// `https://`).
fn origin(uri: &str) -> String {
    let rest = uri.strip_prefix("https://").unwrap_or(uri);
    let authority = rest.split('/').next().unwrap_or_default();
    format!("https://{authority}")
}

/// The vault's error code of a refusal, `code/innercode`, for a local vault; a remote
/// vault's answer is not repeated in keyhold's errors (it is another server's text), only
/// its status.
fn refusal(status: u16, body: &Value, target: &Target) -> String {
    if target.remote {
        return format!("HTTP {status}");
    }
    let code = body["error"]["code"].as_str().unwrap_or("refused");
    match body["error"]["innererror"]["code"].as_str() {
        Some(inner) if !inner.is_empty() => format!("{code}/{inner}"),
        _ => code.to_owned(),
    }
}

fn denied(
    identity: &Principal,
    permission: &str,
    key: &str,
    status: u16,
    body: &Value,
    target: &Target,
) -> PlatformError {
    PlatformError::CmkIdentityAccessDenied {
        identity: identity.object_id.to_string(),
        permission: permission.to_owned(),
        key: key.to_owned(),
        detail: refusal(status, body, target),
    }
}

impl HttpsKeyVaultAccess {
    /// One wrapKey/unwrapKey call with the identity's token; refusals name the key and cause.
    async fn key_op(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: &str,
        operation: &str,
        value: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        let target = self.target(vault_uri)?;
        let vault = target.name.clone();
        let key = format!("{vault}/{key_name}/{key_version}");
        let token = self.token(identity, &target).await.map_err(|e| {
            PlatformError::CustomerManagedKeyAccessDenied {
                account: String::new(),
                key: key.clone(),
                cause: format!("the identity cannot get a token ({e})"),
            }
        })?;
        let url = format!(
            "{}/keys/{key_name}/{key_version}/{operation}?api-version=7.6",
            target.url
        );
        let body = json!({ "alg": "RSA-OAEP-256", "value": URL_SAFE_NO_PAD.encode(value) });
        let (status, answer) = self
            .call(reqwest::Method::POST, &url, &token, Some(body), &vault)
            .await?;
        if status != 200 {
            let cause = format!(
                "the vault refused {operation} with {status} {}",
                refusal(status, &answer, &target)
            );
            return Err(PlatformError::CustomerManagedKeyAccessDenied {
                account: String::new(),
                key,
                cause,
            });
        }
        answer["value"]
            .as_str()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or(PlatformError::KeyVaultUnreachable(vault))
    }
}

#[async_trait]
impl KeyVaultAccess for HttpsKeyVaultAccess {
    async fn wrap(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        self.key_op(
            identity,
            vault_uri,
            key_name,
            key_version,
            "wrapkey",
            plaintext,
        )
        .await
    }

    async fn unwrap(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: &str,
        wrapped: &[u8],
    ) -> Result<keyhold_crypto::SecretBytes, PlatformError> {
        self.key_op(
            identity,
            vault_uri,
            key_name,
            key_version,
            "unwrapkey",
            wrapped,
        )
        .await
        .map(keyhold_crypto::SecretBytes::new)
    }

    async fn vault_facts(&self, vault_uri: &str) -> Result<VaultFacts, PlatformError> {
        let target = self.target(vault_uri)?;
        let name = target.name.as_str();
        if target.remote {
            return Ok(VaultFacts {
                name: name.to_owned(),
                tenant_id: uuid::Uuid::nil(),
                subscription_id: uuid::Uuid::nil(),
                resource_group: String::new(),
                location: String::new(),
                purge_protection: false,
                rbac_authorization: false,
                firewall_denies: false,
                trusted_services_bypass: true,
                remote: true,
            });
        }
        let vault = self.vaults.vault(name).await.map_err(|e| match e {
            keyhold_vault::VaultError::VaultNotFound(_)
            | keyhold_vault::VaultError::BadParameter(_) => {
                PlatformError::InvalidKeyVaultUri(format!("Key vault {name} does not exist."))
            }
            other => PlatformError::KeyVaultUnreachable(format!("{name} ({other})")),
        })?;
        Ok(VaultFacts {
            name: vault.name.clone(),
            tenant_id: vault.tenant_id,
            subscription_id: vault.subscription_id,
            resource_group: vault.resource_group.clone(),
            location: vault.location.clone(),
            purge_protection: vault.purge_protection,
            rbac_authorization: vault.rbac_authorization,
            firewall_denies: vault
                .network_acls
                .default_action
                .eq_ignore_ascii_case("Deny"),
            trusted_services_bypass: vault
                .network_acls
                .bypass
                .eq_ignore_ascii_case("AzureServices"),
            remote: false,
        })
    }

    async fn probe(
        &self,
        identity: &Principal,
        vault_uri: &str,
        key_name: &str,
        key_version: Option<&str>,
    ) -> Result<KeyFacts, PlatformError> {
        let target = self.target(vault_uri)?;
        let vault = target.name.clone();
        let token = self.token(identity, &target).await?;
        let base = target.url.clone();
        let base = base.as_str();
        let url = format!(
            "{base}/keys/{key_name}/{}?api-version=7.6",
            key_version.unwrap_or_default()
        );
        let (status, key) = self
            .call(reqwest::Method::GET, &url, &token, None, &vault)
            .await?;
        match status {
            200 => {}
            404 => {
                return Err(PlatformError::CmkKeyNotFound(match key_version {
                    Some(v) => format!("{key_name}/{v}"),
                    None => key_name.to_owned(),
                }));
            }
            401 | 403 => return Err(denied(identity, "get", key_name, status, &key, &target)),
            _ => return Err(PlatformError::KeyVaultUnreachable(vault)),
        }
        let now = keyhold_platform::Platform::now();
        let attributes = &key["attributes"];
        let bits = key["key"]["n"]
            .as_str()
            .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
            .map_or(0, |n| n.len() * 8);
        let ops: Vec<&str> = key["key"]["key_ops"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let facts = KeyFacts {
            kty: key["key"]["kty"].as_str().unwrap_or_default().to_owned(),
            bits,
            version: key["key"]["kid"]
                .as_str()
                .and_then(|k| k.rsplit('/').next())
                .unwrap_or_default()
                .to_owned(),
            enabled: attributes["enabled"].as_bool().unwrap_or(false),
            in_validity: attributes["nbf"].as_u64().is_none_or(|nbf| nbf <= now)
                && attributes["exp"].as_u64().is_none_or(|exp| exp > now),
            wraps: ops.contains(&"wrapKey") && ops.contains(&"unwrapKey"),
            purge_protected: attributes["recoveryLevel"]
                .as_str()
                .map(|level| !level.contains("Purgeable")),
        };
        let usable =
            facts.enabled && facts.in_validity && facts.wraps && facts.kty.starts_with("RSA");
        if !usable {
            return Ok(facts);
        }
        let probe = keyhold_crypto::random_bytes(32)?;
        let versioned = format!("{base}/keys/{key_name}/{}", facts.version);
        let (status, wrapped) = self
            .call(
                reqwest::Method::POST,
                &format!("{versioned}/wrapkey?api-version=7.6"),
                &token,
                Some(json!({ "alg": "RSA-OAEP-256", "value": URL_SAFE_NO_PAD.encode(&probe) })),
                &vault,
            )
            .await?;
        if status != 200 {
            return Err(denied(
                identity, "wrapKey", key_name, status, &wrapped, &target,
            ));
        }
        let (status, unwrapped) = self
            .call(
                reqwest::Method::POST,
                &format!("{versioned}/unwrapkey?api-version=7.6"),
                &token,
                Some(json!({ "alg": "RSA-OAEP-256", "value": wrapped["value"] })),
                &vault,
            )
            .await?;
        if status != 200 {
            return Err(denied(
                identity,
                "unwrapKey",
                key_name,
                status,
                &unwrapped,
                &target,
            ));
        }
        if unwrapped["value"].as_str() != Some(URL_SAFE_NO_PAD.encode(&probe).as_str()) {
            return Err(PlatformError::KeyVaultUnreachable(vault));
        }
        Ok(facts)
    }
}
