//! ARM resource ids: `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}[/{type}/{name}…]`,
//! also at subscription and tenant scope, and extension resources
//! (`{scope id}/providers/{ns}/{type}/{name}`).

use std::fmt;

/// A parsed ARM resource id. Comparisons between ids are case-insensitive, as in ARM
/// ([`ResourceId::key`]); the spelling is kept for display.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResourceId {
    id: String,
    subscription: Option<String>,
    resource_group: Option<String>,
    /// `Namespace/type1/type2` of the last provider segment (or `Microsoft.Resources/…` for
    /// groups and subscriptions).
    resource_type: String,
    /// `name1/name2`.
    name: String,
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceId({})", self.id)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

/// Why a string or a type/name pair is not a valid id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidResourceId(pub String);

impl ResourceId {
    /// Parses a full id.
    pub fn parse(id: &str) -> Result<Self, InvalidResourceId> {
        let bad = || InvalidResourceId(format!("'{id}' is not a valid resource id"));
        let rest = id.strip_prefix('/').ok_or_else(bad)?;
        let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(bad());
        }
        let mut subscription = None;
        let mut resource_group = None;
        let mut resource_type = String::new();
        let mut name = String::new();
        let mut i = 0;
        while i < segments.len() {
            let keyword = segments[i].to_ascii_lowercase();
            match keyword.as_str() {
                "subscriptions" if i == 0 => {
                    subscription = Some(segments.get(1).ok_or_else(bad)?.to_string());
                    resource_type = "Microsoft.Resources/subscriptions".into();
                    name = segments[1].to_string();
                    i += 2;
                }
                "resourcegroups" if i == 2 && subscription.is_some() => {
                    resource_group = Some(segments.get(3).ok_or_else(bad)?.to_string());
                    resource_type = "Microsoft.Resources/resourceGroups".into();
                    name = segments[3].to_string();
                    i += 2;
                }
                "providers" => {
                    let namespace = segments.get(i + 1).ok_or_else(bad)?;
                    let mut types = vec![namespace.to_string()];
                    let mut names = Vec::new();
                    i += 2;
                    while i + 1 < segments.len() && !segments[i].eq_ignore_ascii_case("providers") {
                        types.push(segments[i].to_string());
                        names.push(segments[i + 1].to_string());
                        i += 2;
                    }
                    if names.is_empty() {
                        return Err(bad());
                    }
                    resource_type = types.join("/");
                    name = names.join("/");
                }
                _ => return Err(bad()),
            }
        }
        if resource_type.is_empty() {
            return Err(bad());
        }
        Ok(ResourceId {
            id: format!("/{}", segments.join("/")),
            subscription,
            resource_group,
            resource_type,
            name,
        })
    }

    /// The id of a resource group.
    pub fn resource_group_id(subscription: &str, group: &str) -> Self {
        ResourceId {
            id: format!("/subscriptions/{subscription}/resourceGroups/{group}"),
            subscription: Some(subscription.into()),
            resource_group: Some(group.into()),
            resource_type: "Microsoft.Resources/resourceGroups".into(),
            name: group.into(),
        }
    }

    /// `{scope}/providers/{type segments interleaved with names}` where `scope` is `""`
    /// (tenant), a subscription id, a group id or any resource id.
    pub fn under(
        scope: &str,
        resource_type: &str,
        names: &[&str],
    ) -> Result<Self, InvalidResourceId> {
        let types: Vec<&str> = resource_type.split('/').collect();
        if types.len() < 2 || types.iter().any(|t| t.trim().is_empty()) {
            return Err(InvalidResourceId(format!(
                "'{resource_type}' is not a valid resource type"
            )));
        }
        if names.len() != types.len() - 1 {
            return Err(InvalidResourceId(format!(
                "the type '{resource_type}' requires '{}' resource name argument(s)",
                types.len() - 1
            )));
        }
        if names.iter().any(|n| n.is_empty()) {
            return Err(InvalidResourceId(format!(
                "a resource name of type '{resource_type}' is empty"
            )));
        }
        // Resource groups are not under `providers/` in their own ids.
        if resource_type.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
            && let [group] = names
            && let Ok(parent) = ResourceId::parse(scope)
            && parent.resource_type() == "Microsoft.Resources/subscriptions"
            && let Some(subscription) = parent.subscription_id()
        {
            return Ok(ResourceId::resource_group_id(subscription, group));
        }
        let mut id = format!("{}/providers/{}", scope.trim_end_matches('/'), types[0]);
        for (t, n) in types[1..].iter().zip(names) {
            id.push('/');
            id.push_str(t);
            id.push('/');
            id.push_str(n);
        }
        ResourceId::parse(&id)
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// Lower-cased id: what ARM compares.
    pub fn key(&self) -> String {
        self.id.to_ascii_lowercase()
    }

    /// `Namespace/type[/child…]`.
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// `name[/child…]`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last name segment.
    pub fn last_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// The subscription in the id, if any.
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription.as_deref()
    }

    /// The resource group in the id, if any.
    pub fn resource_group(&self) -> Option<&str> {
        self.resource_group.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_group_level_child_resources() {
        let id = ResourceId::parse(
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/projects/p",
        )
        .unwrap();
        assert_eq!(
            id.resource_type(),
            "Microsoft.CognitiveServices/accounts/projects"
        );
        assert_eq!(id.name(), "a/p");
        assert_eq!(id.last_name(), "p");
        assert_eq!(id.subscription_id(), Some("s1"));
        assert_eq!(id.resource_group(), Some("rg"));
    }

    #[test]
    fn parses_extension_and_tenant_ids() {
        let ext = ResourceId::parse("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/st/providers/Microsoft.Authorization/roleAssignments/r1").unwrap();
        assert_eq!(
            ext.resource_type(),
            "Microsoft.Authorization/roleAssignments"
        );
        assert_eq!(ext.name(), "r1");
        let tenant =
            ResourceId::parse("/providers/Microsoft.Management/managementGroups/mg").unwrap();
        assert_eq!(tenant.subscription_id(), None);
        let group = ResourceId::parse("/subscriptions/s/resourceGroups/g").unwrap();
        assert_eq!(group.resource_type(), "Microsoft.Resources/resourceGroups");
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "subscriptions/s",
            "/subscriptions",
            "/subscriptions/s/x/y",
            "/providers/Ns",
            "//x",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn under_checks_name_count() {
        let id = ResourceId::under(
            "/subscriptions/s/resourceGroups/g",
            "Microsoft.KeyVault/vaults/accessPolicies",
            &["kv", "add"],
        )
        .unwrap();
        assert_eq!(
            id.as_str(),
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/kv/accessPolicies/add"
        );
        assert!(ResourceId::under("", "Microsoft.KeyVault/vaults", &["a", "b"]).is_err());
        assert!(ResourceId::under("", "vaults", &[]).is_err());
    }
}
