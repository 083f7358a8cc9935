//! Fine-tuning jobs: `validating_files → queued → running → succeeded | failed | cancelled`.
//!
//! A job is one record (its events and checkpoints included) plus a queue entry while it is
//! not finished. Workers claim a queued job with a lease (compare-and-swap, renewed while it
//! runs), so exactly one worker runs it. A worker that dies leaves a lease that expires; the
//! next worker restarts the job from its files (its scratch died with the ephemeral key), up
//! to [`MAX_ATTEMPTS`] times, then fails it with a clear error — a job is never left `running`.
//!
//! The worker that runs jobs is in `finetune_worker.rs`. Every epoch writes a checkpoint
//! under the account's key, so a job whose customer-managed key becomes unusable fails with
//! `CustomerManagedKeyAccessDenied` at its next epoch; the model artifact and the results file
//! are written under the same key.

use keyhold_store::{Batch, Precondition, RecordStoreExt, StoreError, Versioned, encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Platform;
use crate::error::PlatformError;
use crate::model::Account;
use crate::models::base_model;
use crate::trainer::Hyperparameters;

pub(crate) const JOBS: &str = "platform.finetune_jobs";
pub(crate) const QUEUE: &str = "platform.finetune_queue";
/// Lease length; renewed every [`LEASE_SECS`]/3 while a job runs.
pub const LEASE_SECS: u64 = 10;
/// Interrupted runs tolerated before a job fails.
pub const MAX_ATTEMPTS: u32 = 3;
pub(crate) const MAX_TRAINING_BYTES: u64 = 256 * 1024 * 1024;
pub(crate) const KEPT_CHECKPOINTS: usize = 3;
const MAX_EVENTS: usize = 500;

/// A queue entry (the job record holds everything; the entry makes workers' scans cheap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct QueueEntry;
impl Versioned for QueueEntry {
    const KIND: &'static str = "platform.finetune_queue";
    const SCHEMA: u16 = 1;
}

/// A job's error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// Code.
    pub code: String,
    /// Message.
    pub message: String,
    /// The request parameter at fault.
    pub param: Option<String>,
}

/// An event (`fine_tuning.job.event`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    /// `ftevent-…`.
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// Text.
    pub message: String,
    /// `message` or `metrics`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Metrics.
    pub data: Value,
}

/// A checkpoint (`fine_tuning.job.checkpoint`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `ftckpt-…`.
    pub id: String,
    /// Unix seconds.
    pub created_at: u64,
    /// `{model}:ckpt-step-{n}`.
    pub fine_tuned_model_checkpoint: String,
    /// Step.
    pub step_number: u64,
    /// Metrics.
    pub metrics: Value,
    /// Sealed checkpoint object.
    pub blob: String,
}

/// A fine-tuning job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FineTuneJob {
    /// `ftjob-…`.
    pub id: String,
    /// Account.
    pub account: String,
    /// Base model id.
    pub model: String,
    /// Training file id.
    pub training_file: String,
    /// Validation file id.
    pub validation_file: Option<String>,
    /// Hyperparameters.
    pub hyperparameters: Hyperparameters,
    /// Suffix for the model name.
    pub suffix: Option<String>,
    /// Seed.
    pub seed: u64,
    /// Status.
    pub status: String,
    /// Why it failed.
    pub error: Option<JobError>,
    /// The model made.
    pub fine_tuned_model: Option<String>,
    /// Results files.
    pub result_files: Vec<String>,
    /// Tokens trained on.
    pub trained_tokens: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub finished_at: Option<u64>,
    /// Events, oldest first.
    pub events: Vec<JobEvent>,
    /// Checkpoints, oldest first (the last few).
    pub checkpoints: Vec<Checkpoint>,
    /// Runs started.
    pub attempts: u32,
    /// Worker holding the lease.
    pub lease_owner: Option<String>,
    /// Lease end (unix s).
    pub lease_until: u64,
}
impl Versioned for FineTuneJob {
    const KIND: &'static str = "platform.finetune_job";
    const SCHEMA: u16 = 1;
}

