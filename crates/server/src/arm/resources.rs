//! `GET /subscriptions/{s}[/resourceGroups/{rg}]/resources`: the generic resource list that
//! `az keyvault list` (without `-g`), `az keyvault show` (finding a vault's group) and
//! `az resource list` use, with `$filter` on `resourceType eq '…'`, `name eq '…'` and
//! `resourceGroup eq '…'` joined by `and`, and `$top`.
//!
//! Security: the route is open to any caller of the subscription's tenant (the gate checks the
//! tenant); every item is then authorized on its own, by its type's read action at its own id,
//! exactly as ARM filters the list, so a Reader of the subscription sees everything and a
//! Contributor of one group sees that group's resources only.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

pub(crate) use super::providers::{provider, providers};
use crate::arm::error::api_version;
use crate::http::api_version::{Plane, query_param};
use crate::http::authz::Grant;
use crate::http::{ApiError, RequestHead, json};
use crate::state::AppState;

/// The resource types the list holds, with the action that reads one.
const TYPES: &[(&str, &str)] = &[
    (
        "Microsoft.KeyVault/vaults",
        "Microsoft.KeyVault/vaults/read",
    ),
    (
        "Microsoft.CognitiveServices/accounts",
        "Microsoft.CognitiveServices/accounts/read",
    ),
    (
        "Microsoft.MachineLearningServices/workspaces",
        "Microsoft.MachineLearningServices/workspaces/read",
    ),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    ),
];

/// What `$filter` keeps.
#[derive(Debug, Default, PartialEq, Eq)]
struct Filter {
    resource_type: Option<String>,
    name: Option<String>,
    resource_group: Option<String>,
}

impl Filter {
    /// Parses `field eq 'value' [and field eq 'value' …]` (fields and `eq`/`and` in any case).
    fn parse(text: &str) -> Result<Filter, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                "InvalidFilterInQueryString",
                format!(
                    "Invalid $filter '{text}': supported are resourceType eq '…', name eq '…' and resourceGroup eq '…', joined by 'and'."
                ),
            )
        };
        let mut filter = Filter::default();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (field, after) = rest.split_once(char::is_whitespace).ok_or_else(invalid)?;
            let after = after.trim_start();
            let after = after
                .get(..2)
                .filter(|op| op.eq_ignore_ascii_case("eq"))
                .map(|_| after[2..].trim_start())
                .ok_or_else(invalid)?;
            let quoted = after.strip_prefix('\'').ok_or_else(invalid)?;
            let end = quoted.find('\'').ok_or_else(invalid)?;
            let value = quoted[..end].to_owned();
            let slot = match field.to_ascii_lowercase().as_str() {
                "resourcetype" => &mut filter.resource_type,
                "name" => &mut filter.name,
                "resourcegroup" => &mut filter.resource_group,
                _ => return Err(invalid()),
            };
            *slot = Some(value);
            rest = quoted[end + 1..].trim_start();
            if rest.is_empty() {
                break;
            }
            let (and, after) = rest.split_once(char::is_whitespace).ok_or_else(invalid)?;
            if !and.eq_ignore_ascii_case("and") {
                return Err(invalid());
            }
            rest = after.trim_start();
            if rest.is_empty() {
                return Err(invalid());
            }
        }
        Ok(filter)
    }

    fn keeps_type(&self, resource_type: &str) -> bool {
        self.resource_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(resource_type))
    }

    fn keeps(&self, item: &Value) -> bool {
        let field = |name: &str| item[name].as_str().unwrap_or_default().to_owned();
        let group = field("id")
            .split('/')
            .nth(4)
            .map(str::to_owned)
            .unwrap_or_default();
        self.name
            .as_deref()
            .is_none_or(|n| n.eq_ignore_ascii_case(&field("name")))
            && self
                .resource_group
                .as_deref()
                .is_none_or(|g| g.eq_ignore_ascii_case(&group))
    }
}

