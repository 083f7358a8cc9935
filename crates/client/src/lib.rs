//! A typed REST client for keyhold: HTTPS with the keyhold CA trusted, `*.localhost` resolved
//! to loopback, OAuth2 client-credentials tokens cached per scope, and Azure-shaped errors
//! decoded into [`ClientError::Api`]. The `keyhold` CLI is a thin layer over it.
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod credentials;
mod lro;
mod resolve;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

pub use credentials::{Credentials, CredentialsError, default_credentials_path};
pub use lro::LRO_TIMEOUT;
pub use resolve::{LocalhostResolver, is_localhost_name};

/// Client-side errors. `Api` carries the server's error code and message verbatim.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Connection, TLS or protocol failure. The message names the URL once and then the
    /// innermost cause (reqwest's own message repeats the URL).
    #[error("cannot reach {url}: {}", transport_reason(source))]
    Transport {
        /// The URL.
        url: String,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// The server answered an error.
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Azure/OAuth error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// Bad client-side input (URL, CA file, credentials).
    #[error("{0}")]
    Config(String),
}

/// An access token with its expiry.
pub struct AccessToken {
    /// The bearer token.
    pub token: Zeroizing<String>,
    /// Expiry, unix seconds.
    pub expires_on: u64,
}

/// The client.
pub struct KeyholdClient {
    http: reqwest::Client,
    endpoint: String,
    credentials: Option<Credentials>,
    tokens: Mutex<HashMap<String, (Zeroizing<String>, u64)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl KeyholdClient {
    /// A client for `endpoint` (e.g. `https://localhost:8443`), trusting `ca_pem` if given
    /// (else the system roots).
    pub fn new(endpoint: &str, ca_pem: Option<&[u8]>) -> Result<Self, ClientError> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        if !endpoint.starts_with("https://") {
            return Err(ClientError::Config(format!(
                "endpoint {endpoint:?} must be an https:// URL"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .dns_resolver(std::sync::Arc::new(LocalhostResolver))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300));
        if let Some(pem) = ca_pem {
            let ca = reqwest::Certificate::from_pem(pem)
                .map_err(|e| ClientError::Config(format!("CA certificate is not PEM: {e}")))?;
            builder = builder.tls_certs_only([ca]);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            credentials: None,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// A client built from saved credentials (endpoint, CA, service principal).
    pub fn from_credentials(credentials: Credentials) -> Result<Self, ClientError> {
        let ca = match &credentials.ca_certificate {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                ClientError::Config(format!(
                    "cannot read CA certificate {}: {e}",
                    path.display()
                ))
            })?),
            None => None,
        };
        let mut client = Self::new(&credentials.endpoint, ca.as_deref())?;
        client.credentials = Some(credentials);
        Ok(client)
    }

    /// The service endpoint without a trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The credentials in use, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The underlying HTTP client (for streaming uploads and downloads).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Value, ClientError> {
        let url = format!("{}/healthz", self.endpoint);
        let response = self.send(self.http.get(&url), &url).await?;
        decode(response, &url).await
    }

