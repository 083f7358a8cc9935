//! Unix-epoch time fields shown as ISO-8601 UTC. The Key Vault API (`created`, `updated`,
//! `exp`, `nbf`, `deletedDate`, `scheduledPurgeDate`), the OpenAI API (`created`,
//! `created_at`, `finished_at`, …), the directory API (`endDateTime`) and the audit log
//! (`time_ms`, milliseconds) answer with numbers; the CLI prints
//! `2026-12-04T18:46:46Z` instead, in every output format. Fields are recognised by name,
//! and only integer values are converted: an ISO string from ARM stays as it is, and a
//! duration such as `expires_in` is not a time.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Exact names of fields that hold Unix seconds.
const SECONDS: &[&str] = &[
    "created",
    "updated",
    "exp",
    "nbf",
    "iat",
    "expires",
    "deletedDate",
    "scheduledPurgeDate",
    "estimated_finish",
];

/// Latest second ISO-8601 can write with a four-digit year (9999-12-31T23:59:59Z).
const MAX_SECONDS: i64 = 253_402_300_799;

/// How a field's number counts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
}

/// Whether `key` names a time, and in which unit.
fn unit_of(key: &str) -> Option<Unit> {
    if let Some(prefix) = key.strip_suffix("_ms") {
        return (prefix == "time" || unit_of(prefix).is_some()).then_some(Unit::Millis);
    }
    let camel_suffix = ["On", "At", "Date", "DateTime", "Time"]
        .iter()
        .any(|s| key.len() > s.len() && key.ends_with(s));
    (SECONDS.contains(&key) || key.ends_with("_at") || camel_suffix).then_some(Unit::Seconds)
}

/// ISO-8601 UTC for an epoch number, or `None` if it is out of range.
fn iso(number: i64, unit: Unit) -> Option<String> {
    let at = match unit {
        Unit::Seconds if (0..=MAX_SECONDS).contains(&number) => {
            OffsetDateTime::from_unix_timestamp(number).ok()?
        }
        Unit::Millis if (0..=MAX_SECONDS.saturating_mul(1000)).contains(&number) => {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(number) * 1_000_000).ok()?
        }
        _ => return None,
    };
    at.format(&Rfc3339).ok()
}

/// Rewrites every epoch time field in `value` (at any depth) as an ISO-8601 UTC string.
pub fn humanize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if let (Some(unit), Some(n)) = (unit_of(key), field.as_i64())
                    && let Some(text) = iso(n, unit)
                {
                    *field = Value::String(text);
                } else {
                    humanize(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(humanize),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_names() {
        let cases: &[(&str, Option<Unit>)] = &[
            ("created", Some(Unit::Seconds)),
            ("updated", Some(Unit::Seconds)),
            ("exp", Some(Unit::Seconds)),
            ("nbf", Some(Unit::Seconds)),
            ("createdOn", Some(Unit::Seconds)),
            ("expiresOn", Some(Unit::Seconds)),
            ("deletedDate", Some(Unit::Seconds)),
            ("scheduledPurgeDate", Some(Unit::Seconds)),
            ("endDateTime", Some(Unit::Seconds)),
            ("created_at", Some(Unit::Seconds)),
            ("finished_at", Some(Unit::Seconds)),
            ("time_ms", Some(Unit::Millis)),
            ("created_ms", Some(Unit::Millis)),
            ("expires_in", None),
            ("bytes", None),
            ("recoverableDays", None),
            ("seq", None),
            ("On", None),
            ("size_ms", None),
        ];
        for (key, unit) in cases {
            assert_eq!(unit_of(key), *unit, "{key}");
        }
    }

    #[test]
    fn converts_numbers_only() {
        let mut v = json!({
            "attributes": { "created": 1_700_000_000, "updated": 1_700_000_001,
                            "enabled": true, "recoverableDays": 7 },
            "value": [{ "created_at": 0, "bytes": 1_700_000_000 }],
            "systemData": { "createdAt": "2026-01-01T00:00:00Z" },
            "time_ms": 1_700_000_000_123i64,
            "exp": -5,
            "nbf": 1.5,
            "expires_in": 3599,
        });
        humanize(&mut v);
        assert_eq!(
            v,
            json!({
                "attributes": { "created": "2023-11-14T22:13:20Z", "updated": "2023-11-14T22:13:21Z",
                                "enabled": true, "recoverableDays": 7 },
                "value": [{ "created_at": "1970-01-01T00:00:00Z", "bytes": 1_700_000_000 }],
                "systemData": { "createdAt": "2026-01-01T00:00:00Z" },
                "time_ms": "2023-11-14T22:13:20.123Z",
                "exp": -5,
                "nbf": 1.5,
                "expires_in": 3599,
            })
        );
    }

    #[test]
    fn out_of_range_stays_a_number() {
        let mut v = json!({ "exp": MAX_SECONDS + 1, "created": MAX_SECONDS });
        humanize(&mut v);
        assert_eq!(v["exp"], json!(MAX_SECONDS + 1));
        assert_eq!(v["created"], "9999-12-31T23:59:59Z");
    }
}
