//! Key rotation policies and the scheduler that applies them.
//!
//! A policy (`lifetimeActions` with a `timeAfterCreate` or `timeBeforeExpiry` trigger and a
//! `Rotate` or `Notify` action, plus `attributes.expiryTime` for new versions) is validated and
//! stored with the key. [`Vaults::rotate_due`] makes a new version of every key whose newest
//! version is due at a given time; the server calls it on an interval with the clock's time,
//! and tests call it with a time in the future instead of waiting days.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Vaults;
use crate::error::VaultError;
use crate::keys::KEYS;
use crate::model::KeyMeta;

/// Claims of scheduled rotations, `vault/key/version-being-replaced` → claim time (unix s).
const ROTATION_CLAIMS: &str = "vault.rotation_claims";
/// A claim older than this is abandoned (its node stopped before rotating) and may be taken.
const ROTATION_CLAIM_SECS: u64 = 300;

/// Shortest `expiryTime` Azure accepts.
const MIN_EXPIRY_SECS: u64 = 28 * 86_400;
/// Shortest `timeAfterCreate` of a rotate action Azure accepts.
const MIN_ROTATE_AFTER_SECS: u64 = 7 * 86_400;

/// What starts an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    /// ISO 8601 duration after the version's creation.
    TimeAfterCreate(String),
    /// ISO 8601 duration before the version's expiry.
    TimeBeforeExpiry(String),
}

/// One lifetime action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeAction {
    /// When.
    pub trigger: Trigger,
    /// `Rotate` or `Notify`.
    pub action: String,
}

/// A validated rotation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationPolicy {
    /// Actions (at most one `Rotate`).
    pub lifetime_actions: Vec<LifetimeAction>,
    /// ISO 8601 duration: expiry of new versions.
    pub expiry_time: Option<String>,
    /// Created (unix s).
    pub created: u64,
    /// Updated (unix s).
    pub updated: u64,
}

/// Seconds of an ISO 8601 duration `P[nY][nM][nW][nD][T[nH][nM][nS]]` (a year is 365 days,
/// a month 30, as Key Vault counts them).
pub fn parse_duration(text: &str) -> Option<u64> {
    let rest = text.strip_prefix('P').or_else(|| text.strip_prefix('p'))?;
    if rest.is_empty() {
        return None;
    }
    let (mut total, mut number, mut in_time, mut any) = (0u64, String::new(), false, false);
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            'T' if number.is_empty() && !in_time => in_time = true,
            d if d.is_ascii_digit() => number.push(d),
            unit => {
                let n: u64 = number.parse().ok()?;
                number.clear();
                let secs = match (unit, in_time) {
                    ('Y', false) => 365 * 86_400,
                    ('M', false) => 30 * 86_400,
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                total = total.checked_add(n.checked_mul(secs)?)?;
                any = true;
            }
        }
    }
    (number.is_empty() && any).then_some(total)
}

fn bad(message: impl Into<String>) -> VaultError {
    VaultError::BadParameter(message.into())
}

