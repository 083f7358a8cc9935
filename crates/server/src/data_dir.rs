//! The data directory: its layout, the ownership and permission checks made before anything
//! in it is touched, and durable small-file writes.
//!
//! Security: the directory holds the store, sealed keys and (in development) the master key,
//! so it must belong to the user running keyhold and give nobody else any access (mode 0700).
//! A directory with looser permissions is refused rather than "fixed", because it may already
//! have leaked, and the operator should know.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Problems with the data directory or a file in it. Each names the path and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    /// The path exists but is not a directory.
    #[error("data directory {0} exists but is not a directory")]
    NotADirectory(PathBuf),
    /// Owned by another user.
    #[error(
        "{path} is owned by uid {owner}, but keyhold runs as uid {me}; \
         run keyhold as its owner or choose another path"
    )]
    WrongOwner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Our effective uid.
        me: u32,
    },
    /// Group or others have access.
    #[error(
        "{path} has permissions {mode:04o}; it holds keys, so only its owner may access it: \
         run `chmod go-rwx {path}`"
    )]
    LoosePermissions {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An I/O error on a named path.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot create", "cannot read", ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Whether the data directory has been initialised by an earlier start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirState {
    /// Does not exist yet; it will be created with mode 0700.
    Missing,
    /// Exists (checked) but holds no store yet.
    Fresh,
    /// Holds a store from an earlier start.
    Initialized,
}

/// Paths inside the data directory. The names are part of the user contract.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Wraps a data directory path (nothing is checked or created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The embedded record store file.
    pub fn store_file(&self) -> PathBuf {
        self.root.join("store.redb")
    }
    /// The development master key (only when no master key file is configured).
    pub fn dev_master_key(&self) -> PathBuf {
        self.root.join("master.key")
    }
    /// TLS material directory.
    pub fn tls_dir(&self) -> PathBuf {
        self.root.join("tls")
    }
    /// The bootstrap credentials file (mode 0600).
    pub fn bootstrap_file(&self) -> PathBuf {
        self.root.join("bootstrap.json")
    }

    /// Checks the directory without changing anything.
    pub fn inspect(&self) -> Result<DataDirState, DataDirError> {
        let meta = match fs::metadata(&self.root) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DataDirState::Missing),
            Err(source) => {
                return Err(DataDirError::Io {
                    action: "cannot read",
                    path: self.root.clone(),
                    source,
                });
            }
        };
        if !meta.is_dir() {
            return Err(DataDirError::NotADirectory(self.root.clone()));
        }
        check_private(&self.root, &meta)?;
        if self.store_file().exists() {
            Ok(DataDirState::Initialized)
        } else {
            Ok(DataDirState::Fresh)
        }
    }

    /// Creates the directory (and missing parents) with mode 0700.
    pub fn create(&self) -> Result<(), DataDirError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|source| DataDirError::Io {
                action: "cannot create data directory",
                path: self.root.clone(),
                source,
            })?;
        // `mode` is filtered by the umask; make sure the final directory is exactly 0700.
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700)).map_err(|source| {
            DataDirError::Io {
                action: "cannot set permissions of",
                path: self.root.clone(),
                source,
            }
        })
    }
}

/// Refuses a file or directory that another user owns or that group/others can access.
pub fn check_private(path: &Path, meta: &fs::Metadata) -> Result<(), DataDirError> {
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(DataDirError::WrongOwner {
            path: path.to_path_buf(),
            owner: meta.uid(),
            me,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::LoosePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Creates a private directory (0700) and its missing parents.
pub fn create_private_dir(path: &Path) -> Result<(), DataDirError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| DataDirError::Io {
            action: "cannot create directory",
            path: path.to_path_buf(),
            source,
        })
}

/// Writes `contents` to `path` durably and atomically with mode 0600: a temporary file in the
/// same directory is written and fsynced, renamed over `path`, and the directory is fsynced, so
/// a crash leaves either the old file or the complete new one.
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), DataDirError> {
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| DataDirError::Io {
            action,
            path: p,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("cannot create", &tmp))?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(io("cannot write", &tmp));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(io("cannot rename into place", path))?;
    sync_dir(dir)
}

/// Fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), DataDirError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| DataDirError::Io {
            action: "cannot sync directory",
            path: dir.to_path_buf(),
            source,
        })
}

/// Reads a file that must be private (owned by us, mode without group/other bits).
pub fn read_private_file(path: &Path) -> Result<Vec<u8>, DataDirError> {
    let meta = fs::metadata(path).map_err(|source| DataDirError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })?;
    check_private(path, &meta)?;
    fs::read(path).map_err(|source| DataDirError::Io {
        action: "cannot read",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fresh_initialized() {
        let parent = tempfile::tempdir().unwrap();
        let dir = DataDir::new(parent.path().join("data"));
        assert_eq!(dir.inspect().unwrap(), DataDirState::Missing);
        dir.create().unwrap();
        let mode = fs::metadata(dir.root()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(dir.inspect().unwrap(), DataDirState::Fresh);
        fs::write(dir.store_file(), b"x").unwrap();
        assert_eq!(dir.inspect().unwrap(), DataDirState::Initialized);
    }

    #[test]
    fn loose_permissions_are_refused_and_not_changed() {
        let parent = tempfile::tempdir().unwrap();
        let dir = DataDir::new(parent.path().join("data"));
        dir.create().unwrap();
        fs::set_permissions(dir.root(), fs::Permissions::from_mode(0o755)).unwrap();
        let err = dir.inspect().unwrap_err();
        assert!(matches!(
            err,
            DataDirError::LoosePermissions { mode: 0o755, .. }
        ));
        assert!(err.to_string().contains("chmod go-rwx"));
        let mode = fs::metadata(dir.root()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o755, "a failed check must not change the directory");
    }

    #[test]
    fn a_file_is_not_a_data_dir() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("file");
        fs::write(&path, b"x").unwrap();
        assert!(matches!(
            DataDir::new(&path).inspect(),
            Err(DataDirError::NotADirectory(_))
        ));
    }

    #[test]
    fn private_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        write_private_file(&path, b"one").unwrap();
        write_private_file(&path, b"two").unwrap();
        assert_eq!(read_private_file(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file may remain");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_private_file(&path),
            Err(DataDirError::LoosePermissions { .. })
        ));
    }
}
