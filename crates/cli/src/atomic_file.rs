//! Writing a whole file so that it is never seen half-written or with looser permissions: a
//! temporary file in the same directory, created exclusively with the final mode (so a secret
//! is private from its first byte), written and fsynced, then moved into place and the
//! directory fsynced. Without `overwrite`, the move is a hard link, which fails if the target
//! exists: an existing file (another master key, say) is never replaced, even in a race.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// A temporary name beside `path`, unique to this process and moment.
fn temp_path(path: &Path) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}-{nanos:08x}", std::process::id()))
}

fn exists_error(path: &Path) -> String {
    format!(
        "{} exists; refusing to replace it (pass --force to overwrite)",
        path.display()
    )
}

/// Moves the finished temporary file to `path`.
fn publish(tmp: &Path, path: &Path, overwrite: bool) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    if overwrite {
        return std::fs::rename(tmp, path).map_err(fail);
    }
    match std::fs::hard_link(tmp, path) {
        Ok(()) => std::fs::remove_file(tmp).map_err(fail),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(exists_error(path)),
        // A file system without hard links: check, then rename (not atomic against a race).
        Err(_) if path.exists() => Err(exists_error(path)),
        Err(_) => std::fs::rename(tmp, path).map_err(fail),
    }
}

/// Writes `bytes` to `path` (see the module docs); `mode` is the file's permission bits.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, overwrite: bool) -> Result<(), String> {
    if !overwrite && path.exists() {
        return Err(exists_error(path));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        drop(file);
        publish(&tmp, path, overwrite)?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("cannot sync directory {}: {e}", dir.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_private_files_and_never_replaces_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_atomic(&path, b"one", 0o600, false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(mode(&path), 0o600);
        let err = write_atomic(&path, b"two", 0o600, false).unwrap_err();
        assert!(err.contains("--force"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_atomic(&path, b"two", 0o600, true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("key")], "no temp left");
    }

    #[test]
    fn a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("no/such/key"), b"x", 0o600, false).unwrap_err();
        assert!(err.contains("cannot create"), "{err}");
    }
}