impl RotationPolicy {
    /// Parses and validates the wire shape (`{lifetimeActions, attributes{expiryTime}}`).
    pub fn from_wire(body: &Value) -> Result<RotationPolicy, VaultError> {
        let expiry_time = match body.pointer("/attributes/expiryTime") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let secs = parse_duration(s)
                    .ok_or_else(|| bad(format!("expiryTime {s:?} is not an ISO 8601 duration")))?;
                if secs < MIN_EXPIRY_SECS {
                    return Err(bad("expiryTime must be at least 28 days (P28D)"));
                }
                Some(s.clone())
            }
            Some(_) => return Err(bad("expiryTime must be an ISO 8601 duration string")),
        };
        let mut actions = Vec::new();
        let empty = Vec::new();
        let list = match body.get("lifetimeActions") {
            None | Some(Value::Null) => &empty,
            Some(Value::Array(a)) => a,
            Some(_) => return Err(bad("lifetimeActions must be an array")),
        };
        for item in list {
            let kind = item
                .pointer("/action/type")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("each lifetime action needs action.type"))?;
            let kind = ["Rotate", "Notify"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(kind))
                .ok_or_else(|| {
                    bad(format!(
                        "unknown action type {kind:?}: use Rotate or Notify"
                    ))
                })?;
            let after = item
                .pointer("/trigger/timeAfterCreate")
                .and_then(Value::as_str);
            let before = item
                .pointer("/trigger/timeBeforeExpiry")
                .and_then(Value::as_str);
            let trigger = match (after, before) {
                (Some(a), None) => {
                    let secs = parse_duration(a).ok_or_else(|| {
                        bad(format!("timeAfterCreate {a:?} is not an ISO 8601 duration"))
                    })?;
                    if kind == "Rotate" && secs < MIN_ROTATE_AFTER_SECS {
                        return Err(bad(
                            "timeAfterCreate of a Rotate action must be at least 7 days (P7D)",
                        ));
                    }
                    Trigger::TimeAfterCreate(a.to_owned())
                }
                (None, Some(b)) => {
                    parse_duration(b).ok_or_else(|| {
                        bad(format!(
                            "timeBeforeExpiry {b:?} is not an ISO 8601 duration"
                        ))
                    })?;
                    if expiry_time.is_none() {
                        return Err(bad("timeBeforeExpiry needs attributes.expiryTime"));
                    }
                    Trigger::TimeBeforeExpiry(b.to_owned())
                }
                _ => {
                    return Err(bad(
                        "each trigger needs exactly one of timeAfterCreate and timeBeforeExpiry",
                    ));
                }
            };
            actions.push(LifetimeAction {
                trigger,
                action: kind.to_owned(),
            });
        }
        if actions.iter().filter(|a| a.action == "Rotate").count() > 1 {
            return Err(bad("a rotation policy has at most one Rotate action"));
        }
        let now = Vaults::now();
        Ok(RotationPolicy {
            lifetime_actions: actions,
            expiry_time,
            created: now,
            updated: now,
        })
    }

    /// The wire shape.
    pub fn to_wire(&self, id: &str) -> Value {
        let actions: Vec<Value> = self
            .lifetime_actions
            .iter()
            .map(|a| {
                let trigger = match &a.trigger {
                    Trigger::TimeAfterCreate(d) => json!({ "timeAfterCreate": d }),
                    Trigger::TimeBeforeExpiry(d) => json!({ "timeBeforeExpiry": d }),
                };
                json!({ "trigger": trigger, "action": { "type": a.action } })
            })
            .collect();
        let mut attributes = json!({ "created": self.created, "updated": self.updated });
        if let Some(e) = &self.expiry_time {
            attributes["expiryTime"] = e.clone().into();
        }
        json!({ "id": id, "lifetimeActions": actions, "attributes": attributes })
    }

    /// Expiry of a version created at `created`, per `expiryTime`.
    pub fn expiry_for(&self, created: u64) -> Option<u64> {
        self.expiry_time
            .as_deref()
            .and_then(parse_duration)
            .map(|d| created + d)
    }

    /// Whether a version (created, exp) is due for rotation at `now`.
    pub fn rotation_due(&self, created: u64, exp: Option<u64>, now: u64) -> bool {
        self.lifetime_actions
            .iter()
            .filter(|a| a.action == "Rotate")
            .any(|a| match &a.trigger {
                Trigger::TimeAfterCreate(d) => {
                    parse_duration(d).is_some_and(|d| now >= created.saturating_add(d))
                }
                Trigger::TimeBeforeExpiry(d) => match (parse_duration(d), exp) {
                    (Some(d), Some(exp)) => now >= exp.saturating_sub(d),
                    _ => false,
                },
            })
    }
}

