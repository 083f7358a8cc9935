//! Typed, versioned record encoding. Every stored document says what it is and which schema
//! version wrote it, so the format can evolve with explicit migrations (garage's `Migrate`).
//!
//! Encoding (DO NOT CHANGE): JSON `{"kind": KIND, "schema": N, "data": <the value>}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;

/// A record type with a kind name and a schema version.
pub trait Versioned: Serialize + serde::de::DeserializeOwned {
    /// Stable kind name, e.g. `identity.principal`.
    const KIND: &'static str;
    /// Current schema version.
    const SCHEMA: u16;

    /// Upgrades a document written with an older schema. The default refuses.
    fn migrate(from_schema: u16, value: Value) -> Result<Self, StoreError> {
        let _ = value;
        Err(StoreError::Decode(format!(
            "unsupported schema {from_schema} for {}",
            Self::KIND
        )))
    }
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    kind: &'a str,
    schema: u16,
    data: &'a T,
}

/// What a record says it is (its `data` is skipped, not built).
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    schema: u16,
}

/// A record's data, read straight into its type.
#[derive(Deserialize)]
struct DataIn<T> {
    data: T,
}

/// A record's data as a JSON tree, for migrations.
#[derive(Deserialize)]
struct DataValue {
    data: Value,
}

/// Encodes a typed record.
pub fn encode<T: Versioned>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&EnvelopeOut {
        kind: T::KIND,
        schema: T::SCHEMA,
        data: value,
    })
    .map_err(|e| StoreError::Decode(format!("cannot encode {}: {e}", T::KIND)))
}

/// Decodes a typed record: checks the kind, migrates older schemas, refuses newer ones.
///
/// The header is read first (skipping the data), then the data straight into `T`: every
/// read of a record goes through here, and building a JSON tree of it first (then converting)
/// cost about as much as the rest of a data-plane request.
pub fn decode<T: Versioned>(bytes: &[u8]) -> Result<T, StoreError> {
    let header: Header<'_> = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Decode(format!("not a versioned record: {e}")))?;
    if header.kind != T::KIND {
        return Err(StoreError::Decode(format!(
            "expected a {} record, found {}",
            T::KIND,
            header.kind
        )));
    }
    match header.schema.cmp(&T::SCHEMA) {
        std::cmp::Ordering::Equal => serde_json::from_slice::<DataIn<T>>(bytes)
            .map(|d| d.data)
            .map_err(|e| StoreError::Decode(format!("{} schema {}: {e}", T::KIND, T::SCHEMA))),
        std::cmp::Ordering::Less => {
            let old: DataValue = serde_json::from_slice(bytes)
                .map_err(|e| StoreError::Decode(format!("not a versioned record: {e}")))?;
            T::migrate(header.schema, old.data)
        }
        std::cmp::Ordering::Greater => Err(StoreError::Decode(format!(
            "{} record has schema {}, newer than this keyhold understands ({}); upgrade keyhold",
            T::KIND,
            header.schema,
            T::SCHEMA
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct V2 {
        name: String,
        size: u64,
    }
    impl Versioned for V2 {
        const KIND: &'static str = "test.thing";
        const SCHEMA: u16 = 2;
        fn migrate(from: u16, value: Value) -> Result<Self, StoreError> {
            match from {
                1 => Ok(V2 {
                    name: value["name"].as_str().unwrap_or_default().to_owned(),
                    size: 0,
                }),
                _ => Err(StoreError::Decode("no".into())),
            }
        }
    }
    #[derive(Debug, Serialize, Deserialize)]
    struct Other;
    impl Versioned for Other {
        const KIND: &'static str = "test.other";
        const SCHEMA: u16 = 1;
    }

    #[test]
    fn round_trip_migrate_and_refuse() {
        let v = V2 {
            name: "a".into(),
            size: 3,
        };
        assert_eq!(decode::<V2>(&encode(&v).unwrap()).unwrap(), v);
        let old = br#"{"kind":"test.thing","schema":1,"data":{"name":"b"}}"#;
        assert_eq!(
            decode::<V2>(old).unwrap(),
            V2 {
                name: "b".into(),
                size: 0
            }
        );
        let newer = br#"{"kind":"test.thing","schema":9,"data":{}}"#;
        assert!(
            decode::<V2>(newer)
                .unwrap_err()
                .to_string()
                .contains("upgrade keyhold")
        );
        assert!(decode::<Other>(&encode(&v).unwrap()).is_err());
        assert!(decode::<V2>(b"garbage").is_err());
    }
}
