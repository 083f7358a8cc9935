//! Key Vault data-plane paths on a vault's host (`{vault}.{vault-domain}`), parsed into
//! [`VaultRoute`].
//!
//! Azure matches the fixed segments without regard to case (the SDKs send `wrapkey`, older
//! clients `wrapKey`), and a versionless operation may arrive as `/keys/{n}//wrapkey` (empty
//! version, which the splitter drops) or `/keys/{n}/wrapKey`. Key versions are 32 hex digits,
//! so a third segment that names an operation is never a version.

use axum::http::Method;

use keyhold_vault::KeyPermission;

use crate::http::RouteError;
use crate::http::authz::Access;

pub use keyhold_vault::KeyOperation;

/// A parsed vault data-plane request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultRoute {
    /// `GET /keys`
    ListKeys,
    /// `POST /keys/{name}/create`
    CreateKey {
        /// Key name.
        name: String,
    },
    /// `PUT /keys/{name}`
    ImportKey {
        /// Key name.
        name: String,
    },
    /// `GET /keys/{name}[/{version}]`
    GetKey {
        /// Key name.
        name: String,
        /// Version (newest when absent).
        version: Option<String>,
    },
    /// `PATCH /keys/{name}[/{version}]`
    UpdateKey {
        /// Key name.
        name: String,
        /// Version (newest when absent).
        version: Option<String>,
    },
    /// `DELETE /keys/{name}`
    DeleteKey {
        /// Key name.
        name: String,
    },
    /// `GET /keys/{name}/versions`
    ListVersions {
        /// Key name.
        name: String,
    },
    /// `POST /keys/{name}/backup`
    Backup {
        /// Key name.
        name: String,
    },
    /// `POST /keys/restore`
    Restore,
    /// `POST /keys/{name}/rotate`
    Rotate {
        /// Key name.
        name: String,
    },
    /// `GET /keys/{name}/rotationpolicy`
    GetRotationPolicy {
        /// Key name.
        name: String,
    },
    /// `PUT /keys/{name}/rotationpolicy`
    SetRotationPolicy {
        /// Key name.
        name: String,
    },
    /// `POST /keys/{name}[/{version}]/{operation}`
    Operation {
        /// Key name.
        name: String,
        /// Version (newest when absent).
        version: Option<String>,
        /// The operation.
        operation: KeyOperation,
    },
    /// `GET /deletedkeys`
    ListDeletedKeys,
    /// `GET /deletedkeys/{name}`
    GetDeletedKey {
        /// Key name.
        name: String,
    },
    /// `DELETE /deletedkeys/{name}`
    PurgeDeletedKey {
        /// Key name.
        name: String,
    },
    /// `POST /deletedkeys/{name}/recover`
    RecoverDeletedKey {
        /// Key name.
        name: String,
    },
    /// `POST /rng`
    RandomBytes,
}

fn only(method: &Method, wanted: Method, allow: &'static str, route: VaultRoute) -> RouteResult {
    if *method == wanted {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed(allow))
    }
}

type RouteResult = Result<VaultRoute, RouteError>;

