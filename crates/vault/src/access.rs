//! Who may do what with keys: access-policy permissions (the `permissions.keys` names) and the
//! RBAC data actions they correspond to, and the firewall.

use std::net::IpAddr;

use uuid::Uuid;

use crate::model::Vault;

/// A key permission, as access policies name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPermission {
    /// get
    Get,
    /// list
    List,
    /// update
    Update,
    /// create
    Create,
    /// import
    Import,
    /// delete
    Delete,
    /// recover
    Recover,
    /// backup
    Backup,
    /// restore
    Restore,
    /// encrypt
    Encrypt,
    /// decrypt
    Decrypt,
    /// wrapKey
    WrapKey,
    /// unwrapKey
    UnwrapKey,
    /// sign
    Sign,
    /// verify
    Verify,
    /// purge
    Purge,
    /// rotate
    Rotate,
    /// getrotationpolicy
    GetRotationPolicy,
    /// setrotationpolicy
    SetRotationPolicy,
}

/// Every key permission.
pub const ALL_PERMISSIONS: [KeyPermission; 19] = [
    KeyPermission::Get,
    KeyPermission::List,
    KeyPermission::Update,
    KeyPermission::Create,
    KeyPermission::Import,
    KeyPermission::Delete,
    KeyPermission::Recover,
    KeyPermission::Backup,
    KeyPermission::Restore,
    KeyPermission::Encrypt,
    KeyPermission::Decrypt,
    KeyPermission::WrapKey,
    KeyPermission::UnwrapKey,
    KeyPermission::Sign,
    KeyPermission::Verify,
    KeyPermission::Purge,
    KeyPermission::Rotate,
    KeyPermission::GetRotationPolicy,
    KeyPermission::SetRotationPolicy,
];

impl KeyPermission {
    /// The access-policy name.
    pub fn name(self) -> &'static str {
        match self {
            KeyPermission::Get => "get",
            KeyPermission::List => "list",
            KeyPermission::Update => "update",
            KeyPermission::Create => "create",
            KeyPermission::Import => "import",
            KeyPermission::Delete => "delete",
            KeyPermission::Recover => "recover",
            KeyPermission::Backup => "backup",
            KeyPermission::Restore => "restore",
            KeyPermission::Encrypt => "encrypt",
            KeyPermission::Decrypt => "decrypt",
            KeyPermission::WrapKey => "wrapKey",
            KeyPermission::UnwrapKey => "unwrapKey",
            KeyPermission::Sign => "sign",
            KeyPermission::Verify => "verify",
            KeyPermission::Purge => "purge",
            KeyPermission::Rotate => "rotate",
            KeyPermission::GetRotationPolicy => "getrotationpolicy",
            KeyPermission::SetRotationPolicy => "setrotationpolicy",
        }
    }

    /// Parses an access-policy permission name (any case).
    pub fn from_name(name: &str) -> Option<Self> {
        ALL_PERMISSIONS
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// The RBAC data action (see the Key Vault built-in roles).
    pub fn data_action(self) -> &'static str {
        match self {
            KeyPermission::Get | KeyPermission::List => "Microsoft.KeyVault/vaults/keys/read",
            KeyPermission::Update => "Microsoft.KeyVault/vaults/keys/update/action",
            KeyPermission::Create => "Microsoft.KeyVault/vaults/keys/create/action",
            KeyPermission::Import => "Microsoft.KeyVault/vaults/keys/import/action",
            KeyPermission::Delete => "Microsoft.KeyVault/vaults/keys/delete",
            KeyPermission::Recover => "Microsoft.KeyVault/vaults/keys/recover/action",
            KeyPermission::Backup => "Microsoft.KeyVault/vaults/keys/backup/action",
            KeyPermission::Restore => "Microsoft.KeyVault/vaults/keys/restore/action",
            KeyPermission::Encrypt => "Microsoft.KeyVault/vaults/keys/encrypt/action",
            KeyPermission::Decrypt => "Microsoft.KeyVault/vaults/keys/decrypt/action",
            KeyPermission::WrapKey => "Microsoft.KeyVault/vaults/keys/wrap/action",
            KeyPermission::UnwrapKey => "Microsoft.KeyVault/vaults/keys/unwrap/action",
            KeyPermission::Sign => "Microsoft.KeyVault/vaults/keys/sign/action",
            KeyPermission::Verify => "Microsoft.KeyVault/vaults/keys/verify/action",
            KeyPermission::Purge => "Microsoft.KeyVault/vaults/keys/purge/action",
            KeyPermission::Rotate => "Microsoft.KeyVault/vaults/keys/rotate/action",
            KeyPermission::GetRotationPolicy => {
                "Microsoft.KeyVault/vaults/keyrotationpolicies/read"
            }
            KeyPermission::SetRotationPolicy => {
                "Microsoft.KeyVault/vaults/keyrotationpolicies/write"
            }
        }
    }
}

