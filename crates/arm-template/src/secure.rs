//! Secure values (`securestring` and `secureObject` parameters, secure outputs).
//!
//! A [`SecureValue`] never prints its content (`Debug` and `Display` redact) and has no
//! `Serialize`, so it cannot slip into a record by accident. Anything this crate returns for
//! storage or display (deployment parameters echo, outputs, operations, what-if) goes through a
//! [`Redactor`], which replaces every string that came from a secure value.

use serde_json::Value;

/// What replaces a secure value wherever one would otherwise be shown.
pub const REDACTED: &str = "<redacted>";

/// A value that must never be shown. Read it with [`SecureValue::expose`] only where it is sent
/// to the resource host.
#[derive(Clone, PartialEq)]
pub struct SecureValue(Value);

impl SecureValue {
    /// Wraps a value.
    pub fn new(value: Value) -> Self {
        SecureValue(value)
    }

    /// The value itself; the caller takes responsibility for not showing it.
    pub fn expose(&self) -> &Value {
        &self.0
    }
}

impl std::fmt::Debug for SecureValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for SecureValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replaces secure strings in values and messages that leave the crate.
///
/// It knows every string leaf of every secure value of a deployment (and its nested
/// deployments); any JSON string or message containing one of them is redacted. Strings of
/// fewer than 4 characters are not scrubbed from free text (they would mangle ordinary
/// words), but are still replaced when a whole JSON string equals one.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Adds every string leaf (and the JSON text, for non-strings) of a secure value.
    pub fn add(&mut self, value: &SecureValue) {
        collect(value.expose(), &mut self.secrets);
        if !value.expose().is_string() {
            self.secrets.push(value.expose().to_string());
        }
        self.secrets.retain(|s| !s.is_empty());
        self.secrets.sort();
        self.secrets.dedup();
    }

    /// Adds all secrets another redactor knows.
    pub fn extend(&mut self, other: &Redactor) {
        self.secrets.extend(other.secrets.iter().cloned());
        self.secrets.sort();
        self.secrets.dedup();
    }

    /// Whether there is anything to redact at all.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `value` with every secure string replaced by [`REDACTED`].
    pub fn value(&self, value: &Value) -> Value {
        if self.secrets.is_empty() {
            return value.clone();
        }
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// `text` with every secure string in it replaced by [`REDACTED`].
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out == *secret {
                return REDACTED.to_string();
            }
            if secret.chars().count() >= 4 && out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

fn collect(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect(v, into)),
        Value::Object(map) => map.values().for_each(|v| collect(v, into)),
        Value::Number(n) => into.push(n.to_string()),
        Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_and_display_redact() {
        let v = SecureValue::new(json!("hunter2!"));
        assert_eq!(format!("{v:?}"), REDACTED);
        assert_eq!(format!("{v}"), REDACTED);
        assert_eq!(v.expose(), &json!("hunter2!"));
    }

    #[test]
    fn redactor_scrubs_values_and_text() {
        let mut r = Redactor::default();
        r.add(&SecureValue::new(json!({"pw": "s3cret-value", "n": 12})));
        assert_eq!(
            r.value(&json!({"a": ["s3cret-value", "ok"]})),
            json!({"a": [REDACTED, "ok"]})
        );
        assert_eq!(
            r.text("bad password s3cret-value!"),
            format!("bad password {REDACTED}!")
        );
        assert!(!r.text("{\"n\":12}").contains("s3cret"));
    }
}
