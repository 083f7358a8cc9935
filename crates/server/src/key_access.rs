//! The platform's access to vaults: vault facts from the vault service (what Azure's resource
//! providers read through ARM), and probes that call the vault's HTTPS data plane with the
//! account identity's own token, exactly as a remote client would — so access policies, RBAC,
//! the firewall, disabled identities and key state are all checked by the real gate.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhold_identity::{Identity, Principal};
use keyhold_platform::{KeyFacts, KeyVaultAccess, PlatformError, VaultFacts};
use keyhold_vault::Vaults;
use serde_json::{Value, json};

/// Vault access over HTTPS (loopback for keyhold's own vaults).
pub struct HttpsKeyVaultAccess {
    identity: Arc<Identity>,
    vaults: Arc<Vaults>,
    http: reqwest::Client,
    vault_domain: String,
    vault_scope: String,
    local_port: u16,
}

impl HttpsKeyVaultAccess {
    /// `ca_pems`: CAs to trust for vault hosts (this server's development CA, and the CAs of
    /// remote vaults from `vault_ca_file`), besides the system roots. `local_port` is this
    /// server's port: a vault host on it is one of this server's vaults; others are remote.
    pub fn new(
        identity: Arc<Identity>,
        vaults: Arc<Vaults>,
        vault_domain: &str,
        vault_audience: &str,
        ca_pems: &[Vec<u8>],
        local_port: u16,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
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
            vault_domain: vault_domain.to_ascii_lowercase(),
            vault_scope: format!("{vault_audience}/.default"),
            local_port,
        })
    }

    /// Whether `base` names one of this server's vaults (its vault domain and its port).
    fn is_local(&self, base: &str) -> bool {
        let authority = base
            .strip_prefix("https://")
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().unwrap_or(0)),
            None => (authority, 443),
        };
        host.to_ascii_lowercase()
            .ends_with(&format!(".{}", self.vault_domain))
            && port == self.local_port
    }

    /// The vault's name: the first label of its host.
    fn vault_name<'a>(&self, base: &'a str) -> Result<&'a str, PlatformError> {
        let host = base
            .strip_prefix("https://")
            .and_then(|r| r.split(['/', ':']).next())
            .unwrap_or_default();
        match host.split_once('.') {
            Some((label, rest)) if !label.is_empty() && !rest.is_empty() => Ok(label),
            _ => Err(PlatformError::InvalidKeyVaultUri(format!(
                "{base} does not name a vault host ({{name}}.{{vault-domain}})"
            ))),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<Value>,
        vault: &str,
    ) -> Result<(u16, Value), PlatformError> {
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            tracing::warn!(%vault, error = %e, "vault call failed");
            PlatformError::KeyVaultUnreachable(vault.to_owned())
        })?;
        let status = response.status().as_u16();
        let value = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }
}

fn denied(identity: &Principal, permission: &str, key: &str, body: &Value) -> PlatformError {
    PlatformError::CmkIdentityAccessDenied {
        identity: identity.object_id.to_string(),
        permission: permission.to_owned(),
        key: key.to_owned(),
        detail: body["error"]["code"].as_str().map_or_else(
            || "refused".to_owned(),
            |c| {
                let inner = body["error"]["innererror"]["code"].as_str().unwrap_or("");
                if inner.is_empty() {
                    c.to_owned()
                } else {
                    format!("{c}/{inner}")
                }
            },
        ),
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
        let vault = self.vault_name(vault_uri)?.to_owned();
        let key = format!("{vault}/{key_name}/{key_version}");
        let token = self
            .identity
            .issue_token(identity, &self.vault_scope)
            .await
            .map_err(|e| PlatformError::CustomerManagedKeyAccessDenied {
                account: String::new(),
                key: key.clone(),
                cause: format!("the identity cannot get a token ({e})"),
            })?
            .access_token;
        let url = format!(
            "{}/keys/{key_name}/{key_version}/{operation}?api-version=7.6",
            vault_uri.trim_end_matches('/')
        );
        let body = json!({ "alg": "RSA-OAEP-256", "value": URL_SAFE_NO_PAD.encode(value) });
        let (status, answer) = self
            .call(reqwest::Method::POST, &url, &token, Some(body), &vault)
            .await?;
        if status != 200 {
            let cause = format!(
                "the vault refused {operation} with {status} {}{}",
                answer["error"]["code"].as_str().unwrap_or("error"),
                answer["error"]["innererror"]["code"]
                    .as_str()
                    .map(|c| format!("/{c}"))
                    .unwrap_or_default()
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
        let name = self.vault_name(vault_uri)?;
        if !self.is_local(vault_uri) {
            return Ok(VaultFacts {
                name: name.to_ascii_lowercase(),
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
        let vault = self.vaults.vault(name).await.map_err(|_| {
            PlatformError::InvalidKeyVaultUri(format!("Key vault {name} does not exist."))
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
        let vault = self.vault_name(vault_uri)?.to_owned();
        let token = self
            .identity
            .issue_token(identity, &self.vault_scope)
            .await?
            .access_token;
        let base = vault_uri.trim_end_matches('/');
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
            401 | 403 => return Err(denied(identity, "get", key_name, &key)),
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
            return Err(denied(identity, "wrapKey", key_name, &wrapped));
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
            return Err(denied(identity, "unwrapKey", key_name, &unwrapped));
        }
        if unwrapped["value"].as_str() != Some(URL_SAFE_NO_PAD.encode(&probe).as_str()) {
            return Err(PlatformError::KeyVaultUnreachable(vault));
        }
        Ok(facts)
    }
}
