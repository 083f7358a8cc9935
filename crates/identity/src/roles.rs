//! Built-in role definitions (Azure's names and GUIDs) and the access check.
//!
//! Matching follows Azure RBAC: an assignment applies at its scope and every scope below it
//! (segment-wise, case-insensitive); a role allows an action if one of its `actions` patterns
//! matches and none of its `not_actions` does (`*` matches any run of characters, case
//! ignored). Data-plane actions (Key Vault key operations) are checked against `data_actions`
//! only: management roles such as Owner do not grant key use, exactly as in Azure.

use uuid::Uuid;

/// A role definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleDefinition {
    /// Role definition GUID.
    pub id: Uuid,
    /// Role name.
    pub name: &'static str,
    /// What the role is for.
    pub description: &'static str,
    /// Allowed management actions.
    pub actions: &'static [&'static str],
    /// Excluded management actions.
    pub not_actions: &'static [&'static str],
    /// Allowed data actions.
    pub data_actions: &'static [&'static str],
    /// Excluded data actions.
    pub not_data_actions: &'static [&'static str],
}

const KV_KEYS: &str = "Microsoft.KeyVault/vaults/keys";

/// Azure's built-in roles that keyhold implements.
pub const BUILTIN_ROLES: &[RoleDefinition] = &[
    RoleDefinition {
        id: Uuid::from_u128(0x8e3af657_a8ff_443c_a75c_2fe8c4bcb635),
        name: "Owner",
        description: "Grants full access to manage all resources, including assigning roles.",
        actions: &["*"],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0xb24988ac_6180_42a0_ab88_20f7382dd24c),
        name: "Contributor",
        description: "Grants full access to manage all resources, but not to assign roles.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Keyhold.Directory/*",
        ],
        data_actions: &[],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0xacdd72a7_3385_48ef_bd42_f606fba81ae7),
        name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: &[],
        data_actions: &[],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0x00482a5a_887f_4fb3_b363_3b7fe8e74483),
        name: "Key Vault Administrator",
        description: "Perform all data plane operations on a key vault and all objects in it.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.KeyVault/checkNameAvailability/read",
            "Microsoft.KeyVault/deletedVaults/read",
            "Microsoft.KeyVault/locations/*/read",
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/operations/read",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/*"],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0x14b46e9e_c2b7_41b4_b07b_48a6ebf60603),
        name: "Key Vault Crypto Officer",
        description: "Perform any action on the keys of a key vault, except manage permissions.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.KeyVault/checkNameAvailability/read",
            "Microsoft.KeyVault/deletedVaults/read",
            "Microsoft.KeyVault/locations/*/read",
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/operations/read",
        ],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/*",
            "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
        ],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0x12338af0_0e69_4776_bea7_57ae8d297424),
        name: "Key Vault Crypto User",
        description: "Perform cryptographic operations using keys.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/update/action",
            "Microsoft.KeyVault/vaults/keys/backup/action",
            "Microsoft.KeyVault/vaults/keys/encrypt/action",
            "Microsoft.KeyVault/vaults/keys/decrypt/action",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
            "Microsoft.KeyVault/vaults/keys/sign/action",
            "Microsoft.KeyVault/vaults/keys/verify/action",
        ],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0xe147488a_f6f5_4113_8e2d_b22465e65bf6),
        name: "Key Vault Crypto Service Encryption User",
        description: "Read metadata of keys and perform wrap/unwrap operations.",
        actions: &[],
        not_actions: &[],
        data_actions: &[
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0xa001fd3d_188f_4b5d_821b_7da978bf7442),
        name: "Cognitive Services OpenAI Contributor",
        description: "Full access to Azure OpenAI data: files, fine-tuning, deployments' inference.",
        actions: &[
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.Authorization/roleAssignments/read",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.CognitiveServices/accounts/OpenAI/*"],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0x5e0bd9bd_7b93_4f28_af87_19fc36ad61bd),
        name: "Cognitive Services OpenAI User",
        description: "Read Azure OpenAI data and call inference.",
        actions: &["Microsoft.CognitiveServices/*/read"],
        not_actions: &[],
        data_actions: &[
            "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/*/action",
        ],
        not_data_actions: &[],
    },
    RoleDefinition {
        id: Uuid::from_u128(0x21090545_7ca7_4776_b22c_e363652d74d2),
        name: "Key Vault Reader",
        description: "Read metadata of key vaults and their keys.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.KeyVault/vaults/*/read",
        ],
        not_actions: &[],
        data_actions: &["Microsoft.KeyVault/vaults/*/read"],
        not_data_actions: &[],
    },
];

/// Finds a built-in role by GUID.
pub fn role_by_id(id: Uuid) -> Option<&'static RoleDefinition> {
    BUILTIN_ROLES.iter().find(|r| r.id == id)
}

/// Finds a built-in role by name (case-insensitive).
pub fn role_by_name(name: &str) -> Option<&'static RoleDefinition> {
    BUILTIN_ROLES
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
}