impl Vaults {
    /// Rotates every key whose rotation policy says its newest version is due at `now`.
    /// Returns `(vault, key, new version)` for each rotation. Keys of deleted vaults and
    /// soft-deleted keys are left alone.
    pub async fn rotate_due(&self, now: u64) -> Result<Vec<(String, String, String)>, VaultError> {
        let mut rotated = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.records.scan(KEYS, "", cursor.as_deref(), 500).await?;
            for (id, record) in &page.items {
                let meta: KeyMeta = keyhold_store::decode(&record.value)?;
                let Some(policy) = meta.rotation_policy.as_ref() else {
                    continue;
                };
                if meta.deleted.is_some() {
                    continue;
                }
                let Some((vault_name, _)) = id.split_once('/') else {
                    continue;
                };
                let Ok(vault) = self.vault(vault_name).await else {
                    continue;
                };
                // The newest version as stored now (not a cached lookup, which another node's
                // rotation may have made stale): the claim below is for exactly this version.
                let latest = self.get_key(&vault, &meta.name, Some(&meta.latest)).await?;
                if policy.rotation_due(latest.attributes.created, latest.attributes.exp, now)
                    && self.claim_rotation(id, &latest.version, now).await?
                {
                    match self.rotate_key(&vault, &meta.name).await {
                        Ok(v) => rotated.push((vault.name.clone(), meta.name.clone(), v.version)),
                        Err(err) => tracing::warn!(
                            vault = %vault.name, key = %meta.name, error = %err,
                            "scheduled rotation failed; will retry"
                        ),
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(rotated),
            }
        }
    }
}

impl Vaults {
    /// Makes one node of several (sharing a store) the one that rotates `id` away from
    /// `version`: the claim is created once (a compare-and-swap), so a due rotation makes one
    /// new version, not one per node. An abandoned claim is taken over after
    /// [`ROTATION_CLAIM_SECS`].
    async fn claim_rotation(&self, id: &str, version: &str, now: u64) -> Result<bool, VaultError> {
        use keyhold_store::{RecordStoreExt as _, StoreError};
        let key = format!("{id}/{version}");
        let value = now.to_string().into_bytes();
        let attempt = match self.records.get(ROTATION_CLAIMS, &key).await? {
            None => {
                self.records
                    .put_if_absent(ROTATION_CLAIMS, &key, value)
                    .await
            }
            Some(claim) => {
                let claimed_at = std::str::from_utf8(&claim.value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                if now < claimed_at.saturating_add(ROTATION_CLAIM_SECS) {
                    return Ok(false);
                }
                self.records
                    .compare_and_swap(ROTATION_CLAIMS, &key, claim.version, value)
                    .await
            }
        };
        match attempt {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let rows = [
            ("P90D", Some(90 * 86_400)),
            ("P1Y", Some(365 * 86_400)),
            ("P2M", Some(60 * 86_400)),
            ("P1W", Some(7 * 86_400)),
            ("PT1H30M", Some(5_400)),
            ("P1DT1S", Some(86_401)),
            ("P", None),
            ("90D", None),
            ("P1X", None),
            ("P1", None),
            ("PT1D", None),
        ];
        for (text, expected) in rows {
            assert_eq!(parse_duration(text), expected, "{text}");
        }
    }

    #[test]
    fn policy_validation() {
        let ok = json!({"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Rotate"}},{"trigger":{"timeBeforeExpiry":"P10D"},"action":{"type":"notify"}}],"attributes":{"expiryTime":"P90D"}});
        let p = RotationPolicy::from_wire(&ok).unwrap();
        assert_eq!(p.lifetime_actions[1].action, "Notify");
        assert!(!p.rotation_due(0, None, 29 * 86_400));
        assert!(p.rotation_due(0, None, 30 * 86_400));
        assert_eq!(p.expiry_for(10), Some(10 + 90 * 86_400));
        let bad_rows = [
            json!({"attributes":{"expiryTime":"P7D"}}),
            json!({"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]}),
            json!({"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P1D"},"action":{"type":"Rotate"}}]}),
            json!({"lifetimeActions":[{"trigger":{},"action":{"type":"Rotate"}}]}),
            json!({"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Explode"}}]}),
            json!({"lifetimeActions":"x"}),
        ];
        for body in bad_rows {
            assert!(RotationPolicy::from_wire(&body).is_err(), "{body}");
        }
    }
}