/// Parses a vault-host path (segments in original case and lower-cased).
pub fn parse(method: &Method, segments: &[&str], lower: &[&str]) -> RouteResult {
    let name = |i: usize| segments[i].to_owned();
    match lower {
        ["rng"] => only(method, Method::POST, "POST", VaultRoute::RandomBytes),
        ["keys"] => only(method, Method::GET, "GET", VaultRoute::ListKeys),
        ["keys", "restore"] if *method == Method::POST => Ok(VaultRoute::Restore),
        ["keys", _] => match *method {
            Method::GET => Ok(VaultRoute::GetKey {
                name: name(1),
                version: None,
            }),
            Method::PATCH => Ok(VaultRoute::UpdateKey {
                name: name(1),
                version: None,
            }),
            Method::PUT => Ok(VaultRoute::ImportKey { name: name(1) }),
            Method::DELETE => Ok(VaultRoute::DeleteKey { name: name(1) }),
            _ => Err(RouteError::MethodNotAllowed("GET, PATCH, PUT, DELETE")),
        },
        ["keys", _, "create"] => only(
            method,
            Method::POST,
            "POST",
            VaultRoute::CreateKey { name: name(1) },
        ),
        ["keys", _, "versions"] => only(
            method,
            Method::GET,
            "GET",
            VaultRoute::ListVersions { name: name(1) },
        ),
        ["keys", _, "backup"] => only(
            method,
            Method::POST,
            "POST",
            VaultRoute::Backup { name: name(1) },
        ),
        ["keys", _, "rotate"] => only(
            method,
            Method::POST,
            "POST",
            VaultRoute::Rotate { name: name(1) },
        ),
        ["keys", _, "rotationpolicy"] => match *method {
            Method::GET => Ok(VaultRoute::GetRotationPolicy { name: name(1) }),
            Method::PUT => Ok(VaultRoute::SetRotationPolicy { name: name(1) }),
            _ => Err(RouteError::MethodNotAllowed("GET, PUT")),
        },
        ["keys", _, op] if KeyOperation::parse(op).is_some() => {
            operation(method, name(1), None, op)
        }
        ["keys", _, _] => match *method {
            Method::GET => Ok(VaultRoute::GetKey {
                name: name(1),
                version: Some(name(2)),
            }),
            Method::PATCH => Ok(VaultRoute::UpdateKey {
                name: name(1),
                version: Some(name(2)),
            }),
            _ => Err(RouteError::MethodNotAllowed("GET, PATCH")),
        },
        ["keys", _, _, op] if KeyOperation::parse(op).is_some() => {
            operation(method, name(1), Some(name(2)), op)
        }
        ["deletedkeys"] => only(method, Method::GET, "GET", VaultRoute::ListDeletedKeys),
        ["deletedkeys", _] => match *method {
            Method::GET => Ok(VaultRoute::GetDeletedKey { name: name(1) }),
            Method::DELETE => Ok(VaultRoute::PurgeDeletedKey { name: name(1) }),
            _ => Err(RouteError::MethodNotAllowed("GET, DELETE")),
        },
        ["deletedkeys", _, "recover"] => only(
            method,
            Method::POST,
            "POST",
            VaultRoute::RecoverDeletedKey { name: name(1) },
        ),
        _ => Err(RouteError::NotFound),
    }
}

fn operation(method: &Method, name: String, version: Option<String>, op: &str) -> RouteResult {
    let Some(operation) = KeyOperation::parse(op) else {
        return Err(RouteError::NotFound);
    };
    only(
        method,
        Method::POST,
        "POST",
        VaultRoute::Operation {
            name,
            version,
            operation,
        },
    )
}

crate::route_kinds! {
    /// One kind per [`VaultRoute`] variant (each key operation its own).
    pub enum VaultRouteKind {
        ListKeys, CreateKey, ImportKey, GetKey, UpdateKey, DeleteKey, ListVersions, Backup,
        Restore, Rotate, GetRotationPolicy, SetRotationPolicy, Encrypt, Decrypt, WrapKey,
        UnwrapKey, Sign, Verify, ListDeletedKeys, GetDeletedKey, PurgeDeletedKey,
        RecoverDeletedKey, RandomBytes,
    }
}

impl VaultRoute {
    /// The route's kind.
    pub fn kind(&self) -> VaultRouteKind {
        use VaultRouteKind as K;
        match self {
            VaultRoute::ListKeys => K::ListKeys,
            VaultRoute::CreateKey { .. } => K::CreateKey,
            VaultRoute::ImportKey { .. } => K::ImportKey,
            VaultRoute::GetKey { .. } => K::GetKey,
            VaultRoute::UpdateKey { .. } => K::UpdateKey,
            VaultRoute::DeleteKey { .. } => K::DeleteKey,
            VaultRoute::ListVersions { .. } => K::ListVersions,
            VaultRoute::Backup { .. } => K::Backup,
            VaultRoute::Restore => K::Restore,
            VaultRoute::Rotate { .. } => K::Rotate,
            VaultRoute::GetRotationPolicy { .. } => K::GetRotationPolicy,
            VaultRoute::SetRotationPolicy { .. } => K::SetRotationPolicy,
            VaultRoute::Operation { operation, .. } => match operation {
                KeyOperation::Encrypt => K::Encrypt,
                KeyOperation::Decrypt => K::Decrypt,
                KeyOperation::WrapKey => K::WrapKey,
                KeyOperation::UnwrapKey => K::UnwrapKey,
                KeyOperation::Sign => K::Sign,
                KeyOperation::Verify => K::Verify,
            },
            VaultRoute::ListDeletedKeys => K::ListDeletedKeys,
            VaultRoute::GetDeletedKey { .. } => K::GetDeletedKey,
            VaultRoute::PurgeDeletedKey { .. } => K::PurgeDeletedKey,
            VaultRoute::RecoverDeletedKey { .. } => K::RecoverDeletedKey,
            VaultRoute::RandomBytes => K::RandomBytes,
        }
    }

