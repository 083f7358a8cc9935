//! Reprocessing an account's objects under its current KEK: `rewrap` (each file's DEK is
//! re-wrapped, and its metadata re-sealed; content untouched) or `reencrypt` (each file is
//! decrypted and encrypted again with a new DEK, published atomically, the old object deleted).
//!
//! A job is one record per account. Workers take it with a lease (compare-and-swap on the
//! record, `LEASE_SECS` long, renewed after every file), so exactly one worker runs it; a
//! worker that dies (SIGKILL, node lost) leaves a lease that expires, and the next worker
//! resumes after the last file the record says is done. Each file's step is idempotent: a
//! re-encryption writes to a name derived from the target KEK and swaps the record with
//! compare-and-swap, so repeating a half-done step converges to the same state, and a file is
//! readable at every moment (through its old or its new form).

use keyhold_crypto::{Aes256Key, DEFAULT_SEGMENT_SIZE, EnvelopeEncryptor, KeyRef, wrap_dek};
use keyhold_store::{Precondition, RecordStoreExt, Versioned, decode};
use serde::{Deserialize, Serialize};

use crate::Platform;
use crate::error::PlatformError;
use crate::files::{FILES, FileRecord, RewrappedDek, blob_key, record_key, seal_doc};
use crate::model::Account;

const JOBS: &str = "platform.reprocess_jobs";
/// How long a worker's claim on a job lasts without renewal.
pub const LEASE_SECS: u64 = 10;

/// The job's record (also its API shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReprocessJob {
    /// Job id.
    pub id: String,
    /// Account.
    pub account: String,
    /// `rewrap` or `reencrypt`.
    pub mode: String,
    /// `Running`, `Succeeded` or `Failed`.
    pub status: String,
    /// Files when the job started.
    pub total: u64,
    /// Files done.
    pub done: u64,
    /// The last file id done (files are processed in id order).
    pub cursor: Option<String>,
    /// The worker holding the lease.
    pub lease_owner: Option<String>,
    /// Lease end (unix s).
    pub lease_until: u64,
    /// Started (unix s).
    pub started: u64,
    /// Finished (unix s).
    pub finished: Option<u64>,
    /// Why it failed.
    pub error: Option<String>,
}
impl Versioned for ReprocessJob {
    const KIND: &'static str = "platform.reprocess_job";
    const SCHEMA: u16 = 1;
}

impl Platform {
    /// Starts a job for `account` (refused while one is running).
    pub async fn start_reprocess(
        &self,
        account: &Account,
        mode: &str,
    ) -> Result<ReprocessJob, PlatformError> {
        if mode != "rewrap" && mode != "reencrypt" {
            return Err(PlatformError::InvalidRequest(format!(
                "mode {mode:?} is invalid: use rewrap or reencrypt"
            )));
        }
        self.check_key_access(account)?;
        let key = account.name.to_ascii_lowercase();
        let existing = self.records.get_typed::<ReprocessJob>(JOBS, &key).await?;
        if let Some((job, _)) = &existing
            && job.status == "Running"
        {
            return Err(PlatformError::InvalidRequest(format!(
                "a {} job is already running for {} ({} of {} done)",
                job.mode, account.name, job.done, job.total
            )));
        }
        let prefix = format!("{key}/");
        let total = self
            .records
            .scan_all(FILES, &prefix, 1_000_000)
            .await?
            .len() as u64;
        let job = ReprocessJob {
            id: uuid_like()?,
            account: account.name.clone(),
            mode: mode.to_owned(),
            status: "Running".into(),
            total,
            done: 0,
            cursor: None,
            lease_owner: None,
            lease_until: 0,
            started: Self::now(),
            finished: None,
            error: None,
        };
        let expect = existing.map_or(Precondition::Absent, |(_, v)| Precondition::Version(v));
        self.records.put_typed(JOBS, &key, &job, expect).await?;
        Ok(job)
    }

    /// The account's latest job.
    pub async fn reprocess_job(&self, account: &str) -> Result<ReprocessJob, PlatformError> {
        self.records
            .get_typed::<ReprocessJob>(JOBS, &account.to_ascii_lowercase())
            .await?
            .map(|(j, _)| j)
            .ok_or_else(|| PlatformError::ObjectNotFound {
                kind: "reprocess job",
                id: account.to_owned(),
            })
    }

