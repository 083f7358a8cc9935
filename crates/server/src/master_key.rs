//! The server master key: where it comes from and how it is checked.
//!
//! The master key seals every key keyhold holds for itself (vault key material, per-tenant
//! token-signing keys, the Microsoft-managed-key service keys, API keys, the backup keyring, the
//! dev CA key). It is never stored in the record store. `keyhold master-key rotate` re-seals all
//! of it under a new key (see `master_key_rotation.rs`).
//!
//! Production deployments name a file with `KEYHOLD_MASTER_KEY_FILE` (or `master_key_file`)
//! that lives **outside** the data directory — on a separate secret mount, for example — so a
//! copy of the data directory alone cannot unseal anything. Without it, a development key is
//! generated into `<data-dir>/master.key` (mode 0600) and a warning is logged: that is
//! convenient, and exactly as safe as the data directory's permissions.
//!
//! A data directory remembers which master key it was created with (a sealed check value in the
//! store), so starting with the wrong key fails at once with a clear message instead of
//! failing later on the first unseal.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use keyhold_crypto::{Aes256Key, CryptoError, Sealer};
use zeroize::Zeroizing;

use crate::data_dir::{DataDir, DataDirError, DataDirState, read_private_file, write_private_file};

/// Where the master key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeyOrigin {
    /// A file named by configuration.
    ConfiguredFile(PathBuf),
    /// The development key file inside the data directory.
    DevelopmentFile(PathBuf),
}

impl std::fmt::Display for MasterKeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MasterKeyOrigin::ConfiguredFile(p) => write!(f, "master key file {}", p.display()),
            MasterKeyOrigin::DevelopmentFile(p) => {
                write!(f, "development master key {}", p.display())
            }
        }
    }
}

/// Master key problems. Messages name the file; they never contain key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// The file could not be read or is not private.
    #[error("master key: {0}")]
    File(#[from] DataDirError),
    /// The file does not hold a key in an accepted encoding.
    #[error(
        "master key file {0} must hold exactly 32 bytes: as base64 (44 characters), hex \
         (64 characters) or raw bytes; generate one with `keyhold master-key generate`"
    )]
    BadEncoding(PathBuf),
    /// The data directory was initialised, but its development key file is gone.
    #[error(
        "data directory {0} holds a store but no master.key; if it was created with \
         KEYHOLD_MASTER_KEY_FILE, set that again (a new key cannot unseal existing data)"
    )]
    DevelopmentKeyMissing(PathBuf),
    /// The key does not match the one the data directory was created with.
    #[error(
        "the {0} does not match the master key this data directory was created with; \
         nothing was changed"
    )]
    Mismatch(MasterKeyOrigin),
    /// The key was the data's master key until a rotation replaced it.
    #[error(
        "the {origin} was retired by `keyhold master-key rotate` on {when}: start with the new \
         master key; nothing was changed",
        when = utc(*.when)
    )]
    Retired {
        /// Where the retired key came from.
        origin: MasterKeyOrigin,
        /// When the rotation finished (unix s).
        when: u64,
    },
    /// A master-key rotation was started and has not finished.
    #[error(
        "a master-key rotation of this data was started and has not finished, so part of it may \
         be sealed under each key: run `keyhold master-key rotate` again with the same \
         --old-key-file and --new-key-file to finish it{}; nothing was changed",
        if *.can_abort { ", or `keyhold master-key rotate --abort` with the old key to go back to it" } else { "" }
    )]
    RotationUnfinished {
        /// True while the rotation can still be abandoned (before its commit).
        can_abort: bool,
    },
    /// The random generator failed.
    #[error("cannot generate a master key: {0}")]
    Crypto(#[from] CryptoError),
}

/// `secs` as an RFC 3339 UTC time, for messages.
fn utc(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} (unix time)"))
}

/// A loaded (or newly generated, not yet written) master key.
pub struct LoadedMasterKey {
    /// Seals and unseals service keys.
    pub sealer: Sealer,
    /// Where it came from.
    pub origin: MasterKeyOrigin,
    /// The encoded key still to be written (a new development key), once every check passed.
    pending_write: Option<Zeroizing<String>>,
}

impl LoadedMasterKey {
    /// True when a new development key was generated and must be persisted.
    pub fn is_new(&self) -> bool {
        self.pending_write.is_some()
    }

    /// Writes a newly generated development key durably with mode 0600. Call only after every
    /// start-up check has passed, so a failed start leaves the data directory untouched.
    pub fn persist(&mut self) -> Result<(), MasterKeyError> {
        if let (Some(encoded), MasterKeyOrigin::DevelopmentFile(path)) =
            (self.pending_write.take(), &self.origin)
        {
            write_private_file(path, encoded.as_bytes())?;
        }
        Ok(())
    }
}

