//! In-memory caches that keep token validation off the storage and RSA paths in steady state.
//!
//! - Verified signatures: SHA-256 of a token that passed signature verification → its claims.
//!   Only the signature check is skipped on a hit; issuer, audience, times, tenant and the
//!   principal's state are checked on every request.
//! - Principals: object id → principal as last read or written *by this process*. Every write
//!   path of the identity service updates or drops the entry before returning, so disabling or
//!   deleting a principal is seen by the next request. (With several nodes, other nodes'
//!   caches must be told too; until then keep the TTL short.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::model::Principal;
use crate::tokens::Claims;

const MAX_ENTRIES: usize = 50_000;
/// Principals read from storage are trusted for at most this long (bounds staleness across
/// nodes that share a store).
const PRINCIPAL_TTL: Duration = Duration::from_secs(2);

/// Verified token signatures.
#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], (Claims, Uuid)>>,
}

fn fingerprint(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl VerifiedTokens {
    /// Claims and tenant of a token whose signature was verified before.
    pub fn get(&self, token: &str) -> Option<(Claims, Uuid)> {
        self.entries.lock().ok()?.get(&fingerprint(token)).cloned()
    }

    /// Remembers a verified token until `now` passes its expiry (swept when full).
    pub fn insert(&self, token: &str, claims: &Claims, tenant: Uuid, now: u64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (c, _)| c.exp > now);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(fingerprint(token), (claims.clone(), tenant));
        }
    }
}

/// Principals by object id.
#[derive(Default)]
pub struct Principals {
    entries: Mutex<HashMap<Uuid, (Principal, Instant)>>,
}

impl Principals {
    /// A fresh cached principal.
    pub fn get(&self, id: Uuid) -> Option<Principal> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&id)
            .filter(|(_, at)| at.elapsed() < PRINCIPAL_TTL)
            .map(|(p, _)| p.clone())
    }

    /// Records the current state of a principal.
    pub fn put(&self, principal: &Principal) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(principal.object_id, (principal.clone(), Instant::now()));
        }
    }

    /// Drops a principal (deleted or changed).
    pub fn forget(&self, id: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&id);
        }
    }
}
