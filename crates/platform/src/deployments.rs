//! Deployments (`accounts/{a}/deployments/{d}`) and the chat completions they serve.
//!
//! Deploying a fine-tuned model decrypts its artifact — which needs the account's key — and
//! keeps the model in memory. As the source documents say, a deployment then keeps answering
//! while the customer-managed key is unusable, until it is deleted; deploying (or re-creating a
//! deleted deployment) needs the key again. After a restart a deployment loads its model at
//! its first request, which likewise needs the key.
//!
//! Base models are served by the built-in responder, or by an upstream OpenAI-compatible
//! endpoint when one is configured ([`UpstreamChat`]).

use std::sync::Arc;

use async_trait::async_trait;
use keyhold_store::{Batch, Precondition, RecordStoreExt, Versioned};
use serde::{Deserialize, Serialize};

use crate::Platform;
use crate::error::PlatformError;
use crate::model::Account;
use crate::models::{base_model, model_key};
use crate::responder::{ChatMessage, Responder, base_reply, count_tokens};

pub(crate) const DEPLOYMENTS: &str = "platform.deployments";
/// SKUs accepted.
pub const SKUS: &[&str] = &[
    "Standard",
    "GlobalStandard",
    "DataZoneStandard",
    "ProvisionedManaged",
    "GlobalProvisionedManaged",
    "DeveloperTier",
];

/// A deployment's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// Name.
    pub name: String,
    /// Account.
    pub account: String,
    /// `OpenAI`.
    pub model_format: String,
    /// Base model name or fine-tuned model id.
    pub model_name: String,
    /// Model version.
    pub model_version: String,
    /// SKU name.
    pub sku_name: String,
    /// SKU capacity.
    pub sku_capacity: u32,
    /// Unix seconds.
    pub created_at: u64,
    /// A fine-tuned model of the account.
    pub fine_tuned: bool,
}
impl Versioned for Deployment {
    const KIND: &'static str = "platform.deployment";
    const SCHEMA: u16 = 1;
}

/// What a PUT asks for.
#[derive(Debug, Clone, Default)]
pub struct DeploymentSpec {
    /// `model.format` (default `OpenAI`).
    pub model_format: Option<String>,
    /// `model.name`.
    pub model_name: String,
    /// `model.version`.
    pub model_version: Option<String>,
    /// `sku.name` (default `Standard`).
    pub sku_name: Option<String>,
    /// `sku.capacity` (default 1).
    pub sku_capacity: Option<u32>,
}

/// An upstream OpenAI-compatible chat endpoint.
#[async_trait]
pub trait UpstreamChat: Send + Sync {
    /// Sends `messages` for `model`; returns the reply text and the upstream's token counts.
    async fn complete(
        &self,
        model: &str,
        messages: &[ChatMessage],
        max_tokens: Option<u64>,
    ) -> Result<(String, Option<(u64, u64)>), PlatformError>;
}

/// A model ready to answer, with the model name deployments report.
pub(crate) struct Live {
    model: String,
    served: LiveModel,
}

/// How a deployed model answers.
pub(crate) enum LiveModel {
    Responder(Box<Responder>),
    Base(String),
    Upstream(String),
}

/// A chat completion's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAnswer {
    /// The model that answered.
    pub model: String,
    /// Reply text.
    pub content: String,
    /// `stop` or `length`.
    pub finish_reason: String,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Whether answering used the account's key (the deployment's model was read from
    /// storage and decrypted); a model already in memory uses none.
    pub used_key: bool,
}

fn deployment_key(account: &str, name: &str) -> String {
    format!(
        "{}/{}",
        account.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    )
}

fn validate_name(name: &str) -> Result<(), PlatformError> {
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(PlatformError::InvalidRequest(format!(
            "deployment name {name:?} is invalid: use 2-64 letters, digits, -, _ or ., starting with a letter or digit"
        )))
    }
}

impl Platform {
    /// The account's deployments.
    pub async fn deployments(&self, account: &Account) -> Result<Vec<Deployment>, PlatformError> {
        let prefix = format!("{}/", account.name.to_ascii_lowercase());
        Ok(self
            .records
            .scan_typed::<Deployment>(DEPLOYMENTS, &prefix, 100_000)
            .await?
            .into_iter()
            .map(|(_, d)| d)
            .collect())
    }

