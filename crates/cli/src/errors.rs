//! Error messages with a hint at the fix: a server that does not answer (start it), a token
//! refused (log in again), a permission missing (the permission, from the server's own
//! message, and the command that grants it). Messages carry what the server said and the
//! URL, never a secret: the client secret and tokens are not part of any error.

use keyhold_client::ClientError;

/// Key Vault data actions that "Key Vault Crypto User" grants (the rest need "Key Vault
/// Crypto Officer").
const CRYPTO_USER_ACTIONS: &[&str] = &[
    "keys/read",
    "keys/update/action",
    "keys/backup/action",
    "keys/encrypt/action",
    "keys/decrypt/action",
    "keys/wrap/action",
    "keys/unwrap/action",
    "keys/sign/action",
    "keys/verify/action",
];

const GROUP_WRITE: &str = "Microsoft.Resources/subscriptions/resourceGroups/write";

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// `https://host:port` of a URL (to name a server that did not answer in time).
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..]
        .find('/')
        .map_or(url, |i| &url[..after_scheme + i])
}

/// The hint for a request that got no answer.
fn transport_hint(url: &str, reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") || lower.contains("tls") {
        return "hint: the server's TLS certificate is not trusted; log in again with \
                `keyhold login --bootstrap <data-dir>/bootstrap.json` (it names the CA) or \
                `--ca <data-dir>/tls/ca.pem`"
            .to_owned();
    }
    if lower.contains("timed out") {
        return format!(
            "hint: {} did not answer in time; is it the keyhold server you meant (`keyhold \
             login` saves the endpoint)?",
            origin(url)
        );
    }
    "hint: is the server running? Start it with `keyhold serve` (or log in to the right \
     server with `keyhold login`)"
        .to_owned()
}

/// The role to suggest for a management action.
fn role_for(action: &str) -> &'static str {
    let lower = action.to_ascii_lowercase();
    if lower.starts_with("microsoft.authorization/") {
        "Owner"
    } else if lower.ends_with("/read") {
        "Reader"
    } else {
        "Contributor"
    }
}

/// The hint for a 403, from the server's message.
fn forbidden_hint(message: &str, app_id: Option<&str>) -> Option<String> {
    let me = app_id.unwrap_or("<appId>");
    // ARM: "… does not have authorization to perform action 'A' over scope 'S' …".
    if let (Some(action), Some(scope)) = (
        between(message, "perform action '", "'"),
        between(message, "over scope '", "'"),
    ) {
        if !scope.to_ascii_lowercase().starts_with("/subscriptions/") {
            return Some(format!(
                "hint: the credentials lack permission '{action}' at '{scope}', a directory \
                 scope: ask the tenant's administrator (Owner there) to do this, or log in as \
                 that administrator"
            ));
        }
        // Creating a group is granted on the subscription (the group does not exist yet).
        let grant_at = if action.eq_ignore_ascii_case(GROUP_WRITE) {
            scope.split('/').take(3).collect::<Vec<_>>().join("/")
        } else {
            scope.to_owned()
        };
        return Some(format!(
            "hint: the credentials lack permission '{action}' at '{scope}'; someone with Owner \
             there can grant a role that includes it:\n  keyhold role assign --assignee {me} \
             --role {} --scope {grant_at}",
            role_for(action)
        ));
    }
    // Vault with RBAC: "… Action: 'A' … Vault: NAME;location=…".
    if let Some(action) = between(message, "Action: '", "'") {
        let role = if CRYPTO_USER_ACTIONS
            .iter()
            .any(|a| action.to_ascii_lowercase().ends_with(a))
        {
            "Key Vault Crypto User"
        } else {
            "Key Vault Crypto Officer"
        };
        let target = between(message, "Vault: ", ";").map_or_else(
            || "--scope <vault id>".to_owned(),
            |v| format!("--vault {v}"),
        );
        return Some(format!(
            "hint: the vault uses role assignments and the credentials lack '{action}'; grant \
             a role that includes it:\n  keyhold role assign --assignee {me} --role \"{role}\" \
             {target}"
        ));
    }
    // Vault with access policies: "… 'appid=A;oid=O' does not have keys P permission on key
    // vault 'V;location=…'".
    if let (Some(permission), Some(vault)) = (
        between(message, "does not have keys ", " permission"),
        between(message, "on key vault '", ";"),
    ) {
        let oid = between(message, "oid=", "'").unwrap_or("<objectId>");
        return Some(format!(
            "hint: the vault's access policy does not give this caller '{permission}'; add it:\n  \
             keyhold vault set-policy -n {vault} --object-id {oid} --key-permissions {permission}"
        ));
    }
    if message.contains("Client address is not authorized") {
        return Some(
            "hint: the vault's firewall refuses this address; allow it with \
             `keyhold vault create -n <vault> -g <group> --ip <address>` or set \
             `--default-action Allow`"
                .to_owned(),
        );
    }
    None
}