/// Parses a `roleDefinitionId` (a bare GUID or an ARM id ending in one).
pub fn parse_role_definition_id(value: &str) -> Option<&'static RoleDefinition> {
    let last = value.trim_end_matches('/').rsplit('/').next()?;
    Uuid::parse_str(last).ok().and_then(role_by_id)
}

/// Case-insensitive glob: `*` matches any run of characters.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match p.split_first() {
            None => a.is_empty(),
            Some((b'*', rest)) => (0..=a.len()).any(|i| go(rest, &a[i..])),
            Some((c, rest)) => a
                .split_first()
                .is_some_and(|(d, tail)| c.eq_ignore_ascii_case(d) && go(rest, tail)),
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

impl RoleDefinition {
    /// Whether the role allows a management action.
    pub fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|p| action_matches(p, action))
            && !self.not_actions.iter().any(|p| action_matches(p, action))
    }

    /// Whether the role allows a data action.
    pub fn allows_data(&self, action: &str) -> bool {
        self.data_actions.iter().any(|p| action_matches(p, action))
            && !self
                .not_data_actions
                .iter()
                .any(|p| action_matches(p, action))
    }

    /// The data action name of a Key Vault key operation (`wrapKey` → `…/keys/wrap/action`).
    pub fn key_data_action(operation: &str) -> String {
        match operation {
            "get" | "list" => format!("{KV_KEYS}/read"),
            "wrapKey" => format!("{KV_KEYS}/wrap/action"),
            "unwrapKey" => format!("{KV_KEYS}/unwrap/action"),
            other => format!("{KV_KEYS}/{other}/action"),
        }
    }
}

/// Whether an assignment at `assignment_scope` applies to `target_scope`: equal, or a
/// segment-wise prefix (case-insensitive). `/` covers everything.
pub fn scope_covers(assignment_scope: &str, target_scope: &str) -> bool {
    let a: Vec<&str> = assignment_scope
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let t: Vec<&str> = target_scope.split('/').filter(|s| !s.is_empty()).collect();
    a.len() <= t.len() && a.iter().zip(&t).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_table() {
        let rows = [
            ("*", "Microsoft.Anything/x/write", true),
            (
                "*/read",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                true,
            ),
            (
                "*/read",
                "Microsoft.Resources/subscriptions/resourceGroups/write",
                false,
            ),
            (
                "Microsoft.Authorization/*/Write",
                "microsoft.authorization/roleAssignments/write",
                true,
            ),
            (
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/keys/wrap/action",
                true,
            ),
            (
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/secrets/read",
                false,
            ),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ];
        for (pattern, action, expected) in rows {
            assert_eq!(
                action_matches(pattern, action),
                expected,
                "{pattern} vs {action}"
            );
        }
    }

    #[test]
    fn role_table() {
        let owner = role_by_name("owner").unwrap();
        let contributor = role_by_name("Contributor").unwrap();
        let reader = role_by_name("Reader").unwrap();
        let crypto_user = role_by_name("Key Vault Crypto Service Encryption User").unwrap();
        let rows: &[(&RoleDefinition, &str, bool, bool)] = &[
            (
                owner,
                "Microsoft.Authorization/roleAssignments/write",
                false,
                true,
            ),
            (
                contributor,
                "Microsoft.Authorization/roleAssignments/write",
                false,
                false,
            ),
            (contributor, "Microsoft.KeyVault/vaults/write", false, true),
            (
                contributor,
                "Keyhold.Directory/servicePrincipals/write",
                false,
                false,
            ),
            (reader, "Microsoft.KeyVault/vaults/read", false, true),
            (reader, "Microsoft.KeyVault/vaults/write", false, false),
            (
                owner,
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
                true,
                false,
            ),
            (
                crypto_user,
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
                true,
                true,
            ),
            (
                crypto_user,
                "Microsoft.KeyVault/vaults/keys/sign/action",
                true,
                false,
            ),
        ];
        for (role, action, data, expected) in rows {
            let got = if *data {
                role.allows_data(action)
            } else {
                role.allows(action)
            };
            assert_eq!(got, *expected, "{} {action}", role.name);
        }
        assert_eq!(
            RoleDefinition::key_data_action("wrapKey"),
            "Microsoft.KeyVault/vaults/keys/wrap/action"
        );
    }

    #[test]
    fn scopes_and_ids() {
        assert!(scope_covers("/", "/subscriptions/s/resourceGroups/rg"));
        assert!(scope_covers(
            "/subscriptions/S",
            "/subscriptions/s/resourceGroups/rg"
        ));
        assert!(scope_covers(
            "/subscriptions/s/resourcegroups/RG",
            "/subscriptions/s/resourceGroups/rg/providers/x/y/z"
        ));
        assert!(!scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s/resourceGroups/rg2"
        ));
        assert!(!scope_covers(
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s"
        ));
        let id = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
        assert_eq!(parse_role_definition_id(id).unwrap().name, "Reader");
        assert!(parse_role_definition_id("nonsense").is_none());
    }
}
