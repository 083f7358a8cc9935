//! Models: the base-model catalog and an account's fine-tuned models.
//!
//! A fine-tuned model is an artifact sealed under the account's KEK hierarchy (so under its
//! customer-managed key when it has one) plus a small record. Deleting it deletes both: the
//! artifact's DEK was wrapped only in that object, so the model is crypto-shredded.

use keyhold_store::{Batch, RecordStoreExt, Versioned};
use serde::{Deserialize, Serialize};

use crate::Platform;
use crate::error::PlatformError;
use crate::model::Account;

pub(crate) const MODELS: &str = "platform.models";
/// Largest artifact loaded into memory for serving.
pub const MAX_SERVED_ARTIFACT: u64 = 256 * 1024 * 1024;

/// A base model of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseModel {
    /// Model name (deployments' `model.name`).
    pub name: &'static str,
    /// Version (deployments' `model.version`).
    pub version: &'static str,
    /// Whether it can be fine-tuned.
    pub fine_tune: bool,
}

impl BaseModel {
    /// `name-version`, the id fine-tuning jobs name (`gpt-4o-mini-2024-07-18`).
    pub fn id(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// The catalog.
pub const BASE_MODELS: &[BaseModel] = &[
    BaseModel {
        name: "gpt-4o-mini",
        version: "2024-07-18",
        fine_tune: true,
    },
    BaseModel {
        name: "gpt-4o",
        version: "2024-08-06",
        fine_tune: true,
    },
    BaseModel {
        name: "gpt-4.1-mini",
        version: "2025-04-14",
        fine_tune: true,
    },
    BaseModel {
        name: "gpt-4.1",
        version: "2025-04-14",
        fine_tune: true,
    },
    BaseModel {
        name: "gpt-35-turbo",
        version: "0125",
        fine_tune: true,
    },
];

/// Finds a base model by id (`gpt-4o-mini-2024-07-18`) or name (`gpt-4o-mini`, latest version).
pub fn base_model(id: &str) -> Option<&'static BaseModel> {
    BASE_MODELS
        .iter()
        .find(|m| m.id().eq_ignore_ascii_case(id))
        .or_else(|| BASE_MODELS.iter().find(|m| m.name.eq_ignore_ascii_case(id)))
}

/// A fine-tuned model's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FineTunedModel {
    /// `{base}.ft-{hex}[-{suffix}]`.
    pub id: String,
    /// Base model id.
    pub base_model: String,
    /// The job that made it.
    pub job_id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// The artifact's blob.
    pub blob: String,
    /// The KEK that seals it.
    pub kek_id: String,
    /// Artifact size (plaintext).
    pub bytes: u64,
}
impl Versioned for FineTunedModel {
    const KIND: &'static str = "platform.model";
    const SCHEMA: u16 = 1;
}

pub(crate) fn model_key(account: &str, id: &str) -> String {
    format!(
        "{}/{}",
        account.to_ascii_lowercase(),
        id.to_ascii_lowercase()
    )
}

impl Platform {
    /// The account's fine-tuned models.
    pub async fn fine_tuned_models(
        &self,
        account: &Account,
    ) -> Result<Vec<FineTunedModel>, PlatformError> {
        let prefix = format!("{}/", account.name.to_ascii_lowercase());
        Ok(self
            .records
            .scan_typed::<FineTunedModel>(MODELS, &prefix, 100_000)
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }

    /// One fine-tuned model.
    pub async fn fine_tuned_model(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<FineTunedModel, PlatformError> {
        self.records
            .get_typed::<FineTunedModel>(MODELS, &model_key(&account.name, id))
            .await?
            .map(|(m, _)| m)
            .ok_or_else(|| PlatformError::ObjectNotFound {
                kind: "model",
                id: id.to_owned(),
            })
    }

    /// The decrypted artifact (needs the key).
    pub async fn model_artifact(
        &self,
        account: &Account,
        model: &FineTunedModel,
    ) -> Result<Vec<u8>, PlatformError> {
        self.get_sealed(account, &model.blob, &model.kek_id, MAX_SERVED_ARTIFACT)
            .await
    }

    /// Stores a new model's artifact and record (needs the key).
    pub(crate) async fn create_model(
        &self,
        account: &Account,
        id: &str,
        base_model: &str,
        job_id: &str,
        artifact: &[u8],
    ) -> Result<FineTunedModel, PlatformError> {
        let blob = format!(
            "files/{}/model-{}",
            account.name.to_ascii_lowercase(),
            hex::encode(keyhold_crypto::random_bytes(16)?)
        );
        let kek_id = self.put_sealed(account, &blob, artifact).await?;
        let model = FineTunedModel {
            id: id.to_owned(),
            base_model: base_model.to_owned(),
            job_id: job_id.to_owned(),
            created_at: Self::now(),
            blob,
            kek_id,
            bytes: artifact.len() as u64,
        };
        self.records
            .put_typed(
                MODELS,
                &model_key(&account.name, id),
                &model,
                keyhold_store::Precondition::Absent,
            )
            .await?;
        Ok(model)
    }

    /// Deletes a fine-tuned model (refused while a deployment uses it): record first, then the
    /// artifact, so a crash in between leaves an unreferenced ciphertext that purge removes.
    pub async fn delete_model(&self, account: &Account, id: &str) -> Result<(), PlatformError> {
        let model = self.fine_tuned_model(account, id).await?;
        if let Some(d) = self
            .deployments(account)
            .await?
            .into_iter()
            .find(|d| d.model_name.eq_ignore_ascii_case(&model.id))
        {
            return Err(PlatformError::InvalidRequest(format!(
                "model {} is deployed as {}: delete the deployment first",
                model.id, d.name
            )));
        }
        self.records
            .commit(Batch::new().delete(MODELS, &model_key(&account.name, &model.id)))
            .await?;
        self.blobs.delete(&model.blob).await?;
        Ok(())
    }

    /// Removes every model, job, checkpoint and deployment record of a purged account, and any
    /// object left under its prefix.
    pub(crate) async fn destroy_ai_objects(&self, account: &str) -> Result<(), PlatformError> {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        for table in [
            MODELS,
            crate::finetune::JOBS,
            crate::finetune::QUEUE,
            crate::deployments::DEPLOYMENTS,
        ] {
            for (key, _) in self.records.scan_all(table, &prefix, 1_000_000).await? {
                self.records
                    .commit(Batch::new().delete(table, &key))
                    .await?;
            }
        }
        let blobs = format!("files/{prefix}");
        loop {
            let page = self.blobs.list(&blobs, None, 1000).await?;
            if page.is_empty() {
                break;
            }
            for blob in page {
                self.blobs.delete(&blob.key).await?;
            }
        }
        self.forget_deployments(account);
        Ok(())
    }
}