/// The generic fields ARM lists (`properties` only with `$expand`, which keyhold ignores).
fn generic(item: &Value) -> Value {
    let mut out = json!({});
    for field in [
        "id",
        "name",
        "type",
        "location",
        "tags",
        "kind",
        "sku",
        "identity",
        "managedBy",
    ] {
        if let Some(value) = item.get(field).filter(|v| !v.is_null()) {
            out[field] = value.clone();
        }
    }
    out
}

async fn items_of_type(
    state: &AppState,
    subscription: uuid::Uuid,
    group: Option<&str>,
    resource_type: &str,
) -> Result<Vec<Value>, ApiError> {
    let platform = state.platform();
    let error = crate::arm::error::platform_error;
    let mut out = Vec::new();
    match resource_type {
        "Microsoft.KeyVault/vaults" => {
            for vault in state
                .vaults()
                .list_vaults(subscription, group)
                .await
                .map_err(crate::arm::error::vault_error)?
            {
                out.push(super::vaults::vault_json(state, &vault));
            }
        }
        "Microsoft.CognitiveServices/accounts" => {
            for account in platform
                .list_accounts(subscription, group)
                .await
                .map_err(error)?
            {
                out.push(super::accounts::account_json(state, &account).await?);
            }
        }
        "Microsoft.MachineLearningServices/workspaces" => {
            for ws in platform
                .list_workspaces(subscription, group)
                .await
                .map_err(error)?
            {
                out.push(super::workspaces::workspace_json(state, &ws).await?);
            }
        }
        _ => {
            let scope = super::list_scope(subscription, group);
            out = super::identities::list_json(state, &scope).await?;
        }
    }
    Ok(out)
}

/// Lists the resources of a subscription or one group that the caller may read.
pub async fn list(
    state: &AppState,
    request: &RequestHead,
    grant: &Grant,
    group: Option<&str>,
) -> Result<Response, ApiError> {
    api_version(request.uri(), Plane::Resources)?;
    let sub = grant.sub()?;
    let filter = match query_param(request.uri(), "$filter") {
        Some(text) => Filter::parse(&text)?,
        None => Filter::default(),
    };
    let top = query_param(request.uri(), "$top")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let caller = grant.caller.principal.object_id;
    let mut value = Vec::new();
    for (resource_type, read) in TYPES {
        if !filter.keeps_type(resource_type) {
            continue;
        }
        for item in items_of_type(state, sub.id, group, resource_type).await? {
            let id = item["id"].as_str().unwrap_or_default();
            if filter.keeps(&item) && state.identity().check_access(caller, id, read).await? {
                value.push(generic(&item));
            }
        }
    }
    value.truncate(top);
    Ok(json(StatusCode::OK, json!({ "value": value })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f =
            Filter::parse("resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'kv1'").unwrap();
        assert_eq!(
            f.resource_type.as_deref(),
            Some("Microsoft.KeyVault/vaults")
        );
        assert_eq!(f.name.as_deref(), Some("kv1"));
        let f = Filter::parse("ResourceType EQ 'x'  AND  resourceGroup eq 'rg'").unwrap();
        assert_eq!(f.resource_group.as_deref(), Some("rg"));
        assert_eq!(Filter::parse("").unwrap(), Filter::default());
        for bad in [
            "name ne 'x'",
            "name eq x",
            "name eq 'x' or name eq 'y'",
            "location eq 'westeurope'",
            "name eq 'x' and",
            "name eq 'x",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
        let item =
            json!({"id": "/subscriptions/s/resourceGroups/RG/providers/a/b/KV1", "name": "KV1"});
        assert!(
            Filter::parse("name eq 'kv1' and resourceGroup eq 'rg'")
                .unwrap()
                .keeps(&item)
        );
        assert!(!Filter::parse("name eq 'kv2'").unwrap().keeps(&item));
    }
}
