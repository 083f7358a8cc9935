//! The fine-tuning worker: claims a queued job with a lease and drives it through its
//! statuses, its trainer's epochs (a checkpoint under the account's key each), and its
//! results. See [`crate::finetune`] for the job model and the lease rules.

use std::sync::Arc;

use keyhold_store::{Batch, Precondition, RecordStoreExt, StoreError, encode};
use serde_json::{Value, json};

use crate::Platform;
use crate::error::PlatformError;
use crate::finetune::{
    Checkpoint, FineTuneJob, JOBS, KEPT_CHECKPOINTS, LEASE_SECS, MAX_ATTEMPTS, MAX_TRAINING_BYTES,
    QUEUE,
};
use crate::model::Account;
use crate::scratch::Scratch;
use crate::trainer::{EpochReport, Example, Trainer, TrainerEvent, TrainingData, TrainingRequest};

impl Platform {
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
        self.platform.scratch_clear_leftovers(&scratch).await?;
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