    /// The key permission the route needs on the host's vault. Random bytes need `get`: they
    /// are no secret of the vault's, but an endpoint that answers anyone with a token would
    /// be a free CPU and entropy service for every workload of every tenant.
    pub fn access(&self) -> Access {
        Access::VaultKeys(match self {
            VaultRoute::ListKeys
            | VaultRoute::ListVersions { .. }
            | VaultRoute::ListDeletedKeys => KeyPermission::List,
            VaultRoute::GetKey { .. }
            | VaultRoute::GetDeletedKey { .. }
            | VaultRoute::RandomBytes => KeyPermission::Get,
            VaultRoute::CreateKey { .. } => KeyPermission::Create,
            VaultRoute::ImportKey { .. } => KeyPermission::Import,
            VaultRoute::UpdateKey { .. } => KeyPermission::Update,
            VaultRoute::DeleteKey { .. } => KeyPermission::Delete,
            VaultRoute::Backup { .. } => KeyPermission::Backup,
            VaultRoute::Restore => KeyPermission::Restore,
            VaultRoute::Rotate { .. } => KeyPermission::Rotate,
            VaultRoute::GetRotationPolicy { .. } => KeyPermission::GetRotationPolicy,
            VaultRoute::SetRotationPolicy { .. } => KeyPermission::SetRotationPolicy,
            VaultRoute::PurgeDeletedKey { .. } => KeyPermission::Purge,
            VaultRoute::RecoverDeletedKey { .. } => KeyPermission::Recover,
            VaultRoute::Operation { operation, .. } => match operation {
                KeyOperation::Encrypt => KeyPermission::Encrypt,
                KeyOperation::Decrypt => KeyPermission::Decrypt,
                KeyOperation::WrapKey => KeyPermission::WrapKey,
                KeyOperation::UnwrapKey => KeyPermission::UnwrapKey,
                KeyOperation::Sign => KeyPermission::Sign,
                KeyOperation::Verify => KeyPermission::Verify,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(method: Method, path: &str) -> RouteResult {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        parse(&method, &segments, &lower)
    }

    #[test]
    fn vault_table() {
        let v = "0123456789abcdef0123456789abcdef";
        let op = |name: &str, version: Option<&str>, operation| {
            Ok(VaultRoute::Operation {
                name: name.into(),
                version: version.map(Into::into),
                operation,
            })
        };
        let rows: Vec<(Method, String, RouteResult)> = vec![
            (Method::GET, "/keys".into(), Ok(VaultRoute::ListKeys)),
            (
                Method::POST,
                "/keys".into(),
                Err(RouteError::MethodNotAllowed("GET")),
            ),
            (
                Method::POST,
                "/keys/My-Key/create".into(),
                Ok(VaultRoute::CreateKey {
                    name: "My-Key".into(),
                }),
            ),
            (
                Method::PUT,
                "/keys/k1".into(),
                Ok(VaultRoute::ImportKey { name: "k1".into() }),
            ),
            (
                Method::GET,
                "/keys/k1/".into(),
                Ok(VaultRoute::GetKey {
                    name: "k1".into(),
                    version: None,
                }),
            ),
            (
                Method::GET,
                format!("/keys/k1/{v}"),
                Ok(VaultRoute::GetKey {
                    name: "k1".into(),
                    version: Some(v.into()),
                }),
            ),
            (
                Method::PATCH,
                format!("/keys/k1/{v}"),
                Ok(VaultRoute::UpdateKey {
                    name: "k1".into(),
                    version: Some(v.into()),
                }),
            ),
            (
                Method::DELETE,
                "/keys/k1".into(),
                Ok(VaultRoute::DeleteKey { name: "k1".into() }),
            ),
            (
                Method::GET,
                "/keys/k1/VERSIONS".into(),
                Ok(VaultRoute::ListVersions { name: "k1".into() }),
            ),
            (
                Method::POST,
                "/keys/k1/backup".into(),
                Ok(VaultRoute::Backup { name: "k1".into() }),
            ),
            (
                Method::POST,
                "/keys/restore".into(),
                Ok(VaultRoute::Restore),
            ),
            (
                Method::GET,
                "/keys/restore".into(),
                Ok(VaultRoute::GetKey {
                    name: "restore".into(),
                    version: None,
                }),
            ),
            (
                Method::POST,
                "/keys/k1/rotate".into(),
                Ok(VaultRoute::Rotate { name: "k1".into() }),
            ),
            (
                Method::PUT,
                "/keys/k1/rotationpolicy".into(),
                Ok(VaultRoute::SetRotationPolicy { name: "k1".into() }),
            ),
            (
                Method::GET,
                "/keys/k1/RotationPolicy".into(),
                Ok(VaultRoute::GetRotationPolicy { name: "k1".into() }),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/wrapkey"),
                op("k1", Some(v), KeyOperation::WrapKey),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/unwrapKey"),
                op("k1", Some(v), KeyOperation::UnwrapKey),
            ),
            (
                Method::POST,
                "/keys/k1//wrapkey".into(),
                op("k1", None, KeyOperation::WrapKey),
            ),
            (
                Method::POST,
                "/keys/my-key/wrapKey".into(),
                op("my-key", None, KeyOperation::WrapKey),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/encrypt"),
                op("k1", Some(v), KeyOperation::Encrypt),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/DECRYPT"),
                op("k1", Some(v), KeyOperation::Decrypt),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/sign"),
                op("k1", Some(v), KeyOperation::Sign),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/verify"),
                op("k1", Some(v), KeyOperation::Verify),
            ),
            (
                Method::GET,
                format!("/keys/k1/{v}/sign"),
                Err(RouteError::MethodNotAllowed("POST")),
            ),
            (
                Method::POST,
                format!("/keys/k1/{v}/release"),
                Err(RouteError::NotFound),
            ),
            (
                Method::GET,
                "/deletedkeys".into(),
                Ok(VaultRoute::ListDeletedKeys),
            ),
            (
                Method::GET,
                "/deletedkeys/k1".into(),
                Ok(VaultRoute::GetDeletedKey { name: "k1".into() }),
            ),
            (
                Method::DELETE,
                "/DeletedKeys/k1".into(),
                Ok(VaultRoute::PurgeDeletedKey { name: "k1".into() }),
            ),
            (
                Method::POST,
                "/deletedkeys/k1/recover".into(),
                Ok(VaultRoute::RecoverDeletedKey { name: "k1".into() }),
            ),
            (Method::POST, "/rng".into(), Ok(VaultRoute::RandomBytes)),
            (Method::GET, "/secrets".into(), Err(RouteError::NotFound)),
            (Method::GET, "/".into(), Err(RouteError::NotFound)),
        ];
        for (method, path, expected) in rows {
            assert_eq!(run(method.clone(), &path), expected, "{method} {path}");
        }
    }

    #[test]
    fn every_vault_route_kind_declares_its_key_permission() {
        use KeyPermission as P;
        let v = "0123456789abcdef0123456789abcdef";
        let rows: Vec<(Method, String, KeyPermission)> = vec![
            (Method::GET, "/keys".into(), P::List),
            (Method::POST, "/keys/k/create".into(), P::Create),
            (Method::PUT, "/keys/k".into(), P::Import),
            (Method::GET, format!("/keys/k/{v}"), P::Get),
            (Method::PATCH, "/keys/k".into(), P::Update),
            (Method::DELETE, "/keys/k".into(), P::Delete),
            (Method::GET, "/keys/k/versions".into(), P::List),
            (Method::POST, "/keys/k/backup".into(), P::Backup),
            (Method::POST, "/keys/restore".into(), P::Restore),
            (Method::POST, "/keys/k/rotate".into(), P::Rotate),
            (
                Method::GET,
                "/keys/k/rotationpolicy".into(),
                P::GetRotationPolicy,
            ),
            (
                Method::PUT,
                "/keys/k/rotationpolicy".into(),
                P::SetRotationPolicy,
            ),
            (Method::POST, format!("/keys/k/{v}/encrypt"), P::Encrypt),
            (Method::POST, "/keys/k/decrypt".into(), P::Decrypt),
            (Method::POST, "/keys/k/wrapkey".into(), P::WrapKey),
            (Method::POST, "/keys/k/unwrapKey".into(), P::UnwrapKey),
            (Method::POST, "/keys/k/sign".into(), P::Sign),
            (Method::POST, "/keys/k/verify".into(), P::Verify),
            (Method::GET, "/deletedkeys".into(), P::List),
            (Method::GET, "/deletedkeys/k".into(), P::Get),
            (Method::DELETE, "/deletedkeys/k".into(), P::Purge),
            (Method::POST, "/deletedkeys/k/recover".into(), P::Recover),
            (Method::POST, "/rng".into(), P::Get),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (method, path, permission) in rows {
            let route = run(method.clone(), &path).unwrap();
            seen.insert(route.kind());
            assert_eq!(
                route.access(),
                Access::VaultKeys(permission),
                "{method} {path}"
            );
        }
        let missing: Vec<&str> = VaultRouteKind::ALL
            .iter()
            .filter(|k| !seen.contains(k))
            .map(|k| k.name())
            .collect();
        assert!(
            missing.is_empty(),
            "vault routes without a row: {missing:?}"
        );
    }
}
