//! The Files API's domain: encrypted, streamed uploads and downloads.
//!
//! Every file is one envelope object in the blob store: its DEK is wrapped by the account's
//! current KEK, bound to `account/file-id`, and the body is encrypted segment by segment as it
//! arrives, so plaintext never touches disk and memory stays constant. The file's metadata
//! (name, purpose, size, status) is a small document encrypted the same way under the same
//! KEK. Listing therefore needs the key too: while a customer-managed key is inaccessible,
//! nothing about the account's files is readable (a decision documented in the README).
//!
//! Fine-tune uploads are validated as chat JSONL while they stream; the first problem is
//! reported with its line number in `status_details` and the file gets `status: error`.

use std::sync::Arc;

use keyhold_crypto::{
    Aes256Key, DEFAULT_SEGMENT_SIZE, EnvelopeDecryptor, EnvelopeEncryptor, HeaderParse, KeyRef,
    parse_header, unwrap_dek, wrap_dek,
};
use keyhold_store::{Batch, BlobUpload, Precondition, RecordStoreExt, Versioned, decode};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::Platform;
use crate::error::PlatformError;
use crate::jsonl::ChatJsonlValidator;
use crate::model::Account;

pub(crate) const FILES: &str = "platform.files";
/// Purposes the Files API accepts.
pub const PURPOSES: &[&str] = &[
    "fine-tune",
    "fine-tune-results",
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "evals",
    "user_data",
    "vision",
];
const READ_CHUNK: usize = 1024 * 1024;

/// A file as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileObject {
    /// `file-…`.
    pub id: String,
    /// Plaintext size.
    pub bytes: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Name as uploaded.
    pub filename: String,
    /// Purpose.
    pub purpose: String,
    /// `processed` or `error`.
    pub status: String,
    /// Why `error`.
    pub status_details: Option<String>,
}

/// The stored record: the encrypted metadata document and what protects it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    /// The KEK that seals the metadata document.
    pub(crate) kek_id: String,
    /// Envelope of the `FileObject` JSON (hex).
    pub(crate) sealed: String,
    /// Where the content is (default: the key it was uploaded to).
    #[serde(default)]
    pub(crate) blob: Option<String>,
    /// The content's DEK re-wrapped under a newer KEK (reprocessing); the header's own
    /// wrapped DEK is then ignored. The header's key commitment still proves it is the DEK.
    #[serde(default)]
    pub(crate) dek: Option<RewrappedDek>,
    /// The content's previous object after a re-encryption (deleted right after the swap;
    /// remembered so a crash in between cannot leak it).
    #[serde(default)]
    pub(crate) retired: Option<String>,
}

/// A DEK re-wrapped under another KEK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RewrappedDek {
    /// The KEK.
    pub(crate) kek_id: String,
    /// The wrapped DEK (hex).
    pub(crate) wrapped: String,
}

impl FileRecord {
    pub(crate) fn blob_key(&self, account: &str, id: &str) -> String {
        self.blob.clone().unwrap_or_else(|| blob_key(account, id))
    }
}
impl Versioned for FileRecord {
    const KIND: &'static str = "platform.file";
    const SCHEMA: u16 = 1;
}

pub(crate) fn record_key(account: &str, id: &str) -> String {
    format!("{}/{id}", account.to_ascii_lowercase())
}

pub(crate) fn blob_key(account: &str, id: &str) -> String {
    format!("files/{}/{id}", account.to_ascii_lowercase())
}