    /// A token for `scope` (e.g. `https://management.localhost/.default`) by the client
    /// credentials grant, cached until a minute before expiry.
    pub async fn token(&self, scope: &str) -> Result<AccessToken, ClientError> {
        let creds = self.credentials.as_ref().ok_or_else(|| {
            ClientError::Config("no credentials: run `keyhold login` first".into())
        })?;
        let now = unix_now();
        let mut cache = self.tokens.lock().await;
        if let Some((token, expires_on)) = cache.get(scope)
            && *expires_on > now + 60
        {
            return Ok(AccessToken {
                token: token.clone(),
                expires_on: *expires_on,
            });
        }
        let url = format!("{}/{}/oauth2/v2.0/token", self.endpoint, creds.tenant_id);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", creds.client_id.as_str()),
            ("client_secret", creds.client_secret.as_str()),
            ("scope", scope),
        ];
        let response = self.send(self.http.post(&url).form(&form), &url).await?;
        let body: TokenResponse = decode_typed(response, &url).await?;
        let token = Zeroizing::new(body.access_token);
        let expires_on = now + body.expires_in;
        cache.insert(scope.to_owned(), (token.clone(), expires_on));
        Ok(AccessToken { token, expires_on })
    }

    /// Sends a JSON request to `url` (absolute, or a path under the endpoint) with a bearer
    /// token for `scope`, and decodes the JSON answer (`Value::Null` for an empty body).
    pub async fn request_json(
        &self,
        method: reqwest::Method,
        url: &str,
        scope: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let url = self.absolute(url);
        let token = self.token(scope).await?;
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(token.token.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(request, &url).await?;
        decode(response, &url).await
    }

    /// Makes `path` absolute under the endpoint; absolute URLs pass unchanged.
    pub fn absolute(&self, url: &str) -> String {
        if url.starts_with("https://") {
            url.to_owned()
        } else {
            format!("{}/{}", self.endpoint, url.trim_start_matches('/'))
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, ClientError> {
        request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.to_owned(),
                source,
            })
    }
}

/// Why a request failed to get an answer, without the URL: reqwest's own message for the
/// outer error, then each distinct underlying cause (`error sending request: client error
/// (Connect): tcp connect error: Connection refused (os error 111)`).
pub fn transport_reason(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut outer = error.to_string();
    if let Some(url) = error.url() {
        // "error sending request for url (https://…)" → "error sending request".
        outer = outer.replace(&format!(" for url ({url})"), "");
    }
    parts.push(outer);
    let mut cause = std::error::Error::source(error);
    while let Some(err) = cause {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = err.source();
    }
    parts.join(": ")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Decodes a JSON answer, turning error statuses into [`ClientError::Api`].
pub async fn decode(response: reqwest::Response, url: &str) -> Result<Value, ClientError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|source| ClientError::Transport {
            url: url.to_owned(),
            source,
        })?;
    let value: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    if status.is_success() {
        return Ok(value);
    }
    Err(api_error(status.as_u16(), &value))
}

async fn decode_typed<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    url: &str,
) -> Result<T, ClientError> {
    let value = decode(response, url).await?;
    serde_json::from_value(value)
        .map_err(|e| ClientError::Config(format!("unexpected answer from {url}: {e}")))
}

/// Reads Azure (`{"error":{"code","message"}}`), OAuth (`{"error","error_description"}`) and
/// OpenAI error shapes.
fn api_error(status: u16, value: &Value) -> ClientError {
    let (code, message) = match value.get("error") {
        Some(Value::Object(e)) => (
            e.get("code").and_then(Value::as_str).unwrap_or("Error"),
            e.get("message").and_then(Value::as_str).unwrap_or(""),
        ),
        Some(Value::String(code)) => (
            code.as_str(),
            value
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or(""),
        ),
        _ => ("Error", value.as_str().unwrap_or("")),
    };
    ClientError::Api {
        status,
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_shapes() {
        let cases = [
            (
                json!({"error": {"code": "KeyNotFound", "message": "m"}}),
                "KeyNotFound",
                "m",
            ),
            (
                json!({"error": "invalid_client", "error_description": "bad secret"}),
                "invalid_client",
                "bad secret",
            ),
            (json!("plain text"), "Error", "plain text"),
        ];
        for (value, code, message) in cases {
            match api_error(400, &value) {
                ClientError::Api {
                    status,
                    code: c,
                    message: m,
                } => {
                    assert_eq!((status, c.as_str(), m.as_str()), (400, code, message));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn endpoint_must_be_https() {
        assert!(matches!(
            KeyholdClient::new("http://localhost:8443", None),
            Err(ClientError::Config(_))
        ));
        let client = KeyholdClient::new("https://localhost:8443/", None).unwrap();
        assert_eq!(
            client.absolute("/healthz"),
            "https://localhost:8443/healthz"
        );
        assert_eq!(
            client.absolute("https://kv.vault.localhost:1/x"),
            "https://kv.vault.localhost:1/x"
        );
    }
}