impl FineTuneJob {
    /// Finished for good.
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "failed" | "cancelled")
    }

    pub(crate) fn event(
        &mut self,
        level: &str,
        message: impl Into<String>,
        kind: &str,
        data: Value,
    ) {
        let id = format!(
            "ftevent-{}",
            hex::encode(keyhold_crypto::random_bytes(12).unwrap_or_default())
        );
        self.events.push(JobEvent {
            id,
            created_at: Platform::now(),
            level: level.into(),
            message: message.into(),
            kind: kind.into(),
            data,
        });
        if self.events.len() > MAX_EVENTS {
            self.events.remove(0);
        }
    }

    pub(crate) fn fail(&mut self, code: &str, message: String) {
        self.status = "failed".into();
        self.finished_at = Some(Platform::now());
        self.event(
            "error",
            format!("The job failed: {message}"),
            "message",
            Value::Null,
        );
        self.error = Some(JobError {
            code: code.into(),
            message,
            param: None,
        });
    }
}

/// What a create request asks for.
#[derive(Debug, Clone, Default)]
pub struct JobRequest {
    /// Base model.
    pub model: String,
    /// Training file.
    pub training_file: String,
    /// Validation file.
    pub validation_file: Option<String>,
    /// Epochs (`None`: auto).
    pub n_epochs: Option<u32>,
    /// Batch size (`None`: auto).
    pub batch_size: Option<u32>,
    /// Learning-rate multiplier (`None`: auto).
    pub learning_rate_multiplier: Option<f64>,
    /// Suffix.
    pub suffix: Option<String>,
    /// Seed.
    pub seed: Option<u64>,
}

pub(crate) fn job_key(account: &str, id: &str) -> String {
    format!("{}/{id}", account.to_ascii_lowercase())
}

fn bad(param: &str, message: String) -> PlatformError {
    PlatformError::InvalidRequest(format!("{param}: {message}"))
}