    /// One worker pass: claims a runnable job (free or expired lease) and processes up to
    /// `batch` files. Returns whether work was done.
    pub async fn reprocess_step(&self, worker: &str, batch: usize) -> Result<bool, PlatformError> {
        let now = Self::now();
        let mut claimed = None;
        for (key, record) in self.records.scan_all(JOBS, "", 100_000).await? {
            let job: ReprocessJob = decode(&record.value)?;
            let ours = job.lease_owner.as_deref() == Some(worker);
            if job.status == "Running" && (ours || job.lease_until <= now) {
                claimed = Some((key, job, record.version));
                break;
            }
        }
        let Some((key, mut job, mut version)) = claimed else {
            return Ok(false);
        };
        job.lease_owner = Some(worker.to_owned());
        job.lease_until = now + LEASE_SECS;
        version = match self
            .records
            .put_typed(JOBS, &key, &job, Precondition::Version(version))
            .await
        {
            Ok(v) => v,
            Err(keyhold_store::StoreError::Conflict { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let account = match self.account(&job.account).await {
            Ok(a) => a,
            Err(err) => return self.fail(&key, job, version, &err).await,
        };
        let prefix = format!("{key}/");
        let after = job.cursor.as_ref().map(|c| format!("{prefix}{c}"));
        let page = self
            .records
            .scan(FILES, &prefix, after.as_deref(), batch.clamp(1, 1000))
            .await?;
        for (record_id, _) in &page.items {
            let id = record_id
                .strip_prefix(&prefix)
                .unwrap_or(record_id)
                .to_owned();
            let step = match job.mode.as_str() {
                "rewrap" => self.rewrap_file(&account, &id).await,
                _ => self.reencrypt_file(&account, &id).await,
            };
            match step {
                Ok(()) => {}
                // The key is (for now) inaccessible: pause, keep the job, retry later.
                Err(
                    PlatformError::CustomerManagedKeyAccessDenied { .. }
                    | PlatformError::KeyVaultUnreachable(_),
                ) => {
                    job.lease_owner = None;
                    job.lease_until = Self::now() + LEASE_SECS;
                    let _ = self
                        .records
                        .put_typed(JOBS, &key, &job, Precondition::Version(version))
                        .await;
                    return Ok(false);
                }
                Err(err) => return self.fail(&key, job, version, &err).await,
            }
            job.done += 1;
            job.cursor = Some(id);
            job.lease_until = Self::now() + LEASE_SECS;
            version = match self
                .records
                .put_typed(JOBS, &key, &job, Precondition::Version(version))
                .await
            {
                Ok(v) => v,
                // Lost the lease (we were too slow): the new holder redoes this file, which is
                // idempotent.
                Err(keyhold_store::StoreError::Conflict { .. }) => return Ok(true),
                Err(e) => return Err(e.into()),
            };
        }
        if page.next.is_none() {
            // Every file is under the current KEK now: versions that protect nothing else
            // leave previousKeyVersions (before the job says Succeeded, so a client that sees
            // it finished also sees which versions are free).
            self.prune_previous_versions(&account.name).await?;
            job.status = "Succeeded".into();
            job.finished = Some(Self::now());
            job.lease_owner = None;
            job.total = job.total.max(job.done);
            let _ = self
                .records
                .put_typed(JOBS, &key, &job, Precondition::Version(version))
                .await;
        }
        Ok(true)
    }

    async fn fail(
        &self,
        key: &str,
        mut job: ReprocessJob,
        version: u64,
        err: &PlatformError,
    ) -> Result<bool, PlatformError> {
        job.status = "Failed".into();
        job.error = Some(format!("{}: {err}", err.code()));
        job.finished = Some(Self::now());
        job.lease_owner = None;
        let _ = self
            .records
            .put_typed(JOBS, key, &job, Precondition::Version(version))
            .await;
        Ok(true)
    }

    async fn file_record(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<Option<(FileRecord, u64)>, PlatformError> {
        Ok(self
            .records
            .get_typed::<FileRecord>(FILES, &record_key(&account.name, id))
            .await?)
    }

    /// Re-seals the metadata under `kek` (returns the new record fields).
    async fn reseal_metadata(
        &self,
        account: &Account,
        id: &str,
        record: &FileRecord,
        kek_id: &str,
        kek: &Aes256Key,
    ) -> Result<String, PlatformError> {
        let file = self.open_record(account, id, record).await?;
        let json =
            serde_json::to_vec(&file).map_err(|e| PlatformError::InvalidUpload(e.to_string()))?;
        let identity = format!("{}/meta", record_key(&account.name, id));
        Ok(hex::encode(seal_doc(
            &account.name.to_ascii_lowercase(),
            kek_id,
            kek,
            &identity,
            &json,
        )?))
    }

    async fn rewrap_file(&self, account: &Account, id: &str) -> Result<(), PlatformError> {
        let Some((record, version)) = self.file_record(account, id).await? else {
            return Ok(()); // deleted meanwhile
        };
        let (kek_id, kek) = self.current_kek(account).await?;
        let current = record
            .dek
            .as_ref()
            .map_or(record.kek_id.as_str(), |d| d.kek_id.as_str());
        if current == kek_id && record.kek_id == kek_id {
            return Ok(());
        }
        let content = self.open_record_content(account, id, &record).await?;
        let dek = content
            .dek
            .as_ref()
            .ok_or(keyhold_crypto::CryptoError::DecryptionFailed)?;
        let wrapped = wrap_dek(&kek, dek, record_key(&account.name, id).as_bytes())?;
        let sealed = self
            .reseal_metadata(account, id, &record, &kek_id, &kek)
            .await?;
        let updated = FileRecord {
            kek_id: kek_id.clone(),
            sealed,
            blob: record.blob.clone(),
            dek: Some(RewrappedDek {
                kek_id,
                wrapped: hex::encode(wrapped),
            }),
            retired: record.retired.clone(),
        };
        self.swap_record(account, id, &updated, version).await
    }

    async fn swap_record(
        &self,
        account: &Account,
        id: &str,
        updated: &FileRecord,
        version: u64,
    ) -> Result<(), PlatformError> {
        match self
            .records
            .put_typed(
                FILES,
                &record_key(&account.name, id),
                updated,
                Precondition::Version(version),
            )
            .await
        {
            Ok(_) | Err(keyhold_store::StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn reencrypt_file(&self, account: &Account, id: &str) -> Result<(), PlatformError> {
        let Some((record, version)) = self.file_record(account, id).await? else {
            return Ok(());
        };
        let (kek_id, kek) = self.current_kek(account).await?;
        let target = format!("{}={kek_id}", blob_key(&account.name, id));
        let source = record.blob_key(&account.name, id);
        if source == target {
            // Done before; finish a cleanup a crash may have interrupted.
            if let Some(retired) = &record.retired {
                self.blobs.delete(retired).await?;
            }
            return Ok(());
        }
        let mut content = self
            .open_blob(account, id, &source, record.dek.as_ref())
            .await?;
        let dek = Aes256Key::generate()?;
        let wrapped = wrap_dek(&kek, &dek, record_key(&account.name, id).as_bytes())?;
        let key_ref = KeyRef {
            account: account.name.to_ascii_lowercase(),
            kek_id: kek_id.clone(),
        };
        let mut encryptor = EnvelopeEncryptor::new(&dek, key_ref, wrapped, DEFAULT_SEGMENT_SIZE)?;
        let mut upload = self.blobs.begin_put(&target).await?;
        let mut out = Vec::new();
        let written = async {
            upload.write(encryptor.header().as_bytes()).await?;
            while let Some(chunk) = content.next_chunk().await? {
                encryptor.update(&chunk, &mut out)?;
                if !out.is_empty() {
                    upload.write(&out).await?;
                    out.clear();
                }
            }
            encryptor.finish(&mut out)?;
            upload.write(&out).await?;
            Ok::<(), PlatformError>(())
        }
        .await;
        if let Err(err) = written {
            upload.abort().await?;
            return Err(err);
        }
        upload.commit().await?;
        let sealed = self
            .reseal_metadata(account, id, &record, &kek_id, &kek)
            .await?;
        let updated = FileRecord {
            kek_id,
            sealed,
            blob: Some(target),
            dek: None,
            retired: Some(source.clone()),
        };
        self.swap_record(account, id, &updated, version).await?;
        self.blobs.delete(&source).await?;
        Ok(())
    }
}

fn uuid_like() -> Result<String, PlatformError> {
    Ok(format!(
        "reprocess-{}",
        hex::encode(keyhold_crypto::random_bytes(8)?)
    ))
}
