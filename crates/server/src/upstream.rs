//! The upstream inference backend: base-model deployments (and artifacts the built-in
//! backend cannot serve) answered by an OpenAI-compatible endpoint the operator runs
//! (vLLM, llama.cpp's server, Ollama, another keyhold…). Only the conversation is sent; the
//! reply and its token counts come back. Its errors never echo the upstream's body (which may
//! quote the prompt) into keyhold's logs or answers.

use std::time::Duration;

use async_trait::async_trait;
use keyhold_platform::PlatformError;
use keyhold_platform::deployments::UpstreamChat;
use keyhold_platform::responder::ChatMessage;
use serde_json::{Value, json};

use crate::config::UpstreamConfig;

/// An OpenAI-compatible `/chat/completions` endpoint.
pub struct HttpUpstream {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
}

impl HttpUpstream {
    /// A client for `config` (reads the key file, trusts the extra CAs).
    pub fn new(config: &UpstreamConfig) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(keyhold_client::LocalhostResolver))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300));
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
            for ca in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())? {
                builder = builder.add_root_certificate(ca);
            }
        }
        let key = match &config.key_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        format!("cannot read the upstream key file {}: {e}", path.display())
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        Ok(Self {
            http: builder.build().map_err(|e| e.to_string())?,
            url: config.url.clone(),
            key,
        })
    }
}

#[async_trait]
impl UpstreamChat for HttpUpstream {
    async fn complete(
        &self,
        model: &str,
        messages: &[ChatMessage],
        max_tokens: Option<u64>,
    ) -> Result<(String, Option<(u64, u64)>), PlatformError> {
        let mut body = json!({ "model": model, "messages": messages });
        if let Some(m) = max_tokens {
            body["max_tokens"] = json!(m);
        }
        let mut request = self
            .http
            .post(format!("{}/chat/completions", self.url))
            .json(&body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key).header("api-key", key);
        }
        let unreachable = |why: String| PlatformError::UpstreamUnavailable(why);
        let response = request.send().await.map_err(|e| {
            unreachable(format!(
                "the upstream inference endpoint did not answer: {}",
                e.without_url()
            ))
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(unreachable(format!(
                "the upstream inference endpoint answered {status}"
            )));
        }
        let value: Value = response
            .json()
            .await
            .map_err(|_| unreachable("the upstream answer is not JSON".into()))?;
        let content = value["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                unreachable("the upstream answer has no choices[0].message.content".into())
            })?
            .to_owned();
        let usage = match (
            value["usage"]["prompt_tokens"].as_u64(),
            value["usage"]["completion_tokens"].as_u64(),
        ) {
            (Some(p), Some(c)) => Some((p, c)),
            _ => None,
        };
        Ok((content, usage))
    }
}
