//! What the identity tests share: a directory over a given record store, as one node would
//! have it (nodes made over the same store share the sealing key, as a cluster's nodes do).
#![allow(clippy::unwrap_used, dead_code)]

use std::sync::Arc;

use keyhold_crypto::{Aes256Key, Sealer};
use keyhold_identity::{Identity, IdentitySettings};
use keyhold_store::RedbRecordStore;

/// Management audience.
pub const MGMT: &str = "https://management.localhost";
/// Vault audience.
pub const VAULT: &str = "https://vault.localhost";
/// The authority most tests issue under.
pub const AUTHORITY: &str = "https://localhost:8443";

/// A directory over `records` issuing for [`MGMT`] and [`VAULT`] under `authority`.
pub fn identity_over(records: Arc<RedbRecordStore>, authority: &str) -> Identity {
    let sealer = Arc::new(Sealer::new(Aes256Key::from_bytes(&[3u8; 32]).unwrap()));
    Identity::new(
        records,
        sealer,
        IdentitySettings::new(authority, vec![MGMT.into(), VAULT.into()]),
    )
}

/// A directory over a new embedded store in `dir`.
pub fn identity_in(dir: &std::path::Path) -> Identity {
    identity_over(
        Arc::new(RedbRecordStore::open(&dir.join("store.redb")).unwrap()),
        AUTHORITY,
    )
}