    /// One deployment.
    pub async fn deployment(
        &self,
        account: &Account,
        name: &str,
    ) -> Result<Deployment, PlatformError> {
        self.records
            .get_typed::<Deployment>(DEPLOYMENTS, &deployment_key(&account.name, name))
            .await?
            .map(|(d, _)| d)
            .ok_or_else(|| PlatformError::ObjectNotFound {
                kind: "deployment",
                id: name.to_owned(),
            })
    }

    async fn load_model(
        &self,
        account: &Account,
        d: &Deployment,
    ) -> Result<LiveModel, PlatformError> {
        if !d.fine_tuned {
            return Ok(match self.upstream.is_some() {
                true => LiveModel::Upstream(d.model_name.clone()),
                false => LiveModel::Base(d.model_name.clone()),
            });
        }
        let (model, _) = self
            .records
            .get_typed::<crate::models::FineTunedModel>(
                crate::models::MODELS,
                &model_key(&account.name, &d.model_name),
            )
            .await?
            .ok_or_else(|| {
                PlatformError::InvalidRequest(format!(
                    "model {} does not exist in account {}",
                    d.model_name, account.name
                ))
            })?;
        let artifact = self.model_artifact(account, &model).await?;
        match Responder::from_artifact(&artifact) {
            Some(r) => Ok(LiveModel::Responder(Box::new(r))),
            None if self.upstream.is_some() => Ok(LiveModel::Upstream(model.id.clone())),
            None => Err(PlatformError::InvalidRequest(format!(
                "model {} was made by an external trainer in a format the built-in backend cannot serve; configure inference_upstream_url",
                model.id
            ))),
        }
    }

    /// Creates or updates a deployment; returns it and whether it was created.
    pub async fn put_deployment(
        &self,
        account: &Account,
        name: &str,
        spec: DeploymentSpec,
    ) -> Result<(Deployment, bool), PlatformError> {
        validate_name(name)?;
        let format = spec.model_format.unwrap_or_else(|| "OpenAI".into());
        if !format.eq_ignore_ascii_case("OpenAI") {
            return Err(PlatformError::InvalidRequest(format!(
                "model format {format:?} is not supported; use OpenAI"
            )));
        }
        let sku_name = spec.sku_name.unwrap_or_else(|| "Standard".into());
        let sku_name = SKUS
            .iter()
            .find(|s| s.eq_ignore_ascii_case(&sku_name))
            .ok_or_else(|| {
                PlatformError::InvalidRequest(format!(
                    "sku {sku_name:?} is not supported; use one of {}",
                    SKUS.join(", ")
                ))
            })?;
        let capacity = spec.sku_capacity.unwrap_or(1);
        if !(1..=10_000).contains(&capacity) {
            return Err(PlatformError::InvalidRequest(
                "sku.capacity must be from 1 to 10000".into(),
            ));
        }
        let (model_name, model_version, fine_tuned) = match base_model(&spec.model_name) {
            Some(base)
                if spec
                    .model_version
                    .as_deref()
                    .is_none_or(|v| v == base.version)
                    && !spec.model_name.contains(".ft-") =>
            {
                (base.name.to_owned(), base.version.to_owned(), false)
            }
            _ => {
                let model = self.fine_tuned_model(account, &spec.model_name).await.map_err(|e| match e {
                    PlatformError::ObjectNotFound { .. } => PlatformError::InvalidRequest(format!(
                        "model {} (version {}) is neither a base model nor a fine-tuned model of account {}",
                        spec.model_name,
                        spec.model_version.as_deref().unwrap_or("default"),
                        account.name
                    )),
                    other => other,
                })?;
                (model.id, "1".to_owned(), true)
            }
        };
        let key = deployment_key(&account.name, name);
        let existing = self
            .records
            .get_typed::<Deployment>(DEPLOYMENTS, &key)
            .await?;
        let deployment = Deployment {
            name: existing
                .as_ref()
                .map_or_else(|| name.to_owned(), |(d, _)| d.name.clone()),
            account: account.name.clone(),
            model_format: "OpenAI".into(),
            model_name,
            model_version,
            sku_name: (*sku_name).to_owned(),
            sku_capacity: capacity,
            created_at: existing
                .as_ref()
                .map_or_else(Self::now, |(d, _)| d.created_at),
            fine_tuned,
        };
        // Loading a fine-tuned model needs the key: refused while it is unusable.
        if fine_tuned {
            self.check_key_access(account)?;
        }
        let live = Live {
            model: deployment.model_name.clone(),
            served: self.load_model(account, &deployment).await?,
        };
        let expect = existing
            .as_ref()
            .map_or(Precondition::Absent, |(_, v)| Precondition::Version(*v));
        self.records
            .put_typed(DEPLOYMENTS, &key, &deployment, expect)
            .await?;
        if let Ok(mut map) = self.live.lock() {
            map.insert(key, Arc::new(live));
        }
        Ok((deployment, existing.is_none()))
    }

