//! Fetching a trusted external issuer's signing keys: OpenID discovery
//! (`{issuer}/.well-known/openid-configuration`) → `jwks_uri` → RSA keys. HTTPS only, with the
//! configured CA (or the system roots), `*.localhost` resolved to loopback, 10 s timeouts and a
//! 1 MiB response bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keyhold_crypto::{Jwk, RsaPublicKey};
use keyhold_identity::JwksSource;
use serde::Deserialize;

use crate::config::TrustedIssuerConfig;

const MAX_DOCUMENT: usize = 1024 * 1024;

/// Fetches keys for the configured issuers.
pub struct HttpJwksSource {
    clients: HashMap<String, reqwest::Client>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Jwk>,
}

impl HttpJwksSource {
    /// One HTTPS client per issuer (each may trust its own CA).
    pub fn new(issuers: &[TrustedIssuerConfig]) -> Result<Self, String> {
        let mut clients = HashMap::new();
        for issuer in issuers {
            let mut builder = reqwest::Client::builder()
                .https_only(true)
                .dns_resolver(Arc::new(keyhold_client::LocalhostResolver))
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(10));
            if let Some(ca) = &issuer.ca_file {
                let pem = std::fs::read(ca).map_err(|e| {
                    format!(
                        "cannot read CA {} of trusted issuer {}: {e}",
                        ca.display(),
                        issuer.issuer
                    )
                })?;
                let cert = reqwest::Certificate::from_pem(&pem)
                    .map_err(|e| format!("CA {} is not PEM: {e}", ca.display()))?;
                builder = builder.tls_certs_only([cert]);
            }
            let client = builder
                .build()
                .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
            clients.insert(issuer.issuer.clone(), client);
        }
        Ok(Self { clients })
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: status {}", response.status()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if bytes.len() > MAX_DOCUMENT {
        return Err(format!(
            "GET {url}: document larger than {MAX_DOCUMENT} bytes"
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("GET {url}: not the expected JSON: {e}"))
}

#[async_trait]
impl JwksSource for HttpJwksSource {
    async fn fetch(&self, issuer: &str) -> Result<HashMap<String, RsaPublicKey>, String> {
        let client = self.clients.get(issuer).ok_or("issuer not configured")?;
        let discovery: Discovery = get_json(
            client,
            &format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            ),
        )
        .await?;
        if !discovery.jwks_uri.starts_with("https://") {
            return Err("jwks_uri is not https".into());
        }
        let set: KeySet = get_json(client, &discovery.jwks_uri).await?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            if let (Some(kid), Ok(key)) = (jwk.kid.clone(), RsaPublicKey::from_jwk(&jwk)) {
                keys.insert(kid, key);
            }
        }
        Ok(keys)
    }
}
