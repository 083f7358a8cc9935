//! Fine-tuning jobs: `validating_files → queued → running → succeeded | failed | cancelled`.
//!
//! A job is one record (its events and checkpoints included) plus a queue entry while it is
//! not finished. Workers claim a queued job with a lease (compare-and-swap, renewed while it
//! runs), so exactly one worker runs it. A worker that dies leaves a lease that expires; the
//! next worker restarts the job from its files (its scratch died with the ephemeral key), up
//! to [`MAX_ATTEMPTS`] times, then fails it with a clear error — a job is never left `running`.
//!
//! Every epoch writes a checkpoint under the account's key, so a job whose customer-managed
//! key becomes unusable fails with `CustomerManagedKeyAccessDenied` at its next epoch; the
//! model artifact and the results file are written under the same key.

use std::sync::Arc;

use keyhold_store::{Batch, Precondition, RecordStoreExt, StoreError, Versioned, encode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Platform;
use crate::error::PlatformError;
use crate::model::Account;
use crate::models::base_model;
use crate::scratch::Scratch;
use crate::trainer::{
    EpochReport, Example, Hyperparameters, Trainer, TrainerEvent, TrainingData, TrainingRequest,
};

pub(crate) const JOBS: &str = "platform.finetune_jobs";
pub(crate) const QUEUE: &str = "platform.finetune_queue";
/// Lease length; renewed every [`LEASE_SECS`]/3 while a job runs.
pub const LEASE_SECS: u64 = 10;
/// Interrupted runs tolerated before a job fails.
pub const MAX_ATTEMPTS: u32 = 3;
const MAX_TRAINING_BYTES: u64 = 256 * 1024 * 1024;
const KEPT_CHECKPOINTS: usize = 3;
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

    fn event(&mut self, level: &str, message: impl Into<String>, kind: &str, data: Value) {
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

    fn fail(&mut self, code: &str, message: String) {
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

    /// One worker pass: claims a runnable job and runs it to its end. `false` when idle.
    pub async fn finetune_step(
        &self,
        worker: &str,
        trainer: &Arc<dyn Trainer>,
    ) -> Result<bool, PlatformError> {
        let now = Self::now();
        for (key, _) in self.records.scan_all(QUEUE, "", 1000).await? {
            let Some((mut job, version)) =
                self.records.get_typed::<FineTuneJob>(JOBS, &key).await?
            else {
                self.records
                    .commit(Batch::new().delete(QUEUE, &key))
                    .await?;
                continue;
            };
            if job.is_terminal() {
                self.records
                    .commit(Batch::new().delete(QUEUE, &key))
                    .await?;
                continue;
            }
            if job.lease_until > now {
                continue;
            }
            if job.attempts > 0 {
                job.event(
                    "warn",
                    "The worker running this job stopped; it restarts from its files (its scratch was encrypted with a key that did not survive).",
                    "message",
                    Value::Null,
                );
            }
            job.attempts += 1;
            job.lease_owner = Some(worker.to_owned());
            job.lease_until = now + LEASE_SECS;
            if job.attempts > MAX_ATTEMPTS {
                job.fail(
                    "job_interrupted",
                    format!("the job was interrupted {MAX_ATTEMPTS} times; create it again"),
                );
            }
            let mut runner = JobRunner {
                platform: self,
                job,
                version,
                key,
            };
            match runner.save().await {
                Ok(true) => {}
                Ok(false) => continue, // another worker won, or it was cancelled
                Err(e) => return Err(e),
            }
            if !runner.job.is_terminal() {
                runner.run(trainer).await?;
            }
            return Ok(true);
        }
        Ok(false)
    }
}

/// Drives one claimed job.
struct JobRunner<'a> {
    platform: &'a Platform,
    job: FineTuneJob,
    version: u64,
    key: String,
}

enum Stop {
    /// The job ended (failed or cancelled); the record says how.
    Ended,
}

impl JobRunner<'_> {
    /// Saves the job (renewing the lease); `false` when it was changed elsewhere (cancelled,
    /// or taken over), in which case this runner must stop.
    async fn save(&mut self) -> Result<bool, PlatformError> {
        if !self.job.is_terminal() {
            self.job.lease_until = Platform::now() + LEASE_SECS;
        }
        let mut batch = Batch::new().put_if(
            JOBS,
            &self.key,
            encode(&self.job)?,
            Precondition::Version(self.version),
        );
        if self.job.is_terminal() {
            batch = batch.delete(QUEUE, &self.key);
        }
        match self.platform.records.commit(batch).await {
            Ok(committed) => {
                if let Some(Some(v)) = committed.versions.first() {
                    self.version = *v;
                }
                Ok(true)
            }
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn status(&mut self, status: &str, message: &str) -> Result<(), Stop> {
        self.job.status = status.into();
        self.job.event("info", message, "message", Value::Null);
        self.checked_save().await
    }

    async fn checked_save(&mut self) -> Result<(), Stop> {
        match self.save().await {
            Ok(true) => Ok(()),
            _ => Err(Stop::Ended),
        }
    }

    /// Fails the job with `err` and saves it.
    async fn fail(&mut self, err: PlatformError) -> Stop {
        let code = match &err {
            PlatformError::CustomerManagedKeyAccessDenied { .. } => {
                "CustomerManagedKeyAccessDenied"
            }
            PlatformError::InvalidRequest(_) | PlatformError::InvalidUpload(_) => {
                "invalid_training_file"
            }
            _ => "internal_error",
        };
        self.job.fail(code, err.to_string());
        let _ = self.save().await;
        Stop::Ended
    }

    async fn account(&mut self) -> Result<Account, Stop> {
        match self.platform.account(&self.job.account).await {
            Ok(a) => Ok(a),
            Err(e) => Err(self.fail(e).await),
        }
    }

    async fn run(&mut self, trainer: &Arc<dyn Trainer>) -> Result<(), PlatformError> {
        let mut scratch = Scratch::new(&self.job.id)?;
        let _ = self.run_steps(trainer, &mut scratch).await;
        self.platform.scratch_destroy(scratch).await
    }

    async fn run_steps(
        &mut self,
        trainer: &Arc<dyn Trainer>,
        scratch: &mut Scratch,
    ) -> Result<(), Stop> {
        self.status(
            "validating_files",
            "Validating training and validation files.",
        )
        .await?;
        let account = self.account().await?;
        let data = match self.read_data(&account).await {
            Ok(d) => d,
            Err(e) => return Err(self.fail(e).await),
        };
        let tokens: u64 = data
            .train
            .iter()
            .flat_map(|e| &e.messages)
            .map(|m| crate::responder::count_tokens(&m.content))
            .sum();
        let prepared = serde_json::to_vec(&data).unwrap_or_default();
        drop(data);
        if let Err(e) = self
            .platform
            .scratch_put(scratch, "dataset", &prepared)
            .await
        {
            return Err(self.fail(e).await);
        }
        drop(prepared);
        self.status("queued", "Files validated. Job enqueued.")
            .await?;
        let data: TrainingData = match self.platform.scratch_get(scratch, "dataset").await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(e) => return Err(self.fail(e).await),
        };
        self.status(
            "running",
            &format!("Fine-tuning job started ({}).", trainer.name()),
        )
        .await?;
        let mut run = trainer.start(TrainingRequest {
            base_model: self.job.model.clone(),
            hyperparameters: self.job.hyperparameters.clone(),
            seed: self.job.seed,
            data,
        });
        let mut renew = tokio::time::interval(std::time::Duration::from_secs(LEASE_SECS / 3));
        renew.tick().await;
        let artifact = loop {
            let event = tokio::select! {
                event = run.next() => event,
                _ = renew.tick() => { self.checked_save().await?; continue; }
            };
            match event {
                Some(TrainerEvent::Epoch(report)) => self.epoch(report).await?,
                Some(TrainerEvent::Done(artifact)) => break artifact,
                Some(TrainerEvent::Failed(message)) => {
                    self.job.fail("training_failed", message);
                    let _ = self.save().await;
                    return Err(Stop::Ended);
                }
                None => {
                    self.job.fail(
                        "training_failed",
                        "the trainer stopped without a result".into(),
                    );
                    let _ = self.save().await;
                    return Err(Stop::Ended);
                }
            }
        };
        drop(run);
        self.finish(artifact, tokens).await
    }

    async fn read_data(&self, account: &Account) -> Result<TrainingData, PlatformError> {
        let mut data = TrainingData::default();
        for (id, into) in [
            (Some(self.job.training_file.clone()), &mut data.train),
            (self.job.validation_file.clone(), &mut data.validation),
        ] {
            let Some(id) = id else { continue };
            let (file, mut content) = self.platform.open_content(account, &id).await?;
            if file.bytes > MAX_TRAINING_BYTES {
                return Err(PlatformError::InvalidRequest(format!(
                    "file {id} is larger than {MAX_TRAINING_BYTES} bytes, the built-in limit for training data"
                )));
            }
            let mut text = Vec::new();
            while let Some(chunk) = content.next_chunk().await? {
                text.extend_from_slice(&chunk);
            }
            for (n, line) in text.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let example: Example = serde_json::from_slice(line).map_err(|_| {
                    PlatformError::InvalidRequest(format!(
                        "file {id} line {}: not a chat example",
                        n + 1
                    ))
                })?;
                into.push(example);
            }
        }
        Ok(data)
    }

    fn model_name(&self) -> String {
        let hex = self.job.id.trim_start_matches("ftjob-");
        match &self.job.suffix {
            Some(s) => format!("{}.ft-{hex}-{s}", self.job.model),
            None => format!("{}.ft-{hex}", self.job.model),
        }
    }

    async fn epoch(&mut self, report: EpochReport) -> Result<(), Stop> {
        let metrics = json!({
            "step": report.step,
            "epoch": report.epoch,
            "train_loss": report.train_loss,
            "train_mean_token_accuracy": report.train_accuracy,
            "valid_loss": report.valid_loss,
            "valid_mean_token_accuracy": report.valid_accuracy,
            "full_valid_loss": report.valid_loss,
            "full_valid_mean_token_accuracy": report.valid_accuracy,
        });
        // The checkpoint is an encrypted write under the account's key: a revoked key stops
        // the job here.
        let account = self.account().await?;
        let blob = format!(
            "files/{}/ftckpt-{}-{}",
            account.name.to_ascii_lowercase(),
            self.job.id.trim_start_matches("ftjob-"),
            report.epoch
        );
        let body = report
            .checkpoint
            .clone()
            .unwrap_or_else(|| metrics.to_string().into_bytes());
        if let Err(e) = self.platform.put_sealed(&account, &blob, &body).await {
            return Err(self.fail(e).await);
        }
        let mut message = format!(
            "Step {}: training loss={:.4}",
            report.step, report.train_loss
        );
        if let Some(v) = report.valid_loss {
            message.push_str(&format!(", validation loss={v:.4}"));
        }
        self.job.event("info", message, "metrics", metrics.clone());
        self.job.checkpoints.push(Checkpoint {
            id: format!(
                "ftckpt-{}",
                hex::encode(keyhold_crypto::random_bytes(12).unwrap_or_default())
            ),
            created_at: Platform::now(),
            fine_tuned_model_checkpoint: format!("{}:ckpt-step-{}", self.model_name(), report.step),
            step_number: report.step,
            metrics,
            blob,
        });
        let mut dropped = Vec::new();
        while self.job.checkpoints.len() > KEPT_CHECKPOINTS {
            dropped.push(self.job.checkpoints.remove(0));
        }
        self.checked_save().await?;
        for old in dropped {
            let _ = self.platform.blobs.delete(&old.blob).await;
        }
        Ok(())
    }

    async fn finish(&mut self, artifact: Vec<u8>, tokens: u64) -> Result<(), Stop> {
        let account = self.account().await?;
        let name = self.model_name();
        // Results file first: a crash after it leaves an extra file, never a model without one.
        let mut csv = String::from(
            "step,epoch,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy\n",
        );
        for e in self.job.events.iter().filter(|e| e.kind == "metrics") {
            let f = |k: &str| {
                e.data
                    .get(k)
                    .map(|v| {
                        if v.is_null() {
                            String::new()
                        } else {
                            v.to_string()
                        }
                    })
                    .unwrap_or_default()
            };
            csv.push_str(&format!(
                "{},{},{},{},{},{}\n",
                f("step"),
                f("epoch"),
                f("train_loss"),
                f("train_mean_token_accuracy"),
                f("valid_loss"),
                f("valid_mean_token_accuracy")
            ));
        }
        let results = async {
            let mut upload = self
                .platform
                .begin_upload(&account, "results.csv", "fine-tune-results", u64::MAX)
                .await?;
            upload.write(csv.as_bytes()).await?;
            upload.finish().await
        }
        .await;
        let results = match results {
            Ok(f) => f,
            Err(e) => return Err(self.fail(e).await),
        };
        let model = match self
            .platform
            .create_model(&account, &name, &self.job.model, &self.job.id, &artifact)
            .await
        {
            Ok(m) => m,
            Err(e) => return Err(self.fail(e).await),
        };
        self.job.fine_tuned_model = Some(model.id.clone());
        self.job.result_files = vec![results.id];
        self.job.trained_tokens = Some(tokens * u64::from(self.job.hyperparameters.n_epochs));
        self.job.event(
            "info",
            format!("New fine-tuned model created: {}", model.id),
            "message",
            Value::Null,
        );
        self.job.event(
            "info",
            "The job has successfully completed.",
            "message",
            Value::Null,
        );
        self.job.status = "succeeded".into();
        self.job.finished_at = Some(Platform::now());
        self.checked_save().await
    }
}