    /// Deletes a deployment (its model leaves memory).
    pub async fn delete_deployment(
        &self,
        account: &Account,
        name: &str,
    ) -> Result<bool, PlatformError> {
        let key = deployment_key(&account.name, name);
        let existed = self
            .records
            .get_typed::<Deployment>(DEPLOYMENTS, &key)
            .await?
            .is_some();
        self.records
            .commit(Batch::new().delete(DEPLOYMENTS, &key))
            .await?;
        if let Ok(mut map) = self.live.lock() {
            map.remove(&key);
        }
        Ok(existed)
    }

    pub(crate) fn forget_deployments(&self, account: &str) {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        if let Ok(mut map) = self.live.lock() {
            map.retain(|k, _| !k.starts_with(&prefix));
        }
    }

    /// Answers a conversation with a deployment's model.
    pub async fn chat(
        &self,
        account: &Account,
        deployment: &str,
        messages: &[ChatMessage],
        max_tokens: Option<u64>,
    ) -> Result<ChatAnswer, PlatformError> {
        let key = deployment_key(&account.name, deployment);
        let cached = self.live.lock().ok().and_then(|m| m.get(&key).cloned());
        let used_key = cached.is_none();
        let live = match cached {
            Some(live) => live,
            None => {
                let d = self.deployment(account, deployment).await?;
                let live = Arc::new(Live {
                    served: self.load_model(account, &d).await?,
                    model: d.model_name,
                });
                if let Ok(mut map) = self.live.lock() {
                    map.insert(key, live.clone());
                }
                live
            }
        };
        let model = live.model.clone();
        let prompt_tokens: u64 = messages.iter().map(|m| count_tokens(&m.content) + 3).sum();
        let (mut content, upstream_usage) = match &live.served {
            LiveModel::Responder(r) => (r.reply(messages), None),
            LiveModel::Base(name) => (base_reply(name, messages), None),
            LiveModel::Upstream(name) => {
                let upstream = self.upstream.as_ref().ok_or_else(|| {
                    PlatformError::InvalidRequest(
                        "no upstream inference endpoint is configured".into(),
                    )
                })?;
                upstream.complete(name, messages, max_tokens).await?
            }
        };
        let mut finish_reason = "stop".to_owned();
        if let Some(limit) = max_tokens
            && upstream_usage.is_none()
            && count_tokens(&content) > limit
        {
            content = truncate_to_tokens(&content, limit);
            finish_reason = "length".into();
        }
        let (prompt_tokens, completion_tokens) =
            upstream_usage.unwrap_or((prompt_tokens, count_tokens(&content)));
        self.record_tokens(&account.name, prompt_tokens, completion_tokens);
        Ok(ChatAnswer {
            model,
            content,
            finish_reason,
            prompt_tokens,
            completion_tokens,
            used_key,
        })
    }
}

fn truncate_to_tokens(text: &str, limit: u64) -> String {
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        if count_tokens(&format!("{out}{word}")) > limit {
            break;
        }
        out.push_str(word);
    }
    out.trim_end().to_owned()
}
