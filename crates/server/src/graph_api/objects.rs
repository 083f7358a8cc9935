//! keyhold's principals as Microsoft Graph objects: every stored principal of a tenant is a
//! `servicePrincipal` (`servicePrincipalType` `Application` or `ManagedIdentity`), and every
//! application-kind principal is also an `application`. Graph gives the two objects different
//! ids; keyhold stores one principal, so an application's id is derived from its `appId` by a
//! fixed, reversible mask (no second record to keep in step, and a stale id can never name
//! another tenant's object: lookups stay within the caller's tenant).

use keyhold_identity::{Principal, PrincipalKind, SecretCredential, Tenant};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::http::rfc3339;

/// XORed into an `appId` to give its application object id. Zero in the UUID version and
/// variant bits, so the result is still a well-formed version-4 UUID.
const APPLICATION_MASK: [u8; 16] = [
    0x4b, 0x48, 0x2d, 0x61, 0x70, 0x70, 0x0f, 0x69, 0x2a, 0x6f, 0x62, 0x6a, 0x65, 0x63, 0x74, 0x21,
];

fn masked(id: Uuid) -> Uuid {
    let mut bytes = *id.as_bytes();
    for (b, m) in bytes.iter_mut().zip(APPLICATION_MASK) {
        *b ^= m;
    }
    Uuid::from_bytes(bytes)
}

/// The application object id of an application's `appId`.
pub fn application_id(app_id: Uuid) -> Uuid {
    masked(app_id)
}

/// The `appId` an application object id stands for.
pub fn app_id_of_application(id: Uuid) -> Uuid {
    masked(id)
}

/// True for principals that are applications (not managed or external identities).
pub fn is_application(p: &Principal) -> bool {
    p.kind == PrincipalKind::ServicePrincipal
}

/// Graph's `passwordCredential` for a stored secret (never its value).
pub fn password_json(s: &SecretCredential) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": s.display_name,
        "endDateTime": s.expires.map(rfc3339),
        "hint": s.hint,
        "keyId": s.key_id,
        "secretText": null,
        "startDateTime": rfc3339(s.created),
    })
}

fn managed_resource(p: &Principal) -> Option<&str> {
    match &p.kind {
        PrincipalKind::SystemAssigned { resource_id }
        | PrincipalKind::UserAssigned { resource_id } => Some(resource_id),
        _ => None,
    }
}

/// A principal as a Graph `servicePrincipal`.
pub fn service_principal_json(p: &Principal) -> Value {
    let resource = managed_resource(p);
    let (kind, names, alternative) = match resource {
        Some(resource_id) => (
            "ManagedIdentity",
            vec![p.client_id.to_string(), resource_id.to_owned()],
            vec![
                format!(
                    "isExplicit={}",
                    if matches!(p.kind, PrincipalKind::UserAssigned { .. }) {
                        "True"
                    } else {
                        "False"
                    }
                ),
                resource_id.to_owned(),
            ],
        ),
        None => ("Application", vec![p.client_id.to_string()], Vec::new()),
    };
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": p.object_id,
        "appId": p.client_id,
        "appDisplayName": p.display_name,
        "displayName": p.display_name,
        "accountEnabled": p.enabled,
        "appOwnerOrganizationId": p.tenant_id,
        "servicePrincipalNames": names,
        "servicePrincipalType": kind,
        "alternativeNames": alternative,
        "signInAudience": "AzureADMyOrg",
        "passwordCredentials": p.secrets.iter().map(password_json).collect::<Vec<_>>(),
        "keyCredentials": [],
        "appRoles": [],
        "oauth2PermissionScopes": [],
        "tags": [],
        "deletedDateTime": null,
    })
}

/// An application-kind principal as a Graph `application`.
pub fn application_json(p: &Principal) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.application",
        "id": application_id(p.client_id),
        "appId": p.client_id,
        "displayName": p.display_name,
        "createdDateTime": rfc3339(p.created),
        "signInAudience": "AzureADMyOrg",
        "identifierUris": [],
        "passwordCredentials": p.secrets.iter().map(password_json).collect::<Vec<_>>(),
        "keyCredentials": [],
        "requiredResourceAccess": [],
        "appRoles": [],
        "tags": [],
        "deletedDateTime": null,
    })
}

/// The caller's tenant as a Graph `organization`.
pub fn organization_json(t: &Tenant) -> Value {
    json!({
        "id": t.id,
        "displayName": t.display_name,
        "tenantType": "AAD",
        "createdDateTime": rfc3339(t.created),
        "verifiedDomains": [{
            "name": format!("{}.keyhold.localhost", t.id),
            "type": "Managed",
            "isDefault": true,
            "isInitial": true,
            "capabilities": "None",
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_ids_round_trip_and_differ() {
        for _ in 0..100 {
            let app = Uuid::new_v4();
            let id = application_id(app);
            assert_ne!(id, app);
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(app_id_of_application(id), app);
        }
    }
}
