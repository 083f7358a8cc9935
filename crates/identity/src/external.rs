//! Trusted external issuers: tokens from another OIDC issuer (a second keyhold, Microsoft
//! Entra ID) accepted for one configured local tenant.
//!
//! The issuer's signing keys come through a [`JwksSource`] the server provides (it does the
//! HTTPS); they are cached for ten minutes and refetched when a token names an unknown `kid`,
//! at most once every 30 seconds per issuer, so a flood of forged kids cannot turn keyhold into
//! a request amplifier. External principals cannot be checked for existence or state locally;
//! they get access only through role assignments or access policies naming their object id.
//!
//! Their object id is their own: [`external_object_id`] derives it from the issuer and the
//! token's `oid`, so a trusted issuer can never act as a local principal by naming its object
//! id (Azure gives a guest or a foreign application its own object in the resource tenant in
//! the same way).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keyhold_crypto::RsaPublicKey;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::TokenError;

const CACHE_FOR: Duration = Duration::from_secs(600);
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// The local object id of the principal `oid` of `issuer`: a name-based UUID (version 8,
/// RFC 9562) over SHA-256 of a domain-separated `issuer`, `oid` pair. Stable, so grants made
/// to it keep working; never a locally created principal's (those are random version 4).
pub fn external_object_id(issuer: &str, oid: Uuid) -> Uuid {
    let mut input = b"keyhold external principal\0".to_vec();
    input.extend_from_slice(issuer.as_bytes());
    input.push(0);
    input.extend_from_slice(oid.as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// An issuer whose tokens are accepted for a local tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedIssuer {
    /// Exact `iss` value, e.g. `https://login.microsoftonline.com/{tid}/v2.0`.
    pub issuer: String,
    /// The local tenant its principals act in.
    pub tenant: Uuid,
}

/// Fetches an issuer's signing keys (kid → RSA public key).
#[async_trait]
pub trait JwksSource: Send + Sync {
    /// Fetches the current keys of `issuer` (via its discovery document).
    async fn fetch(&self, issuer: &str) -> Result<HashMap<String, RsaPublicKey>, String>;
}

struct Cached {
    keys: HashMap<String, RsaPublicKey>,
    fetched: Instant,
}

/// The trusted issuers and their cached keys.
pub struct ExternalIssuers {
    issuers: Vec<TrustedIssuer>,
    source: Arc<dyn JwksSource>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl ExternalIssuers {
    /// Trusts `issuers`, fetching keys through `source`.
    pub fn new(issuers: Vec<TrustedIssuer>, source: Arc<dyn JwksSource>) -> Self {
        Self {
            issuers,
            source,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The trust entry for an `iss` value.
    pub fn find(&self, issuer: &str) -> Option<&TrustedIssuer> {
        self.issuers.iter().find(|t| t.issuer == issuer)
    }

    /// The key `kid` of `issuer`, fetching or refreshing the key set as needed.
    pub async fn key(&self, issuer: &str, kid: &str) -> Result<RsaPublicKey, TokenError> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .get(issuer)
            .is_some_and(|c| c.fetched.elapsed() < CACHE_FOR);
        if fresh && let Some(key) = cache.get(issuer).and_then(|c| c.keys.get(kid)) {
            return Ok(key.clone());
        }
        let may_refetch = cache
            .get(issuer)
            .is_none_or(|c| !fresh || c.fetched.elapsed() >= REFETCH_AT_MOST_EVERY);
        if may_refetch {
            match self.source.fetch(issuer).await {
                Ok(keys) => {
                    cache.insert(
                        issuer.to_owned(),
                        Cached {
                            keys,
                            fetched: Instant::now(),
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(issuer, error = %e, "cannot fetch the signing keys of a trusted issuer");
                    // Keep using what we had, if anything.
                    if !cache.contains_key(issuer) {
                        return Err(TokenError::Unavailable);
                    }
                }
            }
        }
        cache
            .get(issuer)
            .and_then(|c| c.keys.get(kid))
            .cloned()
            .ok_or(TokenError::UnknownSigningKey)
    }
}
