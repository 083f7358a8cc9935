//! Blobs as local files, durable and atomic on POSIX.
//!
//! Upload: write `tmp/<uuid>` (mode 0600) → fsync the file → create missing parent directories
//! → rename onto the final path → fsync the destination directory. A crash before the rename
//! leaves only a temp file, which the next `open` sweeps; after it, the complete object.
//!
//! Shared directories (several nodes on one network file system) are opened with
//! [`LocalBlobStore::open_shared`], which sweeps only temp files untouched for
//! [`SHARED_TMP_MAX_IDLE`]: the others may be uploads in progress on another node.
//!
//! Layout: key `a/b/c` is stored as `objects/a/b/c~`. The `~` suffix (not allowed in keys)
//! keeps a file key `a` and a directory key `a/b` from colliding, as object stores allow both.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use crate::blob::{BlobInfo, BlobReader, BlobStore, BlobUpload, validate_blob_key};
use crate::error::StoreError;

const FILE_SUFFIX: char = '~';
/// A temp file in a shared directory not written for this long is a dead upload's leftover.
pub const SHARED_TMP_MAX_IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A blob store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    objects: PathBuf,
    tmp: PathBuf,
}

impl LocalBlobStore {
    /// Opens (creating if needed, mode 0700) the store in `dir` and removes leftover temp files
    /// of interrupted uploads.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_sweeping(dir, std::time::Duration::ZERO)
    }

    /// Opens a directory other nodes use too: leaves recent temp files alone.
    pub fn open_shared(dir: &Path) -> Result<Self, StoreError> {
        Self::open_sweeping(dir, SHARED_TMP_MAX_IDLE)
    }

    fn open_sweeping(dir: &Path, max_idle: std::time::Duration) -> Result<Self, StoreError> {
        let objects = dir.join("objects");
        let tmp = dir.join("tmp");
        for d in [dir, &objects, &tmp] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)?;
        }
        for entry in std::fs::read_dir(&tmp)? {
            let entry = entry?;
            let idle = match entry.metadata() {
                Ok(meta) => meta.modified()?.elapsed().unwrap_or_default(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if max_idle.is_zero() || idle >= max_idle {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => {}
                    // Another node finished or swept it meanwhile.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        sync_dir(&tmp)?;
        Ok(Self { objects, tmp })
    }

    fn object_path(&self, key: &str) -> PathBuf {
        let mut path = self.objects.join(key);
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(FILE_SUFFIX.to_string());
        path.set_file_name(name);
        path
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Creates the missing directories between `root` and `dir`, fsyncing each parent whose
/// entries changed, so the new path survives a crash.
fn create_dirs_durably(root: &Path, dir: &Path) -> Result<(), StoreError> {
    let Ok(relative) = dir.strip_prefix(root) else {
        return Ok(());
    };
    let mut current = root.to_path_buf();
    for component in relative.components() {
        let next = current.join(component);
        match std::fs::DirBuilder::new().mode(0o700).create(&next) {
            Ok(()) => sync_dir(&current)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        current = next;
    }
    Ok(())
}

struct LocalUpload {
    file: Option<tokio::fs::File>,
    tmp_path: PathBuf,
    final_path: PathBuf,
    objects: PathBuf,
    key: String,
    size: u64,
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

#[async_trait]
impl BlobUpload for LocalUpload {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| StoreError::Engine("upload already finished".into()))?;
        file.write_all(chunk).await?;
        self.size += chunk.len() as u64;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<BlobInfo, StoreError> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| StoreError::Engine("upload already finished".into()))?;
        let result = async {
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            let tmp = self.tmp_path.clone();
            let dest = self.final_path.clone();
            let objects = self.objects.clone();
            tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
                let parent = dest.parent().unwrap_or(&objects).to_path_buf();
                create_dirs_durably(&objects, &parent)?;
                std::fs::rename(&tmp, &dest)?;
                sync_dir(&parent)
            })
            .await
            .map_err(|e| StoreError::Engine(format!("blob task failed: {e}")))?
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&self.tmp_path).await;
            return Err(e);
        }
        Ok(BlobInfo {
            key: self.key.clone(),
            size: self.size,
        })
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        if self.file.take().is_some() {
            tokio::fs::remove_file(&self.tmp_path).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn begin_put(&self, key: &str) -> Result<Box<dyn BlobUpload>, StoreError> {
        validate_blob_key(key)?;
        let tmp_path = self.tmp.join(uuid::Uuid::new_v4().to_string());
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp_path)
            .await?;
        Ok(Box::new(LocalUpload {
            file: Some(file),
            tmp_path,
            final_path: self.object_path(key),
            objects: self.objects.clone(),
            key: key.to_owned(),
            size: 0,
        }))
    }

    async fn get(&self, key: &str) -> Result<BlobReader, StoreError> {
        validate_blob_key(key)?;
        let file = match tokio::fs::File::open(self.object_path(key)).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(key.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        Ok(BlobReader {
            size,
            reader: Box::pin(file),
        })
    }

    async fn head(&self, key: &str) -> Result<Option<BlobInfo>, StoreError> {
        validate_blob_key(key)?;
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(meta) => Ok(Some(BlobInfo {
                key: key.to_owned(),
                size: meta.len(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        validate_blob_key(key)?;
        let path = self.object_path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                let parent = path.parent().unwrap_or(&self.objects).to_path_buf();
                tokio::task::spawn_blocking(move || sync_dir(&parent))
                    .await
                    .map_err(|e| StoreError::Engine(format!("blob task failed: {e}")))??;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BlobInfo>, StoreError> {
        crate::blob::validate_blob_list_limit(limit)?;
        let objects = self.objects.clone();
        let prefix = prefix.to_owned();
        let start_after = start_after.map(str::to_owned);
        tokio::task::spawn_blocking(move || -> Result<Vec<BlobInfo>, StoreError> {
            let mut found = Vec::new();
            let mut stack = vec![objects.clone()];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir)? {
                    let entry = entry?;
                    let meta = entry.metadata()?;
                    let path = entry.path();
                    if meta.is_dir() {
                        stack.push(path);
                        continue;
                    }
                    let Ok(relative) = path.strip_prefix(&objects) else {
                        continue;
                    };
                    let Some(key) = relative.to_str().and_then(|k| k.strip_suffix(FILE_SUFFIX))
                    else {
                        continue;
                    };
                    let after = start_after.as_deref().is_none_or(|a| key > a);
                    if key.starts_with(prefix.as_str()) && after {
                        found.push(BlobInfo {
                            key: key.to_owned(),
                            size: meta.len(),
                        });
                    }
                }
            }
            found.sort_by(|a, b| a.key.cmp(&b.key));
            found.truncate(limit);
            Ok(found)
        })
        .await
        .map_err(|e| StoreError::Engine(format!("blob task failed: {e}")))?
    }
}