/// Encrypts a small document under `kek`, bound to `identity`.
pub(crate) fn seal_doc(
    account: &str,
    kek_id: &str,
    kek: &Aes256Key,
    identity: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, PlatformError> {
    let dek = Aes256Key::generate()?;
    let wrapped = wrap_dek(kek, &dek, identity.as_bytes())?;
    let key_ref = KeyRef {
        account: account.to_owned(),
        kek_id: kek_id.to_owned(),
    };
    let mut out = Vec::new();
    keyhold_crypto::encrypt_stream(&dek, key_ref, wrapped, 64 * 1024, plaintext, &mut out)?;
    Ok(out)
}

pub(crate) fn open_doc(
    kek: &Aes256Key,
    identity: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, PlatformError> {
    let mut out = Vec::new();
    keyhold_crypto::decrypt_stream(sealed, &mut out, |header| {
        unwrap_dek(kek, header.wrapped_dek(), identity.as_bytes())
    })?;
    Ok(out)
}

/// An upload in progress. Call [`FileUpload::finish`] or [`FileUpload::abort`]; dropping it
/// leaves only an unpublished temporary object, which the blob store never shows.
pub struct FileUpload<'a> {
    platform: &'a Platform,
    account: Account,
    object: FileObject,
    kek_id: String,
    kek: Arc<Aes256Key>,
    encryptor: Option<EnvelopeEncryptor>,
    upload: Box<dyn BlobUpload>,
    out: Vec<u8>,
    limit: u64,
    validator: Option<ChatJsonlValidator>,
    /// False until the purpose is known (a multipart body may send it after the file).
    purpose_known: bool,
}

fn check_purpose(purpose: &str) -> Result<(), PlatformError> {
    if PURPOSES.contains(&purpose) {
        Ok(())
    } else {
        Err(PlatformError::InvalidUpload(format!(
            "purpose {purpose:?} is invalid; use one of {}",
            PURPOSES.join(", ")
        )))
    }
}

impl Platform {
    /// Starts an upload (the purpose is checked first; nothing is written for a bad one).
    pub async fn begin_upload<'a>(
        &'a self,
        account: &Account,
        filename: &str,
        purpose: &str,
        limit: u64,
    ) -> Result<FileUpload<'a>, PlatformError> {
        check_purpose(purpose)?;
        self.start_upload(account, filename, Some(purpose), limit)
            .await
    }

    /// Starts an upload whose purpose is not known yet (a multipart body that sends the file
    /// before its `purpose`). The content streams through encryption as usual and is also
    /// validated as chat JSONL on the way (bounded memory: one line), because whether that
    /// validation counts depends on the purpose; [`FileUpload::set_purpose`] must be called
    /// before [`FileUpload::finish`], which then keeps the validation's verdict only for
    /// `fine-tune`. Nothing is published for a missing or invalid purpose.
    pub async fn begin_upload_without_purpose<'a>(
        &'a self,
        account: &Account,
        filename: &str,
        limit: u64,
    ) -> Result<FileUpload<'a>, PlatformError> {
        self.start_upload(account, filename, None, limit).await
    }

    async fn start_upload<'a>(
        &'a self,
        account: &Account,
        filename: &str,
        purpose: Option<&str>,
        limit: u64,
    ) -> Result<FileUpload<'a>, PlatformError> {
        if filename.is_empty() || filename.len() > 512 {
            return Err(PlatformError::InvalidUpload(
                "the file needs a name of at most 512 bytes".into(),
            ));
        }
        let (kek_id, kek) = self.current_kek(account).await?;
        let id = format!("file-{}", hex::encode(keyhold_crypto::random_bytes(16)?));
        let dek = Aes256Key::generate()?;
        let identity = record_key(&account.name, &id);
        let wrapped = wrap_dek(&kek, &dek, identity.as_bytes())?;
        let key_ref = KeyRef {
            account: account.name.to_ascii_lowercase(),
            kek_id: kek_id.clone(),
        };
        let encryptor = EnvelopeEncryptor::new(&dek, key_ref, wrapped, DEFAULT_SEGMENT_SIZE)?;
        let mut upload = self.blobs.begin_put(&blob_key(&account.name, &id)).await?;
        upload.write(encryptor.header().as_bytes()).await?;
        Ok(FileUpload {
            platform: self,
            account: account.clone(),
            object: FileObject {
                id,
                bytes: 0,
                created_at: Self::now(),
                filename: filename.to_owned(),
                purpose: purpose.unwrap_or_default().to_owned(),
                status: "processed".into(),
                status_details: None,
            },
            kek_id,
            kek,
            encryptor: Some(encryptor),
            upload,
            out: Vec::with_capacity(DEFAULT_SEGMENT_SIZE as usize + 64),
            limit,
            validator: purpose
                .is_none_or(|p| p == "fine-tune")
                .then(ChatJsonlValidator::default),
            purpose_known: purpose.is_some(),
        })
    }

    async fn existing_record(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<FileRecord, PlatformError> {
        self.records
            .get_typed::<FileRecord>(FILES, &record_key(&account.name, id))
            .await?
            .map(|(r, _)| r)
            .ok_or_else(|| PlatformError::ObjectNotFound {
                kind: "file",
                id: id.to_owned(),
            })
    }

    /// Opens a file's content by its record.
    pub(crate) async fn open_record_content(
        &self,
        account: &Account,
        id: &str,
        record: &FileRecord,
    ) -> Result<FileContent, PlatformError> {
        self.open_blob(
            account,
            id,
            &record.blob_key(&account.name, id),
            record.dek.as_ref(),
        )
        .await
    }

    /// A file's metadata.
    pub async fn file(&self, account: &Account, id: &str) -> Result<FileObject, PlatformError> {
        let record = self.existing_record(account, id).await?;
        self.open_record(account, id, &record).await
    }

    pub(crate) async fn open_record(
        &self,
        account: &Account,
        id: &str,
        record: &FileRecord,
    ) -> Result<FileObject, PlatformError> {
        let kek = self.kek(account, &record.kek_id).await?;
        let sealed = hex::decode(&record.sealed)
            .map_err(|_| PlatformError::InvalidRequest("stored file metadata is damaged".into()))?;
        let json = open_doc(
            &kek,
            &format!("{}/meta", record_key(&account.name, id)),
            &sealed,
        )?;
        serde_json::from_slice(&json)
            .map_err(|_| PlatformError::InvalidRequest("stored file metadata is damaged".into()))
    }

    /// Files in id order after `after`, at most `limit`, optionally of one purpose; and whether
    /// more follow.
    pub async fn list_files(
        &self,
        account: &Account,
        purpose: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<FileObject>, bool), PlatformError> {
        self.check_key_access(account)?;
        let prefix = format!("{}/", account.name.to_ascii_lowercase());
        let mut cursor = after.map(|a| format!("{prefix}{a}"));
        let mut out = Vec::new();
        loop {
            let page = self
                .records
                .scan(FILES, &prefix, cursor.as_deref(), 200)
                .await?;
            for (key, record) in &page.items {
                let record: FileRecord = decode(&record.value)?;
                let id = key.strip_prefix(&prefix).unwrap_or(key);
                let file = self.open_record(account, id, &record).await?;
                if purpose.is_none_or(|p| p == file.purpose) {
                    if out.len() == limit {
                        return Ok((out, true));
                    }
                    out.push(file);
                }
                cursor = Some(key.clone());
            }
            if page.next.is_none() {
                return Ok((out, false));
            }
        }
    }

    /// Opens a file's content for streaming decryption.
    pub async fn open_content(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<(FileObject, FileContent), PlatformError> {
        let record = self.existing_record(account, id).await?;
        let file = self.open_record(account, id, &record).await?;
        let content = self.open_record_content(account, id, &record).await?;
        Ok((file, content))
    }

    /// Opens an envelope object of `account/id` for decryption: checks the header, unwraps the
    /// DEK (from the header, or re-wrapped in the record) and verifies its commitment.
    pub(crate) async fn open_blob(
        &self,
        account: &Account,
        id: &str,
        key: &str,
        rewrapped: Option<&RewrappedDek>,
    ) -> Result<FileContent, PlatformError> {
        let mut reader = self.blobs.get(key).await?.reader;
        let mut prefix = Vec::new();
        let (header, consumed) = loop {
            match parse_header(&prefix)? {
                HeaderParse::Complete { header, len } => break (header, len),
                HeaderParse::Incomplete { needed_at_least } => {
                    let start = prefix.len();
                    prefix.resize(needed_at_least.max(start + 1), 0);
                    let n = reader
                        .read(&mut prefix[start..])
                        .await
                        .map_err(|e| PlatformError::Store(e.into()))?;
                    if n == 0 {
                        return Err(keyhold_crypto::CryptoError::DecryptionFailed.into());
                    }
                    prefix.truncate(start + n);
                }
            }
        };
        let identity = record_key(&account.name, id);
        if header.key_ref().account != account.name.to_ascii_lowercase() {
            return Err(keyhold_crypto::CryptoError::DecryptionFailed.into());
        }
        let dek = match rewrapped {
            Some(r) => {
                let kek = self.kek(account, &r.kek_id).await?;
                let wrapped = hex::decode(&r.wrapped)
                    .map_err(|_| keyhold_crypto::CryptoError::DecryptionFailed)?;
                unwrap_dek(&kek, &wrapped, identity.as_bytes())?
            }
            None => {
                let kek = self.kek(account, &header.key_ref().kek_id).await?;
                unwrap_dek(&kek, header.wrapped_dek(), identity.as_bytes())?
            }
        };
        let mut decryptor = EnvelopeDecryptor::new(&dek, &header)?;
        let mut first = Vec::new();
        decryptor.update(&prefix[consumed..], &mut first)?;
        Ok(FileContent {
            reader,
            decryptor: Some(decryptor),
            pending: first,
            buf: vec![0u8; READ_CHUNK],
            dek: Some(dek),
        })
    }

    /// Deletes a file: its ciphertext (with its wrapped DEK) and its metadata.
    pub async fn delete_file(&self, account: &Account, id: &str) -> Result<(), PlatformError> {
        let key = record_key(&account.name, id);
        let Some((record, version)) = self.records.get_typed::<FileRecord>(FILES, &key).await?
        else {
            return Err(PlatformError::ObjectNotFound {
                kind: "file",
                id: id.to_owned(),
            });
        };
        self.blobs
            .delete(&record.blob_key(&account.name, id))
            .await?;
        self.records
            .commit(Batch::new().delete_if(FILES, &key, Precondition::Version(version)))
            .await?;
        Ok(())
    }

    /// Deletes every object of an account (purge).
    pub(crate) async fn destroy_objects(&self, account: &str) -> Result<usize, PlatformError> {
        let prefix = format!("{}/", account.to_ascii_lowercase());
        let records = self.records.scan_all(FILES, &prefix, 1_000_000).await?;
        for (key, stored) in &records {
            let id = key.strip_prefix(&prefix).unwrap_or(key);
            let record: FileRecord = decode(&stored.value)?;
            self.blobs.delete(&record.blob_key(account, id)).await?;
            self.records.commit(Batch::new().delete(FILES, key)).await?;
        }
        Ok(records.len())
    }
}

impl FileUpload<'_> {
    /// Sets the purpose of an upload begun without one (checked; an upload whose purpose was
    /// given at the start keeps it and refuses another).
    pub fn set_purpose(&mut self, purpose: &str) -> Result<(), PlatformError> {
        if self.purpose_known {
            return Err(PlatformError::InvalidUpload(
                "the upload has more than one purpose field".into(),
            ));
        }
        check_purpose(purpose)?;
        self.object.purpose = purpose.to_owned();
        self.purpose_known = true;
        if purpose != "fine-tune" {
            self.validator = None;
        }
        Ok(())
    }

    /// Adds plaintext. Over the size limit, the upload must be aborted.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), PlatformError> {
        self.object.bytes += chunk.len() as u64;
        if self.object.bytes > self.limit {
            return Err(PlatformError::FileTooLarge { limit: self.limit });
        }
        if let Some(v) = &mut self.validator {
            v.feed(chunk);
        }
        let encryptor = self
            .encryptor
            .as_mut()
            .ok_or_else(|| PlatformError::InvalidUpload("the upload is finished".into()))?;
        encryptor.update(chunk, &mut self.out)?;
        if !self.out.is_empty() {
            self.upload.write(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Seals the last segment, publishes the object and its metadata. Refused (and nothing
    /// kept) if the account's key became inaccessible meanwhile.
    pub async fn finish(mut self) -> Result<FileObject, PlatformError> {
        if !self.purpose_known {
            self.upload.abort().await?;
            return Err(PlatformError::InvalidUpload(
                "the upload has no purpose field".into(),
            ));
        }
        let account = self.platform.account(&self.account.name).await?;
        if let Err(err) = self.platform.check_key_access(&account) {
            self.upload.abort().await?;
            return Err(err);
        }
        if let Some(encryptor) = self.encryptor.take() {
            encryptor.finish(&mut self.out)?;
            self.upload.write(&self.out).await?;
        }
        if let Some(v) = self.validator.take()
            && let Err(problem) = v.finish()
        {
            self.object.status = "error".into();
            self.object.status_details = Some(problem);
        }
        let name = self.account.name.clone();
        let identity = format!("{}/meta", record_key(&name, &self.object.id));
        let json = serde_json::to_vec(&self.object)
            .map_err(|e| PlatformError::InvalidUpload(e.to_string()))?;
        let sealed = seal_doc(
            &name.to_ascii_lowercase(),
            &self.kek_id,
            &self.kek,
            &identity,
            &json,
        )?;
        let record = FileRecord {
            kek_id: self.kek_id.clone(),
            sealed: hex::encode(sealed),
            blob: None,
            dek: None,
            retired: None,
        };
        self.upload.commit().await?;
        let stored = self
            .platform
            .records
            .put_typed(
                FILES,
                &record_key(&name, &self.object.id),
                &record,
                Precondition::Absent,
            )
            .await;
        if let Err(err) = stored {
            // Never leave an object without its metadata.
            let _ = self
                .platform
                .blobs
                .delete(&blob_key(&name, &self.object.id))
                .await;
            return Err(err.into());
        }
        Ok(self.object)
    }

    /// Drops everything written so far.
    pub async fn abort(self) -> Result<(), PlatformError> {
        Ok(self.upload.abort().await?)
    }
}

/// A file's decrypted content, produced segment by segment: nothing is released before its
/// segment authenticated, and a failure ends the stream with an error.
pub struct FileContent {
    reader: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    decryptor: Option<EnvelopeDecryptor>,
    pending: Vec<u8>,
    buf: Vec<u8>,
    /// The DEK (kept for reprocessing's re-wrap; zeroized on drop).
    pub(crate) dek: Option<Aes256Key>,
}

impl FileContent {
    /// The next plaintext chunk, or `None` at the (authenticated) end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, PlatformError> {
        loop {
            if !self.pending.is_empty() {
                return Ok(Some(std::mem::take(&mut self.pending)));
            }
            let Some(decryptor) = self.decryptor.as_mut() else {
                return Ok(None);
            };
            let n = self
                .reader
                .read(&mut self.buf)
                .await
                .map_err(|e| PlatformError::Store(e.into()))?;
            if n == 0 {
                if let Some(decryptor) = self.decryptor.take() {
                    decryptor.finish(&mut self.pending)?;
                }
            } else {
                decryptor.update(&self.buf[..n], &mut self.pending)?;
            }
        }
    }
}