impl Platform {
    /// Creates a job (checks the files and the key first; nothing is written on a refusal).
    pub async fn create_job(
        &self,
        account: &Account,
        request: JobRequest,
    ) -> Result<FineTuneJob, PlatformError> {
        self.check_key_access(account)?;
        let base = base_model(&request.model)
            .filter(|m| m.fine_tune)
            .ok_or_else(|| {
                bad(
                    "model",
                    format!(
                        "{:?} cannot be fine-tuned; use one of {}",
                        request.model,
                        crate::models::BASE_MODELS
                            .iter()
                            .map(|m| m.id())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        for (param, id) in [
            ("training_file", Some(&request.training_file)),
            ("validation_file", request.validation_file.as_ref()),
        ] {
            let Some(id) = id else { continue };
            let file = self.file(account, id).await.map_err(|e| match e {
                PlatformError::ObjectNotFound { .. } => {
                    bad(param, format!("file {id} does not exist in this account"))
                }
                other => other,
            })?;
            if file.purpose != "fine-tune" {
                return Err(bad(
                    param,
                    format!(
                        "file {id} has purpose {:?}; upload it with purpose fine-tune",
                        file.purpose
                    ),
                ));
            }
            if file.status != "processed" {
                return Err(bad(
                    param,
                    format!(
                        "file {id} is not valid training data: {}",
                        file.status_details.unwrap_or_default()
                    ),
                ));
            }
        }
        if let Some(s) = &request.suffix
            && (s.len() > 40
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(bad(
                "suffix",
                "use at most 40 letters, digits, - or _".into(),
            ));
        }
        let n_epochs = request.n_epochs.unwrap_or(3);
        if !(1..=50).contains(&n_epochs) {
            return Err(bad(
                "hyperparameters.n_epochs",
                "must be from 1 to 50".into(),
            ));
        }
        let batch_size = request.batch_size.unwrap_or(1);
        if !(1..=256).contains(&batch_size) {
            return Err(bad(
                "hyperparameters.batch_size",
                "must be from 1 to 256".into(),
            ));
        }
        let lr = request.learning_rate_multiplier.unwrap_or(1.0);
        if !(lr > 0.0 && lr <= 10.0) {
            return Err(bad(
                "hyperparameters.learning_rate_multiplier",
                "must be above 0 and at most 10".into(),
            ));
        }
        let id = format!("ftjob-{}", hex::encode(keyhold_crypto::random_bytes(16)?));
        let seed = match request.seed {
            Some(s) => s,
            None => {
                u64::from_le_bytes(
                    keyhold_crypto::random_bytes(8)?
                        .try_into()
                        .map_err(|_| bad("seed", "cannot draw a seed".into()))?,
                ) >> 33
            }
        };
        let mut job = FineTuneJob {
            id: id.clone(),
            account: account.name.clone(),
            model: base.id(),
            training_file: request.training_file,
            validation_file: request.validation_file,
            hyperparameters: Hyperparameters {
                n_epochs,
                batch_size,
                learning_rate_multiplier: lr,
            },
            suffix: request.suffix,
            seed,
            status: "validating_files".into(),
            error: None,
            fine_tuned_model: None,
            result_files: Vec::new(),
            trained_tokens: None,
            created_at: Self::now(),
            finished_at: None,
            events: Vec::new(),
            checkpoints: Vec::new(),
            attempts: 0,
            lease_owner: None,
            lease_until: 0,
        };
        job.event(
            "info",
            format!("Created fine-tuning job: {id}"),
            "message",
            Value::Null,
        );
        let key = job_key(&account.name, &id);
        self.records
            .commit(
                Batch::new()
                    .put_if(JOBS, &key, encode(&job)?, Precondition::Absent)
                    .put_if(QUEUE, &key, encode(&QueueEntry)?, Precondition::Absent),
            )
            .await?;
        Ok(job)
    }

    /// One job.
    pub async fn job(&self, account: &Account, id: &str) -> Result<FineTuneJob, PlatformError> {
        Ok(self.job_versioned(&account.name, id).await?.0)
    }

    async fn job_versioned(
        &self,
        account: &str,
        id: &str,
    ) -> Result<(FineTuneJob, u64), PlatformError> {
        self.records
            .get_typed::<FineTuneJob>(JOBS, &job_key(account, id))
            .await?
            .ok_or_else(|| PlatformError::ObjectNotFound {
                kind: "fine-tuning job",
                id: id.to_owned(),
            })
    }

    /// The account's jobs, newest first.
    pub async fn jobs(&self, account: &Account) -> Result<Vec<FineTuneJob>, PlatformError> {
        let prefix = format!("{}/", account.name.to_ascii_lowercase());
        let mut jobs: Vec<FineTuneJob> = self
            .records
            .scan_typed::<FineTuneJob>(JOBS, &prefix, 100_000)
            .await?
            .into_iter()
            .map(|(_, j)| j)
            .collect();
        jobs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(jobs)
    }

    /// Cancels a job that has not finished.
    pub async fn cancel_job(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<FineTuneJob, PlatformError> {
        loop {
            let (mut job, version) = self.job_versioned(&account.name, id).await?;
            if job.is_terminal() {
                return Err(PlatformError::InvalidRequest(format!(
                    "job {id} has already {} and cannot be cancelled",
                    job.status
                )));
            }
            job.status = "cancelled".into();
            job.finished_at = Some(Self::now());
            job.event("info", "Job cancelled.", "message", Value::Null);
            let key = job_key(&account.name, id);
            match self
                .records
                .commit(
                    Batch::new()
                        .put_if(JOBS, &key, encode(&job)?, Precondition::Version(version))
                        .delete(QUEUE, &key),
                )
                .await
            {
                Err(StoreError::Conflict { .. }) => continue,
                other => {
                    other?;
                    return Ok(job);
                }
            }
        }
    }
}
