//! Sealed objects in the blob store: whole small documents (model artifacts, checkpoints) under
//! an account KEK, and job scratch under an ephemeral key.
//!
//! **Scratch** is what a fine-tuning job keeps while it runs (the prepared dataset). As the
//! source documents describe for training compute, it is encrypted with an *ephemeral service
//! key* — generated for the job, held only in this process's memory (zeroized on drop), never
//! the customer's key — and destroyed with the job. A crash loses the key, which makes any
//! scratch left on disk unreadable; [`Platform::sweep_scratch`] deletes such leftovers at start.
//! Nothing is written in plaintext, even transiently, so `hbiWorkspace` needs no special path.

use keyhold_crypto::Aes256Key;
use tokio::io::AsyncReadExt;

use crate::Platform;
use crate::error::PlatformError;
use crate::files::{open_doc, seal_doc};
use crate::model::Account;

const SCRATCH_PREFIX: &str = "scratch/";

/// A job's scratch space.
pub struct Scratch {
    key: Aes256Key,
    prefix: String,
    names: Vec<String>,
}

impl Scratch {
    /// Fresh scratch for `job` with a new ephemeral key.
    pub fn new(job: &str) -> Result<Scratch, PlatformError> {
        Ok(Scratch {
            key: Aes256Key::generate()?,
            prefix: format!("{SCRATCH_PREFIX}{job}/"),
            names: Vec::new(),
        })
    }

    fn key_of(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl Platform {
    /// Writes a whole object durably.
    pub(crate) async fn write_blob(&self, key: &str, bytes: &[u8]) -> Result<(), PlatformError> {
        let mut upload = self.blobs.begin_put(key).await?;
        for chunk in bytes.chunks(1024 * 1024) {
            if let Err(err) = upload.write(chunk).await {
                upload.abort().await?;
                return Err(err.into());
            }
        }
        upload.commit().await?;
        Ok(())
    }

    /// Reads a whole object of at most `limit` bytes.
    pub(crate) async fn read_blob(&self, key: &str, limit: u64) -> Result<Vec<u8>, PlatformError> {
        let blob = self.blobs.get(key).await?;
        if blob.size > limit {
            return Err(PlatformError::InvalidRequest(format!(
                "stored object {key} is larger than {limit} bytes"
            )));
        }
        let mut out = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
        blob.reader
            .take(limit)
            .read_to_end(&mut out)
            .await
            .map_err(|e| PlatformError::Store(e.into()))?;
        Ok(out)
    }

    /// Seals `plaintext` under the account's current KEK (an encrypted write: refused while the
    /// customer-managed key is unusable) and stores it at `key`, bound to that name. Returns
    /// the KEK id.
    pub(crate) async fn put_sealed(
        &self,
        account: &Account,
        key: &str,
        plaintext: &[u8],
    ) -> Result<String, PlatformError> {
        let (kek_id, kek) = self.current_kek(account).await?;
        let sealed = seal_doc(
            &account.name.to_ascii_lowercase(),
            &kek_id,
            &kek,
            key,
            plaintext,
        )?;
        self.write_blob(key, &sealed).await?;
        Ok(kek_id)
    }

    /// Reads an object written by [`Platform::put_sealed`].
    pub(crate) async fn get_sealed(
        &self,
        account: &Account,
        key: &str,
        kek_id: &str,
        limit: u64,
    ) -> Result<Vec<u8>, PlatformError> {
        let kek = self.kek(account, kek_id).await?;
        let sealed = self.read_blob(key, limit + 64 * 1024).await?;
        open_doc(&kek, key, &sealed)
    }

    /// Stores `plaintext` in scratch under the job's ephemeral key.
    pub async fn scratch_put(
        &self,
        scratch: &mut Scratch,
        name: &str,
        plaintext: &[u8],
    ) -> Result<(), PlatformError> {
        let key = scratch.key_of(name);
        let sealed = seal_doc("scratch", "ephemeral", &scratch.key, &key, plaintext)?;
        self.write_blob(&key, &sealed).await?;
        scratch.names.push(name.to_owned());
        Ok(())
    }

    /// Reads a scratch object back.
    pub async fn scratch_get(
        &self,
        scratch: &Scratch,
        name: &str,
    ) -> Result<Vec<u8>, PlatformError> {
        let key = scratch.key_of(name);
        let sealed = self.read_blob(&key, u64::MAX).await?;
        open_doc(&scratch.key, &key, &sealed)
    }

    /// Deletes the scratch objects and drops the key.
    pub async fn scratch_destroy(&self, scratch: Scratch) -> Result<(), PlatformError> {
        for name in &scratch.names {
            self.blobs.delete(&scratch.key_of(name)).await?;
        }
        Ok(())
    }

    /// Deletes scratch left by a crashed process (its key died with it). Returns the count.
    /// Only for a node that owns its blob store: with a shared one, other nodes' running jobs
    /// keep scratch there, and [`Platform::scratch_clear_leftovers`] does the job per job.
    pub async fn sweep_scratch(&self) -> Result<usize, PlatformError> {
        self.delete_all_under(SCRATCH_PREFIX).await
    }

    /// Deletes what an earlier holder of this job's lease left in its scratch (its key is
    /// gone; the lease makes this worker the only one using the prefix now).
    pub async fn scratch_clear_leftovers(&self, scratch: &Scratch) -> Result<usize, PlatformError> {
        self.delete_all_under(&scratch.prefix).await
    }

    async fn delete_all_under(&self, prefix: &str) -> Result<usize, PlatformError> {
        let mut removed = 0;
        loop {
            let page = self.blobs.list(prefix, None, 1000).await?;
            if page.is_empty() {
                return Ok(removed);
            }
            for blob in page {
                self.blobs.delete(&blob.key).await?;
                removed += 1;
            }
        }
    }
}