/// Loads the master key from the configured file, or the development key, generating the
/// latter (in memory only) for a new data directory.
pub fn load(
    configured: Option<&Path>,
    data_dir: &DataDir,
    state: DataDirState,
) -> Result<LoadedMasterKey, MasterKeyError> {
    if let Some(path) = configured {
        let key = read_key_file(path)?;
        return Ok(LoadedMasterKey {
            sealer: Sealer::new(key),
            origin: MasterKeyOrigin::ConfiguredFile(path.to_path_buf()),
            pending_write: None,
        });
    }
    let path = data_dir.dev_master_key();
    let origin = MasterKeyOrigin::DevelopmentFile(path.clone());
    if path.exists() {
        let key = read_key_file(&path)?;
        return Ok(LoadedMasterKey {
            sealer: Sealer::new(key),
            origin,
            pending_write: None,
        });
    }
    if state == DataDirState::Initialized {
        return Err(MasterKeyError::DevelopmentKeyMissing(
            data_dir.root().to_path_buf(),
        ));
    }
    let (key, encoded) = generate_encoded()?;
    Ok(LoadedMasterKey {
        sealer: Sealer::new(key),
        origin,
        pending_write: Some(encoded),
    })
}

/// Generates a new key and its file encoding (base64 and a newline).
pub fn generate_encoded() -> Result<(Aes256Key, Zeroizing<String>), MasterKeyError> {
    let key = Aes256Key::generate()?;
    let mut encoded =
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.expose_secret()));
    encoded.push('\n');
    Ok((key, encoded))
}

/// Reads a key file (private to its owner; base64, hex or 32 raw bytes).
pub fn read_key_file(path: &Path) -> Result<Aes256Key, MasterKeyError> {
    let raw = Zeroizing::new(read_private_file(path)?);
    decode_key(&raw).ok_or_else(|| MasterKeyError::BadEncoding(path.to_path_buf()))
}

/// Accepts 32 raw bytes, 64 hex characters or base64 of 32 bytes (surrounding whitespace ignored).
fn decode_key(raw: &[u8]) -> Option<Aes256Key> {
    if raw.len() == 32 {
        return Aes256Key::from_bytes(raw).ok();
    }
    let text = std::str::from_utf8(raw).ok()?.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        Zeroizing::new(hex::decode(text).ok()?)
    } else {
        Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?,
        )
    };
    Aes256Key::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fresh() -> (tempfile::TempDir, DataDir) {
        let parent = tempfile::tempdir().unwrap();
        let dir = DataDir::new(parent.path().join("data"));
        dir.create().unwrap();
        (parent, dir)
    }

    #[test]
    fn development_key_is_generated_then_reused() {
        let (_parent, dir) = fresh();
        let mut first = load(None, &dir, DataDirState::Fresh).unwrap();
        assert!(first.is_new());
        assert!(
            !dir.dev_master_key().exists(),
            "nothing written before persist"
        );
        first.persist().unwrap();
        let second = load(None, &dir, DataDirState::Initialized).unwrap();
        assert!(!second.is_new());
        assert_eq!(first.sealer.key_id(), second.sealer.key_id());
    }

    #[test]
    fn missing_development_key_for_initialized_dir() {
        let (_parent, dir) = fresh();
        let err = load(None, &dir, DataDirState::Initialized).err().unwrap();
        assert!(matches!(err, MasterKeyError::DevelopmentKeyMissing(_)));
    }

    #[test]
    fn configured_file_encodings() {
        let (_parent, dir) = fresh();
        let path = dir.root().join("mk");
        let bytes = [7u8; 32];
        let encodings: Vec<Vec<u8>> = vec![
            bytes.to_vec(),
            format!("{}\n", hex::encode(bytes)).into_bytes(),
            format!(
                "  {}\n",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
            .into_bytes(),
        ];
        let mut ids = Vec::new();
        for encoding in encodings {
            write_private_file(&path, &encoding).unwrap();
            let loaded = load(Some(&path), &dir, DataDirState::Fresh).unwrap();
            assert!(!loaded.is_new());
            ids.push(loaded.sealer.key_id());
        }
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn bad_configured_files() {
        let (_parent, dir) = fresh();
        let path = dir.root().join("mk");
        write_private_file(&path, b"too short").unwrap();
        assert!(matches!(
            load(Some(&path), &dir, DataDirState::Fresh).err().unwrap(),
            MasterKeyError::BadEncoding(_)
        ));
        write_private_file(&path, &[1u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(Some(&path), &dir, DataDirState::Fresh).err().unwrap();
        assert!(err.to_string().contains("0644"), "{err}");
        let missing = dir.root().join("absent");
        assert!(matches!(
            load(Some(&missing), &dir, DataDirState::Fresh)
                .err()
                .unwrap(),
            MasterKeyError::File(DataDirError::Io { .. })
        ));
    }
}
