//! Client secrets: generated once and shown once, stored only as salted PBKDF2-HMAC-SHA256
//! hashes (aws-lc), verified in constant time. Because token requests come in bursts, a
//! successful verification is remembered for a few minutes in memory, keyed by the SHA-256 of
//! the secret (never the secret itself); resets, deletes and disables clear it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::{digest, pbkdf2};
use base64::Engine as _;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::IdentityError;
use crate::model::SecretCredential;

/// PBKDF2 iterations for new secrets. Secrets are 240-bit random strings, so this guards
/// against a stolen store being ground offline rather than against weak passwords.
pub const PBKDF2_ITERATIONS: u32 = 100_000;
const CACHE_TTL: Duration = Duration::from_secs(300);

/// A newly generated client secret: shown once, then only its hash is kept.
/// Not `Debug`, not `Clone`; zeroized on drop.
pub struct NewSecret(Zeroizing<String>);

impl NewSecret {
    /// The secret text.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// Generates a 40-character URL-safe secret.
pub fn generate_secret() -> Result<NewSecret, IdentityError> {
    let bytes = Zeroizing::new(keyhold_crypto::random_bytes(30)?);
    Ok(NewSecret(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*bytes),
    )))
}

/// Hashes a secret into a stored credential.
pub fn hash_secret(
    secret: &str,
    now: u64,
    expires: Option<u64>,
) -> Result<SecretCredential, IdentityError> {
    let salt = keyhold_crypto::random_bytes(16)?;
    let mut out = [0u8; 32];
    let iterations = NonZeroU32::new(PBKDF2_ITERATIONS).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        secret.as_bytes(),
        &mut out,
    );
    Ok(SecretCredential {
        key_id: Uuid::new_v4(),
        hint: secret.chars().take(3).collect(),
        salt: hex::encode(salt),
        hash: hex::encode(out),
        iterations: PBKDF2_ITERATIONS,
        created: now,
        expires,
        display_name: None,
    })
}

/// Constant-time check of `secret` against a stored credential (expired ones never match).
pub fn verify_secret(cred: &SecretCredential, secret: &str, now: u64) -> bool {
    if cred.expires.is_some_and(|e| e <= now) {
        return false;
    }
    let (Ok(salt), Ok(hash), Some(iterations)) = (
        hex::decode(&cred.salt),
        hex::decode(&cred.hash),
        NonZeroU32::new(cred.iterations),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        secret.as_bytes(),
        &hash,
    )
    .is_ok()
}

/// Remembers recent successful verifications.
#[derive(Default)]
pub struct VerifiedSecrets {
    entries: Mutex<HashMap<Uuid, (Vec<u8>, Instant)>>,
}

fn fingerprint(secret: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

impl VerifiedSecrets {
    /// True if this exact secret was verified for `client` within the TTL.
    pub fn recently_verified(&self, client: Uuid, secret: &str) -> bool {
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        entries.get(&client).is_some_and(|(fp, at)| {
            at.elapsed() < CACHE_TTL
                && aws_lc_rs::constant_time::verify_slices_are_equal(fp, &fingerprint(secret))
                    .is_ok()
        })
    }
    /// Records a successful verification.
    pub fn remember(&self, client: Uuid, secret: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            entries.insert(client, (fingerprint(secret), Instant::now()));
        }
    }
    /// Forgets a client (secret reset, delete, disable).
    pub fn forget(&self, client: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verify_expire() {
        let secret = generate_secret().unwrap();
        assert_eq!(secret.expose_secret().len(), 40);
        let cred = hash_secret(secret.expose_secret(), 100, Some(200)).unwrap();
        assert!(!cred.hash.contains(secret.expose_secret()));
        assert!(verify_secret(&cred, secret.expose_secret(), 150));
        assert!(!verify_secret(&cred, "wrong", 150));
        assert!(
            !verify_secret(&cred, secret.expose_secret(), 200),
            "expired"
        );
        let cache = VerifiedSecrets::default();
        let id = Uuid::new_v4();
        assert!(!cache.recently_verified(id, "x"));
        cache.remember(id, "x");
        assert!(cache.recently_verified(id, "x"));
        assert!(!cache.recently_verified(id, "y"));
        cache.forget(id);
        assert!(!cache.recently_verified(id, "x"));
    }
}