/// The permission a key operation name (`wrapkey`, `unwrapKey`, …) needs.
pub fn permission_for(operation: &str) -> Option<KeyPermission> {
    Some(match operation.to_ascii_lowercase().as_str() {
        "encrypt" => KeyPermission::Encrypt,
        "decrypt" => KeyPermission::Decrypt,
        "wrapkey" => KeyPermission::WrapKey,
        "unwrapkey" => KeyPermission::UnwrapKey,
        "sign" => KeyPermission::Sign,
        "verify" => KeyPermission::Verify,
        _ => return None,
    })
}

/// Whether an access policy grants `permission` to (`tenant`, `object_id`).
pub fn policy_allows(
    vault: &Vault,
    tenant: Uuid,
    object_id: Uuid,
    permission: KeyPermission,
) -> bool {
    let oid = object_id.to_string();
    vault.access_policies.iter().any(|p| {
        p.tenant_id == tenant
            && p.object_id.eq_ignore_ascii_case(&oid)
            && p.permissions
                .keys
                .iter()
                .any(|k| k.eq_ignore_ascii_case(permission.name()) || k.eq_ignore_ascii_case("all"))
    })
}

fn in_rule(ip: IpAddr, rule: &str) -> bool {
    let (addr, prefix) = match rule.split_once('/') {
        Some((a, p)) => (a, p.parse::<u32>().ok()),
        None => (rule, None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = prefix.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = prefix.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The firewall: with `defaultAction: Deny`, only listed addresses get through, plus trusted
/// services (keyhold's own managed identities) when `bypass` is `AzureServices`.
pub fn firewall_allows(vault: &Vault, client: IpAddr, trusted_service: bool) -> bool {
    let acls = &vault.network_acls;
    if acls.default_action.eq_ignore_ascii_case("Allow") {
        return true;
    }
    if trusted_service && acls.bypass.eq_ignore_ascii_case("AzureServices") {
        return true;
    }
    acls.ip_rules.iter().any(|r| in_rule(client, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_table() {
        let rows = [
            ("10.0.0.5", "10.0.0.0/24", true),
            ("10.0.1.5", "10.0.0.0/24", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.2", "127.0.0.1", false),
            ("::1", "::1/128", true),
            ("::1", "10.0.0.0/8", false),
            ("1.2.3.4", "0.0.0.0/0", true),
        ];
        for (ip, rule, expected) in rows {
            assert_eq!(
                in_rule(ip.parse().unwrap(), rule),
                expected,
                "{ip} in {rule}"
            );
        }
    }

    #[test]
    fn operation_names() {
        assert_eq!(permission_for("wrapKey"), Some(KeyPermission::WrapKey));
        assert_eq!(permission_for("UNWRAPKEY"), Some(KeyPermission::UnwrapKey));
        assert_eq!(permission_for("export"), None);
    }
}
