//! Per-tenant token-signing keys: RSA-2048, created on first use, private halves stored only
//! sealed under the master key, rotatable. Retired keys stay published (JWKS) until every
//! token they signed has expired.
//!
//! Nodes sharing a store cache the keys they loaded; a cached set is reloaded after
//! [`CACHE_TTL`] (another node may have rotated), and at once when a token names a kid the set
//! does not know, at most every [`MISS_RELOAD_INTERVAL`] per tenant (so tokens with made-up
//! kids cannot make every request scan the store).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keyhold_crypto::{RsaPrivateKey, RsaPublicKey, Sealer};
use keyhold_store::{Precondition, RecordStore, RecordStoreExt, StoreError, decode};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::error::IdentityError;
use crate::model::SigningKeyRecord;

pub(crate) const NAMESPACE: &str = "identity.signing_keys";
/// Seal purpose. DO NOT CHANGE.
pub(crate) const SEAL_PURPOSE: &str = "identity.signing-key.v1";
/// How long a loaded key set is used before it is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// The least time between two reloads caused by an unknown kid.
pub const MISS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// The key that signs new tokens.
pub struct ActiveKey {
    /// Key id.
    pub kid: String,
    /// The private key.
    pub key: RsaPrivateKey,
}

struct TenantKeys {
    active: Arc<ActiveKey>,
    /// kid → (public key, retired at).
    published: HashMap<String, (RsaPublicKey, Option<u64>)>,
    loaded_at: Instant,
}

/// Loads, creates and caches signing keys.
pub struct SigningKeys {
    records: Arc<dyn RecordStore>,
    sealer: Arc<Sealer>,
    cache: RwLock<HashMap<Uuid, Arc<TenantKeys>>>,
}

fn kid_for(public: &RsaPublicKey) -> Result<String, IdentityError> {
    let spki = public.to_spki_der()?;
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &spki);
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash.as_ref()[..20]))
}

impl SigningKeys {
    /// A key set over the store.
    pub fn new(records: Arc<dyn RecordStore>, sealer: Arc<Sealer>) -> Self {
        Self {
            records,
            sealer,
            cache: RwLock::new(HashMap::new()),
        }
    }

    async fn load(&self, tenant: Uuid) -> Result<Option<TenantKeys>, IdentityError> {
        let rows = self
            .records
            .scan_all(NAMESPACE, &format!("{tenant}/"), 10_000)
            .await?;
        let mut published = HashMap::new();
        let mut active = None;
        for (_, record) in rows {
            let rec: SigningKeyRecord = decode(&record.value)?;
            let sealed = hex::decode(&rec.sealed_pkcs8)
                .map_err(|e| StoreError::Decode(format!("signing key {}: {e}", rec.kid)))?;
            let der = self.sealer.open(SEAL_PURPOSE, &sealed)?;
            let key = RsaPrivateKey::from_pkcs8_der(der.expose_secret())?;
            published.insert(rec.kid.clone(), (key.public_key(), rec.retired));
            if rec.retired.is_none() {
                active = Some(Arc::new(ActiveKey { kid: rec.kid, key }));
            }
        }
        Ok(active.map(|active| TenantKeys {
            active,
            published,
            loaded_at: Instant::now(),
        }))
    }

    async fn tenant_keys(&self, tenant: Uuid, now: u64) -> Result<Arc<TenantKeys>, IdentityError> {
        let fresh = |keys: &&Arc<TenantKeys>| keys.loaded_at.elapsed() < CACHE_TTL;
        if let Some(keys) = self.cache.read().await.get(&tenant).filter(fresh) {
            return Ok(keys.clone());
        }
        let mut cache = self.cache.write().await;
        if let Some(keys) = cache.get(&tenant).filter(fresh) {
            return Ok(keys.clone());
        }
        let keys = match self.load(tenant).await? {
            Some(keys) => keys,
            None => {
                self.create(tenant, now).await?;
                self.load(tenant)
                    .await?
                    .ok_or_else(|| IdentityError::Conflict("signing key vanished".into()))?
            }
        };
        let keys = Arc::new(keys);
        cache.insert(tenant, keys.clone());
        Ok(keys)
    }

    async fn create(&self, tenant: Uuid, now: u64) -> Result<String, IdentityError> {
        let key = RsaPrivateKey::generate(2048)?;
        let kid = kid_for(&key.public_key())?;
        let sealed = self
            .sealer
            .seal(SEAL_PURPOSE, key.to_pkcs8_der()?.expose_secret())?;
        let record = SigningKeyRecord {
            kid: kid.clone(),
            sealed_pkcs8: hex::encode(sealed),
            created: now,
            retired: None,
        };
        self.records
            .put_typed(
                NAMESPACE,
                &format!("{tenant}/{kid}"),
                &record,
                Precondition::Absent,
            )
            .await?;
        Ok(kid)
    }

    /// The active signing key of `tenant` (created on first use).
    pub async fn active(&self, tenant: Uuid, now: u64) -> Result<Arc<ActiveKey>, IdentityError> {
        Ok(self.tenant_keys(tenant, now).await?.active.clone())
    }

    /// A published public key by kid.
    pub async fn public_key(
        &self,
        tenant: Uuid,
        kid: &str,
        now: u64,
    ) -> Result<Option<RsaPublicKey>, IdentityError> {
        let mut keys = self.tenant_keys(tenant, now).await?;
        if !keys.published.contains_key(kid) && keys.loaded_at.elapsed() >= MISS_RELOAD_INTERVAL {
            // Perhaps made by another node since this one loaded the set.
            let mut cache = self.cache.write().await;
            if cache
                .get(&tenant)
                .is_some_and(|k| k.loaded_at.elapsed() >= MISS_RELOAD_INTERVAL)
            {
                cache.remove(&tenant);
            }
            drop(cache);
            keys = self.tenant_keys(tenant, now).await?;
        }
        Ok(keys.published.get(kid).map(|(k, _)| k.clone()))
    }

    /// Published keys: the active one and retired ones younger than `max_token_lifetime`.
    pub async fn published(
        &self,
        tenant: Uuid,
        now: u64,
        max_token_lifetime: u64,
    ) -> Result<Vec<(String, RsaPublicKey)>, IdentityError> {
        let keys = self.tenant_keys(tenant, now).await?;
        let mut out: Vec<(String, RsaPublicKey)> = keys
            .published
            .iter()
            .filter(|(_, (_, retired))| retired.is_none_or(|r| r + max_token_lifetime > now))
            .map(|(kid, (k, _))| (kid.clone(), k.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Retires the active key and makes a new one; returns the new kid.
    pub async fn rotate(&self, tenant: Uuid, now: u64) -> Result<String, IdentityError> {
        let current = self.active(tenant, now).await?;
        let key = format!("{tenant}/{}", current.kid);
        if let Some((mut rec, version)) = self
            .records
            .get_typed::<SigningKeyRecord>(NAMESPACE, &key)
            .await?
        {
            rec.retired = Some(now);
            self.records
                .put_typed(NAMESPACE, &key, &rec, Precondition::Version(version))
                .await?;
        }
        let kid = self.create(tenant, now).await?;
        self.cache.write().await.remove(&tenant);
        Ok(kid)
    }
}