/// A client error as the CLI prints it: the error, then (on its own line) a hint.
/// `app_id` is the logged-in client id, used in suggested commands.
pub fn describe(error: &ClientError, app_id: Option<&str>) -> String {
    let text = error.to_string().replace("\r\n", "\n  ");
    let hint = match error {
        ClientError::Transport { url, source } => Some(transport_hint(
            url,
            &keyhold_client::transport_reason(source),
        )),
        ClientError::Api { status: 401, .. } => Some(
            "hint: the saved credentials were refused; run `keyhold login` again (e.g. \
             `keyhold login --bootstrap keyhold-data/bootstrap.json`)"
                .to_owned(),
        ),
        ClientError::Api {
            status: 403,
            message,
            ..
        } => forbidden_hint(message, app_id),
        _ => None,
    };
    match hint {
        Some(hint) => format!("{text}\n{hint}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str, message: &str) -> ClientError {
        ClientError::Api {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    #[test]
    fn unauthorized_suggests_login() {
        let text = describe(&api(401, "invalid_client", "bad secret"), None);
        assert!(
            text.starts_with("401 invalid_client: bad secret\n"),
            "{text}"
        );
        assert!(text.contains("keyhold login"), "{text}");
    }

    #[test]
    fn forbidden_names_the_permission_and_the_grant() {
        let arm = "The client 'app1' with object id 'oid1' does not have authorization to perform \
                   action 'Microsoft.KeyVault/vaults/read' over scope '/subscriptions/s1' or the \
                   scope is invalid.";
        let text = describe(&api(403, "AuthorizationFailed", arm), Some("app1"));
        assert!(
            text.contains("'Microsoft.KeyVault/vaults/read' at '/subscriptions/s1'"),
            "{text}"
        );
        assert!(
            text.contains(
                "keyhold role assign --assignee app1 --role Reader --scope /subscriptions/s1"
            ),
            "{text}"
        );
        let group = arm
            .replace("Microsoft.KeyVault/vaults/read", GROUP_WRITE)
            .replace(
                "'/subscriptions/s1'",
                "'/subscriptions/s1/resourceGroups/rg2'",
            );
        let text = describe(&api(403, "AuthorizationFailed", &group), None);
        assert!(
            text.contains("--role Contributor --scope /subscriptions/s1\n")
                || text.ends_with("--scope /subscriptions/s1"),
            "{text}"
        );
        let write = arm.replace("vaults/read", "vaults/write");
        assert!(
            describe(&api(403, "AuthorizationFailed", &write), None).contains("--role Contributor")
        );
        let directory = arm.replace("'/subscriptions/s1'", "'/'");
        let text = describe(&api(403, "AuthorizationFailed", &directory), None);
        assert!(text.contains("directory scope"), "{text}");
        assert!(!text.contains("role assign"), "{text}");
    }

    #[test]
    fn forbidden_by_vault_rbac_and_policies() {
        let rbac = "Caller is not authorized to perform action on resource.\r\nCaller: appid=a;oid=o\r\nAction: 'Microsoft.KeyVault/vaults/keys/unwrap/action'\r\nResource: '/subscriptions/s/x'\r\nAssignment: (not found)\r\nVault: kv1;location=westeurope";
        let text = describe(&api(403, "Forbidden", rbac), Some("a"));
        assert!(
            text.contains("--role \"Key Vault Crypto User\" --vault kv1"),
            "{text}"
        );
        assert!(!text.contains('\r'), "{text}");
        let create = rbac.replace("unwrap/action", "create/action");
        assert!(describe(&api(403, "Forbidden", &create), None).contains("Crypto Officer"));
        let policy = "The user, group or application 'appid=a;oid=o-1' does not have keys wrapkey permission on key vault 'kv1;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287";
        let text = describe(&api(403, "Forbidden", policy), None);
        assert!(
            text.contains(
                "keyhold vault set-policy -n kv1 --object-id o-1 --key-permissions wrapkey"
            ),
            "{text}"
        );
        let other = describe(
            &api(403, "CustomerManagedKeyAccessDenied", "key revoked"),
            None,
        );
        assert_eq!(other, "403 CustomerManagedKeyAccessDenied: key revoked");
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://localhost:8443/subscriptions/x?y=1"),
            "https://localhost:8443"
        );
        assert_eq!(origin("https://localhost:8443"), "https://localhost:8443");
        assert!(
            transport_hint("https://h:1/x", "tcp connect error: Connection refused")
                .contains("keyhold serve")
        );
        assert!(
            transport_hint("https://h:1/x", "invalid peer certificate: UnknownIssuer")
                .contains("--ca")
        );
    }
}
